"""Home-feed query latency and the rendered home page's throughput, on SQLite, PostgreSQL and
MariaDB (or MySQL).

    .venv/bin/python bench/feeds.py [--engines sqlite,postgresql,mariadb] [--users 10000]
        [--posts 300000] [--follows 200] [--runs 200] [--duration 10] [--connections 64]
        [--cache-dir var/bench] [--rebuild] [--skip-wrk]

1. Builds the data once per engine with `tornagram seed` (Zipf follower counts, ~200 follows
   each, posts over a year, likes): a SQLite file in the cache dir, and the PostgreSQL database
   tornagram_bench on 127.0.0.1 (user postgres, created if missing), and the MariaDB database
   tornagram_bench on 127.0.0.1:3306 (user root, created if missing; TORNAGRAM_BENCH_MARIADB
   names another server). An engine that cannot be reached is skipped with a note. A built
   data set is kept and reused; --rebuild starts over.
2. Times the home-feed query as the site runs it (the ids of a page), and the whole page load
   (ids, posts, authors, photos, renditions), for a typical follower (the median number of
   accounts followed) and the heaviest one, on page 1 and on page 50 (reached by walking the
   keyset, as a reader scrolling would). Prints p50/p99 of --runs runs. Targets: page 50 costs
   what page 1 costs; p99 at most 30 ms.
3. Prints each feed query's plan on the big data (no planner settings touched), flagging any
   full scan of posts.
4. Starts a real server (`python -m tornagram serve` on a free port, this database) and loads
   it with wrk from a second process: the rendered home page of the typical user (signed in
   through the login form; the session cookie is passed with -H) and /healthz as the
   same-run ceiling. Prints both requests/s and the ratio (target: at least 40%). Then the
   same again with TORNAGRAM_CACHES=0, every answer read from the database, to show what the
   caches (tornagram/cache/) buy: the first figure is a member's feed served warm, the second
   the cost of a page whose every part changed since it was last drawn.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text

from tornagram.accounts.models import User
from tornagram.db import migrate
from tornagram.db.engine import Database
from tornagram.feeds import queries as q
from tornagram.feeds.seed import DEFAULT_PASSWORD, Progress, SeedPlan, seed
from tornagram.photos.models import Post, PostTag
from tornagram.storage.local import LocalStorage

ROOT = Path(__file__).resolve().parent.parent
PG_HOST_DSN = "postgresql://postgres@127.0.0.1:5432"
PG_DATABASE = "tornagram_bench"
MARIADB_URL = os.environ.get(
    "TORNAGRAM_BENCH_MARIADB", "mysql+asyncmy://root@127.0.0.1:3306/tornagram_bench"
)
TARGET_P99_MS = 30.0
TARGET_RATIO = 0.40
DEEP_PAGE = 50


# -- building -------------------------------------------------------------------------------


def engine_url(engine: str, data_dir: Path) -> str:
    if engine == "sqlite":
        return f"sqlite+aiosqlite:///{data_dir / 'tornagram.db'}"
    if engine == "mariadb":
        return MARIADB_URL
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DATABASE}"


async def mariadb_reset(create_only: bool) -> None:
    import asyncmy
    from sqlalchemy.engine import make_url

    url = make_url(MARIADB_URL)
    admin = await asyncmy.connect(
        host=url.host, port=url.port or 3306, user=url.username or "root",
        password=url.password or "", connect_timeout=3,
    )  # fmt: skip
    try:
        async with admin.cursor() as cursor:
            if not create_only:
                await cursor.execute(f"DROP DATABASE IF EXISTS `{url.database}`")
            await cursor.execute(
                f"CREATE DATABASE IF NOT EXISTS `{url.database}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            )
    finally:
        admin.close()


async def pg_reset(create_only: bool) -> None:
    import asyncpg

    admin = await asyncpg.connect(f"{PG_HOST_DSN}/postgres")
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", PG_DATABASE)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    finally:
        await admin.close()
    if create_only:
        return
    conn = await asyncpg.connect(f"{PG_HOST_DSN}/{PG_DATABASE}")
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


async def counts(url: str) -> tuple[int, int]:
    db = Database(url)
    try:
        async with db.read() as s:
            users = await s.scalar(select(func.count()).select_from(User))
            posts = await s.scalar(select(func.count()).select_from(Post))
            return users, posts
    except Exception:
        return -1, -1
    finally:
        await db.dispose()


async def build(engine: str, data_dir: Path, plan: SeedPlan, rebuild: bool) -> str:
    url = engine_url(engine, data_dir)
    marker = data_dir / "built.json"
    if engine == "postgresql":
        await pg_reset(create_only=True)
    if engine == "mariadb":
        await mariadb_reset(create_only=True)
    if not rebuild and marker.exists() and await counts(url) == (plan.users, plan.posts):
        print(f"[{engine}] reusing the data set in {data_dir} ({json.loads(marker.read_text())})")
        return url
    print(
        f"[{engine}] building {plan.users:,} users, {plan.posts:,} posts, ~{plan.follows} follows"
    )
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    if engine == "postgresql":
        await pg_reset(create_only=False)
    if engine == "mariadb":
        await mariadb_reset(create_only=False)
    await asyncio.to_thread(migrate.upgrade, url)
    db = Database(url)
    try:
        # Any secret will do: the rows record whichever keys the files were stored under.
        storage = LocalStorage(data_dir / "media", secret=b"bench media secret")
        result = await seed(db, storage, plan, progress=Progress())
    finally:
        await db.dispose()
    marker.write_text(json.dumps({**result.counts, "secs": round(result.secs, 1)}))
    print(f"[{engine}] built in {result.secs:.0f} s: {result.counts}")
    return url


# -- query latency --------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def time_queries(url: str, runs: int) -> dict:
    db = Database(url)
    dialect = db.dialect
    results = {}
    try:
        async with db.read() as s:
            people = list(
                (await s.execute(select(User).order_by(User.following_count, User.id))).scalars()
            )
        viewers = {"typical": people[len(people) // 2], "heavy": people[-1]}
        for label, viewer in viewers.items():
            for page in (1, DEEP_PAGE):
                max_id = None
                async with db.read() as s:
                    for _ in range(page - 1):
                        ids = await q.home_feed_page_ids(s, viewer, max_id, dialect=dialect)
                        max_id = ids[q.PAGE_SIZE - 1]
                    ids_ms, page_ms = [], []
                    for _ in range(runs):
                        started = time.perf_counter()
                        ids = await q.home_feed_page_ids(s, viewer, max_id, dialect=dialect)
                        ids_ms.append((time.perf_counter() - started) * 1000)
                    assert len(ids) == q.PAGE_SIZE + 1
                for _ in range(max(runs // 4, 20)):
                    started = time.perf_counter()
                    await q.home_page(db, viewer, max_id)
                    page_ms.append((time.perf_counter() - started) * 1000)
                results[(label, page)] = (viewer.following_count, ids_ms, page_ms)
    finally:
        await db.dispose()
    return results


# -- plans ----------------------------------------------------------------------------------


async def show_plans(url: str) -> None:
    db = Database(url)
    dialect = db.dialect
    try:
        async with db.read() as s:
            viewer = (await s.execute(select(User).order_by(User.following_count.desc()))).scalar()
            author = await s.scalar(
                select(Post.author_id).group_by(Post.author_id).order_by(func.count().desc())
            )
            tag = await s.scalar(
                select(PostTag.tag).group_by(PostTag.tag).order_by(func.count().desc())
            )
            statements = {
                "home (per author)": q.home_feed_ids(viewer.id, None, dialect=dialect, limit=13),
                "home (window)": q.home_window_ids(viewer.id, None, limit=13),
                "explore recent": q.explore_recent_query(viewer.id, None, limit=13),
                "explore popular": q.explore_popular_query(
                    viewer.id, None, since_id=q.popular_since_id(), limit=13
                ),
                f"tag #{tag}": q.tag_query(viewer.id, tag, None, limit=13),
                f"tag #{tag} count": q.tag_count_query(viewer.id, tag),
                "profile": q.profile_query(viewer.id, author, None, limit=13),
            }
            for name, statement in statements.items():
                sql = str(
                    statement.compile(
                        dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}
                    )
                )
                if db.dialect == "mysql":
                    rows = list((await s.execute(text("EXPLAIN " + sql))).mappings())
                    scans = [r for r in rows if r["table"] in ("posts", "post_tags")
                             and r["type"] == "ALL"]  # fmt: skip
                    shown = [f"{r['table']} {r['type']} {r['key'] or ''}".strip() for r in rows]
                elif db.is_sqlite:
                    rows = await s.execute(text("EXPLAIN QUERY PLAN " + sql))
                    lines = [row[3] for row in rows]
                    scans = [x for x in lines if re.match(r"SCAN (posts|post_tags)\b(?! USING)", x)]
                    shown = [x for x in lines if x.startswith(("SEARCH", "SCAN"))]
                else:
                    lines = [row[0] for row in await s.execute(text("EXPLAIN " + sql))]
                    scans = [x for x in lines if re.search(r"Seq Scan on (posts|post_tags)\b", x)]
                    shown = [
                        re.sub(r"\s+\(cost=.*", "", x).strip()
                        for x in lines
                        if re.search(r"Scan|Join|Loop", x)
                    ]
                verdict = "FULL SCAN" if scans else "index only"
                print(f"  {name:<24} {verdict:<10} {' | '.join(dict.fromkeys(shown))[:150]}")
    finally:
        await db.dispose()


# -- the server under load ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, proc: subprocess.Popen, timeout_secs: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited early; see its log")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not become healthy")


def sign_in(port: int, username: str) -> str:
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False) as client:
        client.get("/login")
        xsrf = client.cookies["_xsrf"]
        r = client.post(
            "/login", data={"login": username, "password": DEFAULT_PASSWORD, "_xsrf": xsrf}
        )
        assert r.status_code == 303, r.text[:500]
        cookie = f"session={client.cookies['session']}; _xsrf={xsrf}"
        page = client.get("/", headers={"Cookie": cookie})
        cards = page.text.count("data-post-card") or page.text.count('class="post-card')
        assert page.status_code == 200 and cards == q.PAGE_SIZE, (page.status_code, cards)
        print(f"  signed in as @{username}; / is {len(page.content):,} bytes with {cards} cards")
        return cookie


def wrk(url: str, args, cookie: str | None = None) -> float:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        print(f"  WARNING: {errors.group(1)} non-2xx answers from {url}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def load_server(engine: str, url: str, data_dir: Path, username: str, args, *, caches=True):
    """requests/s of / (signed in) and of /healthz from wrk, against one server process."""
    port = free_port()
    env = {
        **os.environ,
        "TORNAGRAM_COOKIE_SECRET": "bench-" + "x" * 40,
        "TORNAGRAM_CACHES": "1" if caches else "0",
    }
    log = open(data_dir / "server.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "tornagram", "serve", "--port", str(port),
         "--data-dir", str(data_dir), "--database-url", url],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_healthy(port, server)
        cookie = sign_in(port, username)
        base = f"http://127.0.0.1:{port}"
        wrk(f"{base}/", argparse.Namespace(**{**vars(args), "duration": 2}), cookie)  # warm up
        home = wrk(f"{base}/", args, cookie)
        health = wrk(f"{base}/healthz", args)
        return home, health
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


# -- main -----------------------------------------------------------------------------------


async def run_engine(engine: str, args) -> dict:
    plan = SeedPlan(users=args.users, posts=args.posts, follows=args.follows)
    data_dir = Path(args.cache_dir) / f"feeds-{engine}-{args.users}-{args.posts}-{args.follows}"
    url = await build(engine, data_dir, plan, args.rebuild)
    print(f"[{engine}] home-feed latency, {args.runs} runs each (ms)")
    timings = await time_queries(url, args.runs)
    print(f"  {'viewer':<8} {'follows':>7} {'page':>4}   {'ids p50':>8} {'ids p99':>8}   "
          f"{'page p50':>8} {'page p99':>8}")  # fmt: skip
    for (label, page), (follows, ids_ms, page_ms) in timings.items():
        print(
            f"  {label:<8} {follows:>7} {page:>4}   {pct(ids_ms, 50):>8.2f} {pct(ids_ms, 99):>8.2f}"
            f"   {pct(page_ms, 50):>8.2f} {pct(page_ms, 99):>8.2f}"
        )
    print(f"[{engine}] plans on the big data (planner left to itself)")
    await show_plans(url)
    result = {"timings": timings}
    if not args.skip_wrk:
        if shutil.which("wrk") is None:
            print("  wrk is missing: `apt-get install wrk` (Debian package wrk); skipping load")
        else:
            typical = await typical_username(url)
            print(
                f"[{engine}] load: wrk -t{args.threads} -c{args.connections} -d{args.duration}s "
                f"from a second process, one server process, same machine"
            )
            home, health = load_server(engine, url, data_dir, typical, args)
            cold, cold_health = load_server(engine, url, data_dir, typical, args, caches=False)
            result["wrk"] = (home, health)
            print(
                f"  /healthz {health:>8,.0f} req/s   / (signed in) {home:>8,.0f} req/s   "
                f"ratio {home / health:.0%} (target {TARGET_RATIO:.0%})"
            )
            print(
                f"  with TORNAGRAM_CACHES=0 (every answer from the database): / {cold:,.0f} "
                f"req/s, /healthz {cold_health:,.0f} req/s ({cold / cold_health:.1%})"
            )
    return result


async def unreachable(engine: str) -> str | None:
    """Why ``engine``'s server cannot be used, or None (SQLite always can)."""
    try:
        if engine == "postgresql":
            await pg_reset(create_only=True)
        elif engine == "mariadb":
            await mariadb_reset(create_only=True)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


