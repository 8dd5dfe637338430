"""When the machine, not the request, fails: a busy or locked database, a full disk. Never a
bare 500: 503 or 507 with Retry-After, a page that says what happened, nothing half-saved."""

from __future__ import annotations

import asyncio
import errno
import sqlite3

import pytest
from sqlalchemy import text

from tests.helpers import fixture_bytes, post_id_from, upload
from tornagram.db import engine

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def short_busy_timeout(monkeypatch):
    # Writers that contend for SQLite's lock give up after 20 ms instead of 5 s: any contention
    # left in the process shows up as a refusal at once. Must be set before the site connects.
    monkeypatch.setattr(engine, "SQLITE_BUSY_TIMEOUT_MS", 20)


@sqlite_only
async def test_two_hundred_concurrent_writers_on_sqlite_all_succeed(short_busy_timeout, site):
    owner = await site.user_client("odile")
    posts = []
    for name in ("a.jpg", "b.jpg"):
        r = await upload(owner, [(name, fixture_bytes("camera-gps.jpg"))])
        posts.append(post_id_from(r))
    people = [await site.user_client(f"fan{i:02d}") for i in range(20)]
    tokens = [await person.xsrf() for person in people]

    async def writes(person, token):
        requests = [person.post(f"/p/{pid}/like", {"_xsrf": token}) for pid in posts]
        requests += [
            person.post(f"/p/{posts[0]}/comments", {"_xsrf": token, "body": f"comment {n}"})
            for n in range(8)
        ]
        return await asyncio.gather(*requests)

    results = await asyncio.gather(*(writes(p, t) for p, t in zip(people, tokens, strict=True)))
    statuses = [r.status_code for batch in results for r in batch]
    assert len(statuses) == 200
    assert all(status == 303 for status in statuses), sorted(set(statuses))
    async with site.ctx.db.read() as session:
        comments = (await session.execute(text("SELECT count(*) FROM comments"))).scalar()
        likes = (await session.execute(text("SELECT count(*) FROM likes"))).scalar()
    assert (comments, likes) == (160, 40)


@sqlite_only
async def test_a_database_locked_by_another_process_answers_503_with_retry_after(
    short_busy_timeout, site
):
    owner = await site.user_client("lorna")
    r = await upload(owner, [("a.jpg", fixture_bytes("camera-gps.jpg"))])
    post_id = post_id_from(r)
    token = await owner.xsrf()
    other = sqlite3.connect(site.ctx.settings.data_dir / "tornagram.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        r = await owner.post(f"/p/{post_id}/comments", {"_xsrf": token, "body": "blocked"})
        assert r.status_code == 503
        assert int(r.headers["Retry-After"]) >= 1
        assert "could not save that just now" in r.text and "Nothing was saved" in r.text
        r = await owner.http.post(
            f"/p/{post_id}/like", data={"_xsrf": token}, headers={"Accept": "application/json"}
        )
        assert r.status_code == 503 and r.json()["error"]["status"] == 503
    finally:
        other.execute("ROLLBACK")
        other.close()
    r = await owner.post(f"/p/{post_id}/comments", {"_xsrf": token, "body": "later"})
    assert r.status_code == 303
    page = await owner.get(f"/p/{post_id}")
    assert "later" in page.text and "blocked" not in page.text


@sqlite_only
async def test_a_full_write_queue_refuses_with_503_not_an_endless_wait(site, monkeypatch):
    owner = await site.user_client("quinn")
    token = await owner.xsrf()
    monkeypatch.setattr(engine, "SQLITE_MAX_QUEUED_WRITES", 0)
    r = await owner.post("/settings/profile", {"_xsrf": token, "bio": "x"})
    assert r.status_code == 503 and "Retry-After" in r.headers


async def test_a_full_disk_answers_507_and_stores_nothing(site, monkeypatch):
    owner = await site.user_client("dora")

    async def disk_full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(site.ctx.storage, "put", disk_full)
    r = await upload(owner, [("a.jpg", fixture_bytes("camera-gps.jpg"))])
    assert r.status_code == 507
    assert int(r.headers["Retry-After"]) >= 1
    assert "run out of storage space" in r.text
    profile = await owner.get("/@dora")
    assert 'class="carousel-slide"' not in profile.text and "/p/" not in profile.text
    leftovers = list((site.ctx.settings.data_dir / "tmp").glob("*")) if (
        site.ctx.settings.data_dir / "tmp").exists() else []
    assert leftovers == []
