"""Where signed-in sessions live: the database (the default) or Redis (``--session-store redis``).

``AccountsService`` asks a ``SessionStore`` for everything it does with sessions, so the rules
(a fresh token at each sign-in, only its SHA-256 stored, revocation, a new password or a
suspension ending every session) are written once, in accounts/service.py. A store works inside
the caller's write transaction ``tx`` where it has one to offer:

* ``DatabaseSessions`` writes the ``sessions`` table in ``tx``: a session and the account it
  belongs to commit or roll back together.
* ``RedisSessions`` (accounts/redis_sessions.py) writes Redis at once, before ``tx`` commits.
  A session written for a transaction that then rolls back has a token nobody was given; an
  end written for one that rolls back has still ended, which errs on the side of signing out.

Either way, after commit every process drops the sessions it had cached (the ``sessions``
topic), and the live sockets opened with them close (``AccountsService.live``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, func, select, update

from tornagram.accounts.models import Session, User
from tornagram.db.engine import Database


@dataclass(slots=True)
class SessionRecord:
    """A session as the Redis store keeps it: the same fields as the ``sessions`` table."""

    id: int
    token_hash: str
    user_id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    user_agent: str = ""
    ip: str = ""
    two_factor: bool = False


@dataclass(frozen=True, slots=True)
class Ended:
    session_id: int
    user_id: int


class SessionStore(Protocol):
    async def add(self, tx, record: SessionRecord) -> None: ...

    async def find(self, token_hash: str, now: datetime):
        """``(session, user)`` for a live session, else None."""

    async def touch(self, session, now: datetime) -> None: ...

    async def end(
        self,
        tx,
        *,
        user_id: int | None = None,
        session_id: int | None = None,
        token_hash: str | None = None,
        keep_session_id: int | None = None,
    ) -> list[Ended]:
        """End the sessions matching every filter given: the token's, the session ``session_id``
        of ``user_id``, or every session of ``user_id`` but ``keep_session_id``."""

    async def of_user(self, user_id: int, now: datetime) -> list:
        """The user's live sessions, the most recently seen first."""

    async def mark_two_factor(self, tx, user_id: int, session_id: int) -> None: ...

    async def last_seen(self, user_ids: list[int]) -> dict[int, datetime]: ...

    async def close(self) -> None: ...


class DatabaseSessions:
    """Sessions as rows of the ``sessions`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, tx, record: SessionRecord) -> None:
        tx.add(
            Session(
                id=record.id,
                token_hash=record.token_hash,
                user_id=record.user_id,
                created_at=record.created_at,
                last_seen_at=record.last_seen_at,
                expires_at=record.expires_at,
                user_agent=record.user_agent,
                ip=record.ip,
                two_factor=record.two_factor,
            )
        )

    async def find(self, token_hash: str, now: datetime):
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(Session, User)
                    .join(User, User.id == Session.user_id)
                    .where(Session.token_hash == token_hash, Session.expires_at > now)
                )
            ).one_or_none()
        return None if row is None else (row[0], row[1])

    async def touch(self, session, now: datetime) -> None:
        async with self.db.write() as tx:
            await tx.execute(
                update(Session).where(Session.id == session.id).values(last_seen_at=now)
            )

    async def end(
        self,
        tx,
        *,
        user_id: int | None = None,
        session_id: int | None = None,
        token_hash: str | None = None,
        keep_session_id: int | None = None,
    ) -> list[Ended]:
        conditions = []
        if user_id is not None:
            conditions.append(Session.user_id == user_id)
        if session_id is not None:
            conditions.append(Session.id == session_id)
        if token_hash is not None:
            conditions.append(Session.token_hash == token_hash)
        if keep_session_id is not None:
            conditions.append(Session.id != keep_session_id)
        if not conditions:
            raise ValueError("ending sessions needs a filter")
        rows = (await tx.execute(select(Session.id, Session.user_id).where(*conditions))).all()
        if rows:
            await tx.execute(delete(Session).where(Session.id.in_([r.id for r in rows])))
        return [Ended(r.id, r.user_id) for r in rows]

    async def of_user(self, user_id: int, now: datetime) -> list:
        async with self.db.read() as session:
            result = await session.execute(
                select(Session)
                .where(Session.user_id == user_id, Session.expires_at > now)
                .order_by(Session.last_seen_at.desc())
            )
            return list(result.scalars())

    async def mark_two_factor(self, tx, user_id: int, session_id: int) -> None:
        await tx.execute(
            update(Session)
            .where(Session.id == session_id, Session.user_id == user_id)
            .values(two_factor=True)
        )

    async def last_seen(self, user_ids: list[int]) -> dict[int, datetime]:
        if not user_ids:
            return {}
        async with self.db.read() as session:
            rows = await session.execute(
                select(Session.user_id, func.max(Session.last_seen_at))
                .where(Session.user_id.in_(user_ids))
                .group_by(Session.user_id)
            )
            return {uid: seen for uid, seen in rows if seen is not None}

    async def close(self) -> None:
        return None