async def typical_username(url: str) -> str:
    db = Database(url)
    try:
        async with db.read() as s:
            people = list(
                (
                    await s.execute(select(User.username).order_by(User.following_count, User.id))
                ).scalars()
            )
            return people[len(people) // 2]
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql,mariadb")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=300_000)
    parser.add_argument("--follows", type=int, default=200)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per URL")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--cache-dir", default=str(ROOT / "var" / "bench"))
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--skip-wrk", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    summary = {}
    for engine in args.engines.split(","):
        problem = asyncio.run(unreachable(engine))
        if problem:
            print(f"[{engine}] skipped: cannot reach it ({problem})")
            continue
        summary[engine] = asyncio.run(run_engine(engine, args))
    print("\nsummary")
    for engine, result in summary.items():
        for (label, page), (_follows, ids_ms, _page_ms) in result["timings"].items():
            ok = pct(ids_ms, 99) <= TARGET_P99_MS
            print(f"  {engine:<10} {label:<8} page {page:>2}: p50 {pct(ids_ms, 50):6.2f} ms  "
                  f"p99 {pct(ids_ms, 99):6.2f} ms  {'ok' if ok else 'OVER TARGET'}")  # fmt: skip
        if "wrk" in result:
            home, health = result["wrk"]
            rates = f"{home:,.0f} / {health:,.0f} req/s"
            print(f"  {engine:<10} / at {home / health:.0%} of /healthz ({rates})")
    print(f"total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
