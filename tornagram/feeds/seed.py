"""``tornagram seed``: realistic, skewed demo data for development and benchmarks.

Real photo sites are lopsided, and a feed that is fast on uniform data can be slow on real data,
so the shape matters more than the size:

- follower counts are Zipf-distributed (a few accounts followed by nearly everyone, most by a
  few dozen) and how many people each account follows is log-normal around ``--follows``;
- posting activity is log-normal too, and posts are spread over the past year, with ids that
  carry their post's time (so keyset pages and "this week" ranges behave as in real life);
- likes grow with the author's audience; captions carry hashtags (a few very common) and
  mentions; about one account in twelve is private.

Rows are written with each engine's bulk path (executemany on SQLite, COPY on PostgreSQL), in
batches, committing as it goes, and every counter (posts, followers, following, likes) agrees
with the rows. A line on stderr shows the progress.
"""

from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select

from tornagram.accounts.models import User
from tornagram.accounts.passwords import PasswordHasher
from tornagram.config import PasswordHashParams
from tornagram.db.engine import Database
from tornagram.db.ids import EPOCH_MS, SEQUENCE_BITS, WORKER_BITS
from tornagram.feeds import seed_content as content
from tornagram.photos.captions import extract_tags

DEFAULT_PASSWORD = "tornagram-seed"  # noqa: S105 - printed for the developer, on purpose
DAY_MS = 86_400_000
YEAR_MS = 365 * DAY_MS
# Posts per batch; each brings its photos, renditions, tags and likes along.
POST_BATCH = 4000
ROW_BATCH = 20_000
_LOW_BITS = WORKER_BITS + SEQUENCE_BITS


class SeedError(Exception):
    pass


def id_at(unix_ms: int, n: int) -> int:
    """An id with the time ``unix_ms``. The worker and sequence bits carry a running number
    ``n``, so up to 2**22 seeded ids made at the same millisecond are still distinct. Seeded
    times are in the past, so they never meet the ids a running server makes."""
    return ((unix_ms - EPOCH_MS) << _LOW_BITS) | (n & ((1 << _LOW_BITS) - 1))


def history_window(now_ms: int) -> tuple[int, int, int]:
    """(first join, first post, last post) in Unix ms: up to two years back, never before
    the id epoch, and the last post a minute ago (the newest ids stay the server's own)."""
    until_ms = now_ms - 60_000
    start_ms = max(now_ms - 2 * YEAR_MS, EPOCH_MS + 1)
    if until_ms - start_ms < 2 * 60_000:
        raise SeedError("the clock is too close to the id epoch (2025-01-01) to date demo data")
    return start_ms, start_ms + (until_ms - start_ms) // 2, until_ms


@dataclass(frozen=True, slots=True)
class SeedPlan:
    users: int
    posts: int
    follows: int  # mean accounts followed per user
    likes_per_post: float = 3.0
    private_share: float = 0.08
    seed: int = 1
    password: str = DEFAULT_PASSWORD
    now_ms: int | None = None
    images: int = content.IMAGE_POOL_SIZE


@dataclass
class SeedResult:
    counts: dict[str, int] = field(default_factory=dict)
    secs: float = 0.0


class Progress:
    """One line on stderr, rewritten in place with \\r."""

    def __init__(self, stream=None, width: int = 30) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.label, self.total, self.done, self._last = "", 0, 0, 0.0

    def start(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, max(total, 1), 0
        self._draw()

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last > 0.1 or self.done >= self.total:
            self._last = now
            self._draw()

    def finish(self) -> None:
        self.done = self.total
        self._draw()
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self) -> None:
        share = min(self.done / self.total, 1.0)
        bar = "#" * int(share * self.width)
        self.stream.write(
            f"\r{self.label:<12} [{bar:<{self.width}}] {int(share * 100):3d}% "
            f"{min(self.done, self.total):>10,}/{self.total:,}"
        )
        self.stream.flush()


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def at(self, unix_ms: int) -> int:
        self.n += 1
        return id_at(unix_ms, self.n)


