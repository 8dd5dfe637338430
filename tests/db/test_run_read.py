"""Whole reads as one sync function (Database.run_read): detached rows, a reader thread on
SQLite that never writes and never holds up the event loop, and shapes built once."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from sqlalchemy import bindparam, func, inspect, select, text
from sqlalchemy.exc import OperationalError

from tornagram.accounts.models import User
from tornagram.db.engine import Database
from tornagram.db.shapes import VIEWER, shape


@pytest.fixture
async def db(settings):
    database = Database(settings.database_url)
    yield database
    await database.dispose()


def person(user_id: int) -> User:
    return User(
        id=user_id,
        username=f"u{user_id}",
        email=f"u{user_id}@example.org",
        email_key=f"u{user_id}@example.org",
        password_hash="x",
    )


async def test_a_read_returns_detached_loaded_rows_and_sees_every_commit(db):
    async with db.write() as session:
        session.add(person(1))

    def load(session, user_id):
        return session.get(User, user_id), session.scalar(select(func.count(User.id)))

    user, count = await db.run_read(load, 1)
    assert (user.username, count) == ("u1", 1)
    assert inspect(user).detached and user.email == "u1@example.org"
    # Reads in a page share a session; a write in between is still seen by the next read.
    shared = db.share_reads()
    try:
        await db.run_read(load, 1)
        async with db.write() as session:
            session.add(person(2))
        assert (await db.run_read(load, 2))[1] == 2
    finally:
        await shared.close()


async def test_an_error_in_a_read_reaches_the_caller_and_the_next_read_works(db):
    def fails(session):
        session.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(Exception, match="no_such_table"):
        await db.run_read(fails)
    assert await db.run_read(lambda session: session.scalar(select(1))) == 1


async def test_sqlite_reads_run_in_a_reader_thread_that_cannot_write(db):
    if not db.is_sqlite:
        pytest.skip("a server engine (PostgreSQL, MySQL) runs reads on the request's own session")
    loop_thread = threading.get_ident()
    ran_in = await db.run_read(lambda session: threading.get_ident())
    assert ran_in != loop_thread
    with pytest.raises(OperationalError, match=r"readonly|read-only|query_only|attempt to write"):
        await db.run_read(lambda session: session.execute(text("DELETE FROM users")))


async def test_a_read_never_waits_for_a_write_in_progress_nor_holds_up_the_loop(db):
    """A write holds SQLite's write lock; a read beside it answers at once (WAL), and the
    event loop keeps running while the read is in its thread."""
    if not db.is_sqlite:
        pytest.skip("a server engine's reads are its async driver's: nothing runs in a thread")
    async with db.write() as session:
        session.add(person(1))
    release = asyncio.Event()

    async def long_write():
        async with db.write() as session:
            session.add(person(2))
            await session.flush()
            await release.wait()

    writer = asyncio.create_task(long_write())
    await asyncio.sleep(0.05)
    started = time.monotonic()
    ticks = 0

    async def tick():
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    ticker = asyncio.create_task(tick())

    def slow_read(session):
        time.sleep(0.2)  # the reader thread is busy; the loop must not be
        return session.scalar(select(func.count(User.id)))

    count = await db.run_read(slow_read)
    ticker.cancel()
    release.set()
    await writer
    assert count == 1  # the write in progress is not seen
    assert ticks >= 20
    assert time.monotonic() - started < 2


async def test_a_shape_is_built_once_and_takes_its_values_as_parameters(db):
    async with db.write() as session:
        session.add_all([person(1), person(2)])
    built = []

    def build():
        built.append(1)
        return select(User.username).where(User.id == VIEWER, User.id != bindparam("other"))

    key = ("test-shape", object())  # this test's own, for each engine
    first = shape(key, build)
    assert shape(key, build) is first and built == [1]
    names = [
        await db.run_read(lambda s, v=v: s.scalar(first, {"viewer": v, "other": 0}))
        for v in (1, 2)
    ]
    assert names == ["u1", "u2"]
