"""Writes name their cache topics from the rows they touch (tornagram/db/topics.py), with no
``changed()`` call for anyone to forget."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from sqlalchemy import delete, insert, update

from tornagram.accounts.models import Session, User
from tornagram.cache import (
    POSTS,
    LocalChanges,
    post_topic,
    posts_by_topic,
    sessions_topic,
    user_topic,
)
from tornagram.db.base import utcnow
from tornagram.db.engine import Database
from tornagram.db.models import metadata
from tornagram.db.topics import TOPICS
from tornagram.photos.models import Post


class Recording(LocalChanges):
    def __init__(self) -> None:
        super().__init__()
        self.heard: list[set[str]] = []

    async def changed(self, topics: Iterable[str]) -> None:
        self.heard.append(set(topics))
        await super().changed(topics)


def test_every_table_says_what_its_rows_change():
    assert set(TOPICS) == {table.name for table in metadata.sorted_tables}


@pytest.fixture
async def db(settings):
    database = Database(settings.database_url, changes=Recording())
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


async def test_rows_written_name_their_topics(db):
    heard = db.changes.heard
    async with db.write() as session:
        session.add(person(1))  # through the ORM
    assert heard.pop() == {user_topic(1)}

    async with db.write() as session:  # an insert statement
        await session.execute(
            insert(Post).values(id=10, author_id=1, caption="", created_at=utcnow())
        )
    assert heard.pop() == {post_topic(10), posts_by_topic(1), POSTS}

    async with db.write() as session:  # an update: the rows its WHERE matches
        await session.execute(update(Post).where(Post.author_id == 1).values(caption="new"))
    assert heard.pop() == {post_topic(10), posts_by_topic(1), POSTS}

    async with db.write() as session:
        user = await session.get(User, 1)
        user.bio = "changed through the ORM"
    assert heard.pop() == {user_topic(1)}

    async with db.write() as session:
        session.add(Session(id=5, user_id=1, token_hash="t", expires_at=utcnow()))
    assert heard.pop() == {sessions_topic(1)}
    async with db.write() as session:  # seen-at bookkeeping changes nothing cached
        await session.execute(update(Session).values(last_seen_at=utcnow()))
    assert heard == []

    async with db.write() as session:
        await session.execute(delete(Session).where(Session.user_id == 1))
    assert heard.pop() == {sessions_topic(1)}
    async with db.write() as session:  # nothing matched, nothing changed
        await session.execute(delete(Session).where(Session.user_id == 1))
    assert heard == []


async def test_a_rolled_back_write_says_nothing(db):
    with pytest.raises(RuntimeError):
        async with db.write() as session:
            session.add(person(2))
            await session.flush()
            raise RuntimeError("changed its mind")
    assert db.changes.heard == []
