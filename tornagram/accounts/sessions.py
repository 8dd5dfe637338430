"""Sessions: made at sign-in, found behind a cookie (cached), ended one at a time or all of a
person's at once; ``SessionKeeping`` is a part of ``AccountsService`` (service.py)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update

from tornagram.accounts.models import Session, User
from tornagram.cache import sessions_topic, user_topic
from tornagram.db.base import utcnow
from tornagram.db.engine import after_commit
from tornagram.errors import NotFound

# Writing last_seen on every request would turn every page view into a write.
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)
USER_AGENT_MAX_CHARS = 300


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    session: Session


class SessionKeeping:
    """Needs ``db``, ``ids``, ``session_max_age``, ``live`` and the ``_signed_in`` store."""

    def new_session(
        self, session, user: User, ip: str, user_agent: str, *, two_factor: bool = False
    ) -> str:
        """For the other account services: a session made in their transaction."""
        return self._new_session(session, user, ip, user_agent, two_factor=two_factor)

    def _new_session(
        self, session, user: User, ip: str, user_agent: str, *, two_factor: bool = False
    ) -> str:
        # A fresh random token at every sign-in: a session id fixed before login is useless.
        token = secrets.token_urlsafe(32)
        now = utcnow()
        session.add(
            Session(
                id=self.ids.next_id(),
                token_hash=token_hash(token),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + self.session_max_age,
                user_agent=(user_agent or "")[:USER_AGENT_MAX_CHARS],
                ip=ip or "",
                two_factor=two_factor,
            )
        )
        return token

    async def signed_in(self, token: str | None) -> SignedIn | None:
        """The user and session behind a cookie token, or None if it is unknown or expired."""
        if not token:
            return None
        now = utcnow()
        digest = token_hash(token)
        cached = self._signed_in.get(digest)
        if cached is None:
            stamp = self._signed_in.changes.stamp()
            async with self.db.read() as session:
                row = (
                    await session.execute(
                        select(Session, User)
                        .join(User, User.id == Session.user_id)
                        .where(Session.token_hash == digest, Session.expires_at > now)
                    )
                ).one_or_none()
            if row is None:
                return None
            sess, user = row
            cached = SignedIn(user, sess)
            self._signed_in.put(
                digest, cached, stamp, (sessions_topic(user.id), user_topic(user.id))
            )
        sess = cached.session
        if sess.expires_at <= now:
            self._signed_in.discard(digest)
            return None
        if now - sess.last_seen_at > SESSION_TOUCH_INTERVAL:
            async with self.db.write() as session:
                await session.execute(
                    update(Session).where(Session.id == sess.id).values(last_seen_at=now)
                )
            sess.last_seen_at = now
        return cached

    async def sign_out(self, token: str | None) -> None:
        if not token:
            return
        async with self.db.write() as session:
            await self._end_sessions(session, Session.token_hash == token_hash(token))

    async def end_sessions(self, session, condition) -> int:
        """For the other account services (a reset, a deletion): in their transaction."""
        return await self._end_sessions(session, condition)

    async def _end_sessions(self, session, condition) -> int:
        """Delete the sessions matching ``condition``; after commit, announce them ended."""
        rows = (await session.execute(select(Session.id, Session.user_id).where(condition))).all()
        if not rows:
            return 0
        await session.execute(delete(Session).where(Session.id.in_([r.id for r in rows])))
        by_user: dict[int, list[int]] = {}
        for row in rows:
            by_user.setdefault(row.user_id, []).append(row.id)
        for user_id, session_ids in by_user.items():
            if self.live is not None:

                async def announce(user_id=user_id, session_ids=session_ids) -> None:
                    await self.live.session_ended(user_id, session_ids)

                after_commit(session, announce)
        return len(rows)

    async def end_sessions_of(self, session, user_id: int) -> int:
        """Within the caller's write transaction: every session of ``user_id`` ends, and after
        the commit its live connections close (a suspension, a required new password)."""
        return await self._end_sessions(session, Session.user_id == user_id)

    # -- devices --------------------------------------------------------------------------

    async def sessions_of(self, user: User) -> list[Session]:
        async with self.db.read() as session:
            result = await session.execute(
                select(Session)
                .where(Session.user_id == user.id, Session.expires_at > utcnow())
                .order_by(Session.last_seen_at.desc())
            )
            return list(result.scalars())

    async def revoke_session(self, user: User, session_id: int) -> None:
        async with self.db.write() as session:
            ended = await self._end_sessions(
                session, (Session.id == session_id) & (Session.user_id == user.id)
            )
        if ended == 0:
            raise NotFound("That session has already ended.")

    async def revoke_other_sessions(self, user: User, keep_session_id: int) -> int:
        async with self.db.write() as session:
            return await self._end_sessions(
                session, (Session.user_id == user.id) & (Session.id != keep_session_id)
            )
