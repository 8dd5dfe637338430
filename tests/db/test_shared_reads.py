"""A page's reads share one database session (Database.share_reads), and never at the price of
reading older data than a session of their own would."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, inspect, select

from tornagram.accounts.models import User
from tornagram.db import engine
from tornagram.db.engine import Database


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


async def users(db: Database) -> int:
    async with db.read() as session:
        return await session.scalar(select(func.count()).select_from(User))


async def in_another_request(coro):
    """Run ``coro`` as another request would: a task of its own, with nothing shared."""

    async def alone():
        engine._SHARED_READS.set(None)  # a task copies its parent's context: start clean
        return await coro

    return await asyncio.create_task(alone())


async def test_reads_share_one_session_and_hand_back_detached_rows(db):
    async with db.write() as session:
        session.add(person(1))
    shared = db.share_reads()
    try:
        async with db.read() as first:
            user = await first.get(User, 1)
        async with db.read() as second:
            assert second is first
            # A read inside another cannot run on the same session at the same time.
            async with db.read() as nested:
                assert nested is not second
        # As with a session of its own, what was read is detached and fully loaded.
        assert inspect(user).detached and user.username == "u1"
    finally:
        await shared.close()


async def test_a_change_committed_elsewhere_is_seen_by_the_next_read(db):
    async with db.write() as session:
        session.add(person(1))
    shared = db.share_reads()
    try:
        assert await users(db) == 1

        async def other_request_writes():
            async with db.write() as session:
                session.add(person(2))

        await in_another_request(other_request_writes())
        # The write's topics moved the change stamp: the old snapshot is not reused.
        assert await users(db) == 2
    finally:
        await shared.close()


async def test_reads_after_the_request_writes_see_its_write(db):
    shared = db.share_reads()
    try:
        assert await users(db) == 0
        async with db.write() as session:
            session.add(person(3))
        assert await users(db) == 1
    finally:
        await shared.close()


async def test_a_write_gives_the_shared_connection_back_before_taking_its_own(db):
    # Otherwise a pool full of requests, each holding one connection and waiting for a second
    # to write with, would wait for good.
    shared = db.share_reads()
    try:
        await users(db)
        assert shared.session is not None
        async with db.write() as session:
            assert shared.session is None
            session.add(person(4))
    finally:
        await shared.close()
