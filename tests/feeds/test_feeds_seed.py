"""`tornagram seed`: skewed demo data whose counters agree with its rows, on both engines."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path

import argon2
from sqlalchemy import select

from tornagram.accounts.models import User
from tornagram.config import FAST_TEST_HASH_PARAMS
from tornagram.db.engine import Database
from tornagram.db.ids import EPOCH_MS, id_time_ms
from tornagram.feeds.seed import DAY_MS, DEFAULT_PASSWORD, SeedPlan, id_at, seed
from tornagram.graph.models import Follow, Like
from tornagram.photos.captions import extract_tags
from tornagram.photos.models import Photo, Post, PostTag, Rendition
from tornagram.storage.local import LocalStorage
from tornagram.web.params import MAX_ID

ROOT = Path(__file__).resolve().parents[2]


def run_seed(data_dir: Path, url: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "tornagram", "seed", "--data-dir", str(data_dir),
         "--database-url", url, "--users", "30", "--posts", "200", "--follows", "10"],
        cwd=ROOT, env={**os.environ, "TORNAGRAM_COOKIE_SECRET": "s" * 40},
        capture_output=True, timeout=300,
    )  # fmt: skip
    # Bytes, decoded here: text mode would turn the progress line's \r into \n.
    done.stdout, done.stderr = done.stdout.decode(), done.stderr.decode()
    return done


async def load(url: str) -> dict:
    db = Database(url)
    try:
        async with db.read() as s:
            return {
                model.__name__: list((await s.execute(select(model))).scalars())
                for model in (User, Follow, Post, Photo, Rendition, PostTag, Like)
            }
    finally:
        await db.dispose()


def test_seed_makes_consistent_skewed_data(database_url, tmp_path):
    data_dir = tmp_path / "var"
    done = run_seed(data_dir, database_url)
    assert done.returncode == 0, done.stderr
    assert "\r" in done.stderr and "100%" in done.stderr  # the progress line
    assert "seeded 30 users" in done.stdout and DEFAULT_PASSWORD in done.stdout
    rows = asyncio.run(load(database_url))
    users, follows, posts = rows["User"], rows["Follow"], rows["Post"]
    assert len(users) == 30 and len(posts) == 200

    # Every counter agrees with the rows.
    by_author = Counter(p.author_id for p in posts)
    followers = Counter(f.followee_id for f in follows)
    following = Counter(f.follower_id for f in follows)
    for user in users:
        assert user.post_count == by_author[user.id], user.username
        assert user.follower_count == followers[user.id], user.username
        assert user.following_count == following[user.id], user.username
    likes = Counter(like.post_id for like in rows["Like"])
    photos = Counter(photo.post_id for photo in rows["Photo"])
    tags: dict[int, set[str]] = {}
    for row in rows["PostTag"]:
        tags.setdefault(row.post_id, set()).add(row.tag)
    for post in posts:
        assert post.like_count == likes[post.id] and post.photo_count == photos[post.id]
        assert set(extract_tags(post.caption)) == tags.get(post.id, set())
        # The id carries the post's time, so keyset order is time order.
        assert abs(id_time_ms(post.id) - post.created_at.timestamp() * 1000) < 2
    assert all(f.follower_id != f.followee_id for f in follows)
    assert sum(likes.values()) > 0 and any("#" in p.caption for p in posts)
    assert any("@" in p.caption for p in posts)

    # Skewed: a few accounts have far more followers than the typical one.
    counts = sorted(followers[u.id] for u in users)
    assert counts[-1] >= 2 * max(statistics.median(counts), 1)
    # Posts spread over the past year.
    days = (max(p.created_at for p in posts) - min(p.created_at for p in posts)).days
    assert days > 200

    # A private account's likes come only from its followers.
    private = {u.id for u in users if u.is_private}
    follower_sets = {}
    for f in follows:
        follower_sets.setdefault(f.followee_id, set()).add(f.follower_id)
    author_of = {p.id: p.author_id for p in posts}
    for like in rows["Like"]:
        if author_of[like.post_id] in private:
            assert like.user_id in follower_sets.get(author_of[like.post_id], set())

    # A few generated images, processed once, shared by every post; every file exists.
    keys = {r.key for r in rows["Rendition"]}
    assert 4 <= len({p.blurhash for p in rows["Photo"]}) <= 30
    storage = LocalStorage(data_dir / "media", secret=b"test media secret")
    assert all(asyncio.run(storage.exists(key)) for key in keys)
    assert {r.photo_id for r in rows["Rendition"]} == {p.id for p in rows["Photo"]}

    # Everyone can sign in with the printed password.
    argon2.PasswordHasher().verify(users[0].password_hash, DEFAULT_PASSWORD)

    # A second run refuses rather than mixing with real accounts.
    again = run_seed(data_dir, database_url)
    assert again.returncode == 2 and "already has accounts" in again.stderr


def test_id_at_carries_the_time_and_stays_distinct():
    ms = 1_760_000_000_000
    ids = [id_at(ms, n) for n in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(id_time_ms(i) == ms for i in ids)
    assert id_at(ms + 1, 0) > max(ids)


async def test_seeded_people_are_valid_to_follow_like_and_mention(site):
    """A clock a few months past the id epoch: two years of history would start before it, and
    every account dated there got a negative id that the live channels refuse (a 500 on
    follow, like, comment and mention). Seeded history starts at the epoch instead."""
    now_ms = EPOCH_MS + 200 * DAY_MS
    plan = SeedPlan(users=12, posts=30, follows=4, now_ms=now_ms, images=4)
    await seed(site.ctx.db, site.ctx.storage, plan, hash_params=FAST_TEST_HASH_PARAMS)
    rows = await load_from(site.ctx.db)
    users, posts = rows["User"], rows["Post"]
    joined = {u.id: u.created_at for u in users}
    assert all(0 < u.id <= MAX_ID for u in users)
    assert all(0 < row.id <= MAX_ID for name in ("Post", "Photo", "Like") for row in rows[name])
    for post in posts:
        # Time-ordered: a post is younger than its author, and its id says when it was made.
        assert post.id > post.author_id and post.created_at > joined[post.author_id]
        assert id_time_ms(post.id) <= now_ms
    assert min(id_time_ms(u.id) for u in users) > EPOCH_MS

    visitor = await site.user_client("visitor")
    for user in users:
        r = await visitor.post(f"/@{user.username}/follow")
        assert r.status_code == 303, (user.username, r.status_code)
    for post in posts[:5]:
        author = next(u for u in users if u.id == post.author_id)
        if author.is_private:
            continue
        assert (await visitor.post(f"/p/{post.id}/like")).status_code == 303
        r = await visitor.post(f"/p/{post.id}/comments", {"body": f"hi @{author.username}"})
        assert r.status_code == 303


async def load_from(db) -> dict:
    async with db.read() as s:
        return {
            model.__name__: list((await s.execute(select(model))).scalars())
            for model in (User, Post, Photo, Like)
        }
