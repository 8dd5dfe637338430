"""Every page kind under load, caches off and on, on SQLite and PostgreSQL, next to a baseline.

    .venv/bin/python bench/pages.py [--quick] [--engines sqlite,postgresql] [--duration 5]
        [--connections 16] [--modes off,on] [--pages home,explore,...] [--cache-dir var/bench]
        [--rebuild]

1. Builds a realistic site once per engine and keeps it for the next run (--rebuild starts
   over): `tornagram seed` (5,000 users, 60,000 posts, skewed follows and likes; --quick: 800
   and 8,000), then comments and likes added through the services themselves, so they bring
   their notifications, counters and topics exactly as people's would (4,600 comments and
   3,400 likes, most on the posts of the 50 viewers below; --quick: a tenth).
2. For each engine and each cache setting (TORNAGRAM_CACHES=0, then caches on) starts one server
   process (`python -m tornagram serve`) and loads it with wrk from a second process, rotating
   50 signed-in viewers and, per page kind, hundreds of paths (a wrk Lua script picks both at
   random for every request): /, /explore, /tags/<tag>, /@<name>, /p/<id>, /search?q=,
   /notifications. Each page kind prints requests/s, p99 latency and its share of the same
   server's /healthz, measured in the same run. With caches on, each page kind is first warmed
   for a few seconds, so what is measured is the steady state of rotating traffic, not the
   first views. The server's RSS is printed after its last page kind (caches full).
3. The baseline a person might pick instead: a minimal Tornado handler (stdlib sqlite3, one plain
   template, no framework around it) serving the same photo page (post, author, photo, counts,
   latest comments) from the same SQLite file, under the same rotation.

Targets: caches off, every page kind at least 10% of /healthz; the photo page at least 2x the
baseline; caches on, home, photo, profile, explore and tag pages at least 30% of /healthz.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
PG_HOST_DSN = "postgresql://postgres@127.0.0.1:5432"
# TORNAGRAM_BENCH_PG_DATABASE names another database, so two checkouts can bench side by side.
PG_DATABASE = os.environ.get("TORNAGRAM_BENCH_PG_DATABASE", "tornagram_bench_pages")
COOKIE_SECRET = "bench-pages-" + "x" * 40
VIEWERS = 50
PAGE_KINDS = ("home", "explore", "tag", "profile", "photo", "search", "notifications")
OFF_TARGET = 0.10
ON_TARGET = 0.30
ON_TARGET_PAGES = ("home", "photo", "profile", "explore", "tag")
BASELINE_TARGET = 2.0


# -- building -------------------------------------------------------------------------------


def engine_url(engine: str, data_dir: Path) -> str:
    if engine == "sqlite":
        return f"sqlite+aiosqlite:///{data_dir / 'tornagram.db'}"
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{PG_DATABASE}"


async def pg_reset() -> None:
    import asyncpg

    admin = await asyncpg.connect(f"{PG_HOST_DSN}/postgres")
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", PG_DATABASE):
            await admin.execute(f'DROP DATABASE "{PG_DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    finally:
        await admin.close()


async def build(engine: str, data_dir: Path, size: dict, rebuild: bool) -> dict:
    """The data set's description (viewers' session tokens, paths); built once, then reused."""
    from tornagram.db import migrate
    from tornagram.db.engine import Database
    from tornagram.feeds.seed import Progress, SeedPlan, seed
    from tornagram.storage.base import media_secret
    from tornagram.storage.local import LocalStorage

    marker = data_dir / "built.json"
    if not rebuild and marker.exists():
        built = json.loads(marker.read_text())
        if built.get("size") == size:
            print(f"[{engine}] reusing the data set in {data_dir}")
            return built
    url = engine_url(engine, data_dir)
    print(f"[{engine}] building {size}")
    if data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True)
    if engine == "postgresql":
        await pg_reset()
    await asyncio.to_thread(migrate.upgrade, url)
    plan = SeedPlan(users=size["users"], posts=size["posts"], follows=size["follows"])
    db = Database(url)
    try:
        # The server's own key for media (it derives it from the same cookie secret).
        storage = LocalStorage(data_dir / "media", secret=media_secret(COOKIE_SECRET))
        result = await seed(db, storage, plan, progress=Progress())
    finally:
        await db.dispose()
    print(f"[{engine}] seeded in {result.secs:.0f} s: {result.counts}")
    started = time.monotonic()
    built = await add_activity(url, data_dir, size)
    print(f"[{engine}] comments, likes and notifications in {time.monotonic() - started:.0f} s")
    built["size"] = size
    marker.write_text(json.dumps(built))
    return built


async def add_activity(url: str, data_dir: Path, size: dict) -> dict:
    """Comments and likes through the services (with their notifications), the viewers'
    sessions, and the paths each page kind rotates over."""
    from sqlalchemy import func, select

    from tornagram.accounts.models import User
    from tornagram.config import build_settings
    from tornagram.context import build_context
    from tornagram.errors import UserError
    from tornagram.photos.models import Post, PostTag

    settings = build_settings(
        data_dir=data_dir, database_url=url, cookie_secret=COOKIE_SECRET, caches=False
    )
    ctx = build_context(settings)
    ctx.rate_limits.check = lambda *args, **kwargs: None  # seeding, not people
    rng = random.Random(13)
    try:
        async with ctx.db.read() as s:
            public = list(
                (
                    await s.execute(
                        select(User)
                        .where(User.is_private.is_(False), User.post_count > 0)
                        .order_by(User.following_count, User.id)
                    )
                ).scalars()
            )
            middle = len(public) // 2
            viewers = public[max(0, middle - VIEWERS // 2) :][:VIEWERS]
            everyone = list((await s.execute(select(User))).scalars())
            viewer_ids = [v.id for v in viewers]
            viewer_posts = list(
                (
                    await s.execute(
                        select(Post.id).where(Post.author_id.in_(viewer_ids)).order_by(Post.id)
                    )
                ).scalars()
            )
            public_posts = list(
                (
                    await s.execute(
                        select(Post.id)
                        .join(User, User.id == Post.author_id)
                        .where(User.is_private.is_(False))
                        .order_by(Post.id.desc())
                        .limit(20_000)
                    )
                ).scalars()
            )
            tags = list(
                (
                    await s.execute(
                        select(PostTag.tag)
                        .group_by(PostTag.tag)
                        .order_by(func.count().desc())
                        .limit(32)
                    )
                ).scalars()
            )
        photos = rng.sample(public_posts[:5000], min(500, len(public_posts)))
        # Most activity lands on what the benchmark shows: the viewers' posts (their
        # notifications) and the photos it rotates over (their comment threads).
        targets = viewer_posts + photos
        people = everyone
        done = {"comments": 0, "likes": 0}

        async def act(kind: str, n: int) -> None:
            for _ in range(n):
                person = rng.choice(people)
                post_id = rng.choice(targets) if rng.random() < 0.8 else rng.choice(public_posts)
                try:
                    if kind == "comments":
                        words = rng.sample(COMMENT_WORDS, rng.randint(2, 9))
                        await ctx.interactions.add_comment(person, post_id, " ".join(words))
                    else:
                        await ctx.interactions.like(person, post_id)
                    done[kind] += 1
                except UserError:
                    pass  # a post this person may not see (a block, a private author)
                total = done["comments"] + done["likes"]
                if total % 500 == 0:
                    print(f"  {done}", file=sys.stderr)

        await act("comments", size["comments"])
        await act("likes", size["likes"])
        tokens = []
        async with ctx.db.write() as s:
            for viewer in viewers:
                tokens.append(ctx.accounts._new_session(s, viewer, "127.0.0.1", "bench"))
        names = [u.username for u in rng.sample(public, min(427, len(public)))]
        searches = sorted(
            {name[:3] for name in names[:40]} | {tag[:4] for tag in tags} | set(tags[:10])
        )[:76]
        return {
            "tokens": tokens,
            "photos": photos,
            "profiles": names,
            "tags": tags,
            "searches": searches,
            "counts": done,
        }
    finally:
        await ctx.close()


COMMENT_WORDS = (
    "lovely light here what a view the colours are amazing so good miss this place "
    "beautiful shot where is this great composition wow nice one stunning soft tones "
    "perfect timing"
).split()


# -- load -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, proc: subprocess.Popen, timeout_secs: float = 90) -> None:
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


def cookies(tokens: list[str]) -> list[str]:
    from tornado.web import create_signed_value

    return [
        "session=" + create_signed_value(COOKIE_SECRET, "session", token).decode()
        for token in tokens
    ]


def paths_for(kind: str, built: dict) -> list[str]:
    from urllib.parse import quote

    if kind == "home":
        return ["/"]
    if kind == "explore":
        return ["/explore"]
    if kind == "notifications":
        return ["/notifications"]
    if kind == "tag":
        return [f"/tags/{quote(tag)}" for tag in built["tags"]]
    if kind == "profile":
        return [f"/@{name}" for name in built["profiles"]]
    if kind == "photo":
        return [f"/p/{post_id}" for post_id in built["photos"]]
    if kind == "search":
        return [f"/search?q={quote(q)}" for q in built["searches"]]
    raise ValueError(kind)


def lua_script(paths: list[str], cookie_values: list[str], directory: Path) -> Path:
    """A wrk script that picks a path and a viewer at random for every request."""

    def table(values):
        return "{" + ",".join(json.dumps(v) for v in values) + "}"

    body = f"""