class _Writer:
    """Bulk inserts of plain tuples: COPY on PostgreSQL (its bulk path, an order of magnitude
    faster than INSERT), executemany on SQLite and MySQL (whose driver folds it into multi-row
    INSERTs). Times and JSON are given in each engine's form."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pg = db.dialect == "postgresql"
        self.mysql = db.dialect == "mysql"

    def ts(self, unix_ms: int):
        moment = datetime.fromtimestamp(unix_ms / 1000, UTC)
        if self.pg:
            return moment
        if self.mysql:
            # DATETIME holds no zone: naive UTC, as UTCDateTime stores it.
            return moment.replace(tzinfo=None)
        # SQLAlchemy's own storage format for SQLite DATETIME (naive UTC, microseconds).
        return moment.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")

    async def insert(self, conn, table: str, columns: tuple[str, ...], rows: list) -> None:
        for start in range(0, len(rows), ROW_BATCH):
            chunk = rows[start : start + ROW_BATCH]
            if self.pg:
                raw = await conn.get_raw_connection()
                await raw.driver_connection.copy_records_to_table(
                    table, records=chunk, columns=list(columns)
                )
            else:
                # Table and column names are this module's constants, never input.
                marks = ", ".join(("%s" if self.mysql else "?") for _ in columns)
                # Quoted: "key" is a reserved word on MySQL.
                quote = self.db.engine.dialect.identifier_preparer.quote
                names = ", ".join(quote(c) for c in columns)
                sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608
                await conn.exec_driver_sql(sql, chunk)

    async def transaction(self):
        conn = await self.db.engine.connect()
        if self.db.is_sqlite:
            # Index pages stay in memory while millions of rows go in.
            await conn.exec_driver_sql("PRAGMA cache_size=-200000")
            await conn.commit()
        return conn


@dataclass
class _Population:
    """Who the seeded people are and how they connect, decided before any row is written (the
    users' counters must be known when their rows go in)."""

    user_ids: list[int]
    user_times: list[int]
    names: list[str]
    private: list[bool]
    following: list[list[int]]
    followers: list[list[int]]
    post_authors: list[int]
    post_times: list[int]

    @classmethod
    def draw(cls, rng: random.Random, plan: SeedPlan, ids: _Ids, now_ms: int) -> _Population:
        n = plan.users
        following = content.follow_graph(rng, n, plan.follows)
        followers: list[list[int]] = [[] for _ in range(n)]
        for u, followees in enumerate(following):
            for v in followees:
                followers[v].append(u)
        # How much each person posts is log-normal too, independent of their audience.
        activity = [rng.lognormvariate(0, 1.0) for _ in range(n)]
        # Two years of history: people join in the first half, post in the second, so every
        # post is younger than its author. Never before the id epoch: an id is its time, and
        # a time before the epoch is a negative id that no page, channel or cursor accepts.
        start_ms, posts_from_ms, posts_until_ms = history_window(now_ms)
        user_times = sorted(start_ms + rng.randrange(posts_from_ms - start_ms) for _ in range(n))
        return cls(
            user_ids=[ids.at(t) for t in user_times],
            user_times=user_times,
            names=[content.username(rng, i) for i in range(n)],
            private=[rng.random() < plan.private_share for _ in range(n)],
            following=following,
            followers=followers,
            post_authors=rng.choices(range(n), weights=activity, k=plan.posts),
            post_times=sorted(
                posts_from_ms + rng.randrange(posts_until_ms - posts_from_ms)
                for _ in range(plan.posts)
            ),
        )


async def seed(
    db: Database,
    storage,
    plan: SeedPlan,
    *,
    hash_params: PasswordHashParams | None = None,
    progress: Progress | None = None,
) -> SeedResult:
    started = time.monotonic()
    progress = progress or Progress()
    rng = random.Random(plan.seed)  # noqa: S311 - demo data: repeatable, not secret
    now_ms = plan.now_ms or int(time.time() * 1000)
    if plan.users < 2:
        raise SeedError("seed at least two users")
    async with db.read() as session:
        if await session.scalar(select(func.count()).select_from(User)):
            raise SeedError("the database already has accounts; seed an empty database")
    hasher = PasswordHasher(hash_params or PasswordHashParams(), max_threads=1)
    try:
        password_hash = await hasher.hash(plan.password)
    finally:
        hasher.close()
    progress.start("images", plan.images)
    pool = await content.build_image_pool(storage, rng, plan.images)
    progress.finish()

    ids = _Ids()
    people = _Population.draw(rng, plan, ids, now_ms)
    w = _Writer(db)
    conn = await w.transaction()
    try:
        counts = {"users": await _insert_users(conn, w, rng, people, password_hash, progress)}
        counts["follows"] = await _insert_follows(conn, w, rng, people, now_ms, progress)
        # Mentions favour the accounts people know: weighted by followers.
        captions = content.CaptionMaker(rng, people.names, [len(f) + 1 for f in people.followers])
        maker = _PostMaker(
            rng, w, ids, pool, captions, plan, now_ms, people.user_ids, people.followers,
            people.private, counts["follows"] / plan.users,
        )  # fmt: skip
        counts.update(await _insert_posts(conn, w, maker, people, progress))
    finally:
        await conn.close()
    await _analyze(db)
    return SeedResult(counts, time.monotonic() - started)


async def _insert_users(conn, w: _Writer, rng, people: _Population, password_hash, progress):
    n = len(people.user_ids)
    progress.start("users", n)
    post_counts = [0] * n
    for author in people.post_authors:
        post_counts[author] += 1
    rows = []
    for i, name in enumerate(people.names):
        created = w.ts(people.user_times[i])
        rows.append(
            (people.user_ids[i], name, f"{name}@example.org", f"{name}@example.org",
             password_hash, content.display_name(rng, name), content.bio(rng), people.private[i],
             post_counts[i], len(people.followers[i]), len(people.following[i]), created, created)
        )  # fmt: skip
    await w.insert(conn, "users", _USER_COLUMNS, rows)
    await conn.commit()
    progress.finish()
    return n


async def _insert_follows(conn, w: _Writer, rng, people: _Population, now_ms, progress) -> int:
    total = sum(len(f) for f in people.following)
    progress.start("follows", total)
    rows = []
    last = len(people.following) - 1
    for u, followees in enumerate(people.following):
        for v in followees:
            since = max(people.user_times[u], people.user_times[v])
            created = w.ts(since + rng.randrange(now_ms - since))
            rows.append((people.user_ids[u], people.user_ids[v], created))
        if len(rows) >= ROW_BATCH or u == last:
            await w.insert(conn, "follows", ("follower_id", "followee_id", "created_at"), rows)
            await conn.commit()
            progress.advance(len(rows))
            rows = []
    progress.finish()
    return total


async def _insert_posts(conn, w: _Writer, maker: _PostMaker, people: _Population, progress):
    tallies = dict.fromkeys(("posts", "photos", "renditions", "tags", "likes"), 0)
    total = len(people.post_authors)
    progress.start("posts", total)
    for start in range(0, total, POST_BATCH):
        end = start + POST_BATCH
        batch = maker.batch(people.post_authors[start:end], people.post_times[start:end])
        for table, (columns, rows) in batch.items():
            await w.insert(conn, table, columns, rows)
            tallies[_TALLY[table]] += len(rows)
        await conn.commit()
        progress.advance(len(batch["posts"][1]))
    progress.finish()
    return tallies


_USER_COLUMNS = (
    "id", "username", "email", "email_key", "password_hash", "display_name", "bio",
    "is_private", "post_count", "follower_count", "following_count", "created_at", "updated_at",
)  # fmt: skip
_POST_COLUMNS = (
    "id", "author_id", "caption", "photo_count", "like_count", "comment_count",
    "created_at", "updated_at",
)  # fmt: skip
_PHOTO_COLUMNS = (
    "id", "post_id", "position", "width", "height", "blurhash", "dominant_color",
    "alt_text", "source_format", "camera",
)  # fmt: skip
_RENDITION_COLUMNS = ("photo_id", "name", "fmt", "key", "width", "height")
_TALLY = {
    "posts": "posts",
    "photos": "photos",
    "photo_renditions": "renditions",
    "post_tags": "tags",
    "likes": "likes",
}


@dataclass
class _PostMaker:
    """Posts with their photos, renditions, tags and likes, one batch at a time."""

    rng: random.Random
    w: _Writer
    ids: _Ids
    pool: list
    captions: content.CaptionMaker
    plan: SeedPlan
    now_ms: int
    user_ids: list[int]
    followers: list[list[int]]
    private: list[bool]
    mean_followers: float

    def batch(self, authors: list[int], times: list[int]) -> dict:
        posts, photos, renditions, tags, likes = [], [], [], [], []
        rng = self.rng
        for author, at_ms in zip(authors, times, strict=True):
            post_id = self.ids.at(at_ms)
            roll = rng.random()
            photo_count = 1 if roll < 0.8 else 2 if roll < 0.92 else rng.randrange(3, 7)
            for position in range(photo_count):
                image = self.pool[rng.randrange(len(self.pool))]
                photo_id = self.ids.at(at_ms)
                photos.append(
                    (photo_id, post_id, position, image.width, image.height, image.blurhash,
                     image.dominant_color, "", image.source_format, "{}")
                )  # fmt: skip
                renditions.extend(
                    (photo_id, r.name, r.fmt, r.key, r.width, r.height) for r in image.renditions
                )
            caption = self.captions.caption()
            tags.extend((post_id, tag) for tag in extract_tags(caption))
            likers = self._likers(author)
            for liker in likers:
                liked_ms = min(at_ms + rng.randrange(3 * DAY_MS), self.now_ms - 1)
                likes.append((self.ids.at(liked_ms), post_id, self.user_ids[liker]))
            created = self.w.ts(at_ms)
            posts.append(
                (post_id, self.user_ids[author], caption, photo_count, len(likers), 0, created,
                 created)
            )  # fmt: skip
        return {
            "posts": (_POST_COLUMNS, posts),
            "photos": (_PHOTO_COLUMNS, photos),
            "photo_renditions": (_RENDITION_COLUMNS, renditions),
            "post_tags": (("post_id", "tag"), tags),
            "likes": (("id", "post_id", "user_id"), likes),
        }

    def _likers(self, author: int) -> list[int]:
        """Likes follow the author's audience: ten times the followers, about ten times the
        likes, with an exponential spread. A private account's likes come from its followers."""
        rng = self.rng
        audience = self.followers[author]
        expected = self.plan.likes_per_post * (len(audience) + 1) / (self.mean_followers + 1)
        wanted = int(rng.expovariate(1 / expected)) if expected > 0 else 0
        if self.private[author]:
            return rng.sample(audience, min(wanted, len(audience)))
        n = len(self.user_ids)
        return [u for u in rng.sample(range(n), min(wanted + 1, n)) if u != author][:wanted]


async def _analyze(db: Database) -> None:
    """Fresh statistics, so the planners see the new shape of the tables."""
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            await conn.exec_driver_sql("ANALYZE")
            await conn.commit()
            return
        if db.dialect == "mysql":
            for table in ("users", "posts", "follows", "likes", "photos", "post_tags"):
                await conn.exec_driver_sql(f"ANALYZE TABLE {table}")
            await conn.commit()
            return
        # VACUUM also sets the visibility map, which index-only scans rely on.
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.exec_driver_sql("VACUUM ANALYZE")