local paths = {table(paths)}
local cookies = {table(cookie_values or [""])}
local n = 0
function setup(thread) n = n + 1; thread:set("id", n) end
function init(args) math.randomseed(os.time() * 1000 + id) end
function request()
  local c = cookies[math.random(#cookies)]
  local headers = {{}}
  if c ~= "" then headers["Cookie"] = c end
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
"""
    fd, name = tempfile.mkstemp(suffix=".lua", dir=directory)
    with os.fdopen(fd, "w") as f:
        f.write(body)
    return Path(name)


def wrk(url: str, args, *, script: Path | None = None, duration: float | None = None):
    """(requests/s, p99 ms, non-2xx answers)."""
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}",
        f"-d{duration or args.duration}s", "--latency", "--timeout", "20s",
    ]  # fmt: skip
    if script is not None:
        command += ["-s", str(script)]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    p99_ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan")
    return rate, p99_ms, int(errors.group(1)) if errors else 0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def check_pages(port: int, kinds, built: dict, cookie_values: list[str]) -> None:
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for kind in kinds:
            path = paths_for(kind, built)[0]
            r = client.get(path, headers={"Cookie": cookie_values[0]})
            if r.status_code != 200:
                raise RuntimeError(f"{path} answered {r.status_code}")


def warm_every_path(port: int, paths: list[str], cookie_values: list[str]) -> None:
    """Each path once, by one viewer after another (--warm-paths): the content every viewer
    shares is then in the caches, as on a site that has been up for a while, and what the
    timed run measures is the steady state, not hundreds of first views."""
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for i, path in enumerate(paths):
            client.get(path, headers={"Cookie": cookie_values[i % len(cookie_values)]})


def load_server(url: str, data_dir: Path, built: dict, args, *, caches: bool) -> dict:
    port = free_port()
    env = {
        **os.environ,
        "TORNAGRAM_COOKIE_SECRET": COOKIE_SECRET,
        "TORNAGRAM_CACHES": "1" if caches else "0",
    }
    log = open(data_dir / "server.log", "a")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "tornagram", "serve", "--port", str(port),
         "--data-dir", str(data_dir), "--database-url", url],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    values = cookies(built["tokens"])
    results: dict = {}
    try:
        wait_healthy(port, server)
        check_pages(port, args.pages, built, values)
        wrk(f"{base}/healthz", args, duration=2)  # warm up
        results["healthz"] = wrk(f"{base}/healthz", args)
        for kind in args.pages:
            script = lua_script(paths_for(kind, built), values, data_dir)
            try:
                if caches and args.warm_paths:
                    warm_every_path(port, paths_for(kind, built), values)
                if caches:
                    wrk(base, args, script=script, duration=args.warm)
                results[kind] = wrk(base, args, script=script)
            finally:
                script.unlink()
        results["rss_mb"] = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    return results


# -- the baseline: a minimal Tornado photo page -----------------------------------------------

BASELINE_TEMPLATE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{{ post['username'] }} on Tornagram</title>
<link rel="stylesheet" href="/static/site.css"></head>
<body><header><a href="/">Tornagram</a></header>
<main><article>
<header><a href="/@{{ post['username'] }}">
 {{ post['display_name'] or post['username'] }}</a></header>
<img src="/media/{{ post['key'] }}" width="{{ post['width'] }}" height="{{ post['height'] }}"
 alt="{{ post['alt_text'] }}">
<p>{{ post['like_count'] }} likes &middot; {{ post['comment_count'] }} comments</p>
<p>{{ post['caption'] }}</p>
<ul>{% for c in comments %}
<li><a href="/@{{ c['username'] }}">{{ c['username'] }}</a> {{ c['body'] }}
 <time>{{ c['created_at'] }}</time></li>{% end %}
</ul></article></main></body></html>
"""


def serve_baseline(port: int, db_path: str) -> None:
    """The course-project photo page: two queries, one template."""
    import tornado.ioloop
    import tornado.template
    import tornado.web

    conn = sqlite3.connect(db_path, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    template = tornado.template.Template(BASELINE_TEMPLATE)

    class PhotoHandler(tornado.web.RequestHandler):
        def get(self, post_id: str) -> None:
            post = conn.execute(
                "SELECT p.id, p.caption, p.like_count, p.comment_count, u.username,"
                " u.display_name, ph.alt_text, r.key, r.width, r.height FROM posts p"
                " JOIN users u ON u.id = p.author_id JOIN photos ph ON ph.post_id = p.id"
                " AND ph.position = 0 JOIN photo_renditions r ON r.photo_id = ph.id"
                " AND r.name = '1080' WHERE p.id = ?",
                (int(post_id),),
            ).fetchone()
            if post is None:
                raise tornado.web.HTTPError(404)
            comments = conn.execute(
                "SELECT c.body, c.created_at, u.username FROM comments c"
                " JOIN users u ON u.id = c.author_id WHERE c.post_id = ?"
                " ORDER BY c.id DESC LIMIT 20",
                (int(post_id),),
            ).fetchall()
            self.write(template.generate(post=post, comments=comments))

    class HealthHandler(tornado.web.RequestHandler):
        def get(self) -> None:
            self.write("ok")

    app = tornado.web.Application([(r"/p/([0-9]+)", PhotoHandler), (r"/healthz", HealthHandler)])
    app.listen(port, "127.0.0.1")
    tornado.ioloop.IOLoop.current().start()


def load_baseline(data_dir: Path, built: dict, args) -> dict:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--baseline-server", str(port),
         str(data_dir / "tornagram.db")],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(port, server)
        import httpx

        r = httpx.get(f"{base}/p/{built['photos'][0]}")
        if r.status_code != 200:
            raise RuntimeError(f"the baseline answered {r.status_code}")
        results = {"healthz": wrk(f"{base}/healthz", args)}
        script = lua_script(paths_for("photo", built), [], data_dir)
        try:
            results["photo"] = wrk(base, args, script=script)
        finally:
            script.unlink()
        results["rss_mb"] = rss_mb(server.pid)
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


# -- main -----------------------------------------------------------------------------------


def table(engine: str, off: dict | None, on: dict | None, baseline: dict | None) -> list[str]:
    lines = [
        f"{engine}: req/s, p99 ms, share of the same run's /healthz",
        f"  {'page':<15} {'caches off':>26}   {'caches on, rotating':>26}",
    ]

    def cell(result, kind, target):
        if result is None or kind not in result:
            return f"{'-':>26}"
        rate, p99, errors = result[kind]
        share = rate / result["healthz"][0]
        flag = "" if target is None else (" ok" if share >= target else " --")
        bad = f" {errors} non-2xx!" if errors else ""
        return f"{rate:>8,.0f} {p99:>7.1f}ms {share:>6.1%}{flag:<3}{bad}"

    for kind in ("healthz", *PAGE_KINDS):
        if (off is None or kind not in off) and (on is None or kind not in on):
            continue
        on_target = ON_TARGET if kind in ON_TARGET_PAGES else None
        lines.append(
            f"  {kind:<15} {cell(off, kind, None if kind == 'healthz' else OFF_TARGET)}   "
            f"{cell(on, kind, None if kind == 'healthz' else on_target)}"
        )
    rss = [f"{label} {r['rss_mb']:.0f} MB" for label, r in (("off", off), ("on", on)) if r]
    lines.append(f"  server RSS after the run: {', '.join(rss)}")
    if baseline is not None:
        rate, p99, _ = baseline["photo"]
        lines.append(
            f"  baseline photo page (stdlib sqlite3, one template): {rate:,.0f} req/s, p99 "
            f"{p99:.1f} ms, {rate / baseline['healthz'][0]:.1%} of its own /healthz "
            f"({baseline['healthz'][0]:,.0f}), RSS {baseline['rss_mb']:.0f} MB"
        )
        if off is not None and "photo" in off:
            ratio = off["photo"][0] / rate
            verdict = "ok" if ratio >= BASELINE_TARGET else "below target"
            lines.append(
                f"  our cold photo page is {ratio:.2f}x the baseline "
                f"(target {BASELINE_TARGET:.0f}x): {verdict}"
            )
    return lines


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--baseline-server":
        serve_baseline(int(sys.argv[2]), sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="a small site, shorter runs")
    parser.add_argument("--duration", type=int, default=None, help="seconds of wrk per page")
    parser.add_argument("--warm", type=int, default=None, help="seconds of warming (caches on)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--warm-paths",
        action="store_true",
        help="with caches on, request every path once before warming (steady state)",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--modes", default="off,on")
    parser.add_argument("--pages", default=",".join(PAGE_KINDS))
    parser.add_argument("--cache-dir", default=str(ROOT / "var" / "bench"))
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    args.pages = [p for p in args.pages.split(",") if p]
    if args.duration is None:
        args.duration = 3 if args.quick else 6
    if args.warm is None:
        args.warm = 2 if args.quick else 4
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk (`make bench-pages` installs it)")
    if args.quick:
        size = dict(users=800, posts=8000, follows=40, comments=600, likes=500)
    else:
        size = dict(users=5000, posts=60_000, follows=100, comments=4600, likes=3400)
    started = time.monotonic()
    out: list[str] = [
        f"bench/pages.py: wrk -t{args.threads} -c{args.connections} -d{args.duration}s per page, "
        f"{VIEWERS} rotating viewers, one server process; site {size}"
    ]
    for engine in args.engines.split(","):
        data_dir = Path(args.cache_dir) / f"pages-{engine}-{size['users']}-{size['posts']}"
        built = asyncio.run(build(engine, data_dir, size, args.rebuild))
        url = engine_url(engine, data_dir)
        modes = args.modes.split(",")
        off = load_server(url, data_dir, built, args, caches=False) if "off" in modes else None
        on = load_server(url, data_dir, built, args, caches=True) if "on" in modes else None
        baseline = None
        if engine == "sqlite" and "photo" in args.pages:
            baseline = load_baseline(data_dir, built, args)
        lines = table(engine, off, on, baseline)
        print("\n".join(lines), flush=True)
        out += lines
    print("\n" + "\n".join(out))
    print(f"total {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
