"""What people do with their accounts: sign up, sign in and out, edit, manage devices."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tornagram.accounts import throttle, tokens
from tornagram.accounts.models import ReservedUsername, Session, TokenPurpose, User
from tornagram.accounts.passwords import PasswordHasher
from tornagram.accounts.sessions import DatabaseSessions, SessionRecord, SessionStore
from tornagram.accounts.validation import (
    check_bio,
    check_display_name,
    check_email,
    check_language,
    check_password,
    check_username,
    normalize_username,
)
from tornagram.cache import VISIBILITY, Store, sessions_topic, user_topic
from tornagram.db.base import utcnow
from tornagram.db.engine import Database, after_commit, changed
from tornagram.db.ids import IdGenerator
from tornagram.errors import InvalidInput, NotFound, UserError

log = logging.getLogger(__name__)

# Writing last_seen on every request would turn every page view into a write.
SESSION_TOUCH_INTERVAL = timedelta(minutes=5)
USER_AGENT_MAX_CHARS = 300
WRONG_LOGIN_MESSAGE = "That username, email or password is not right."
# Every page a member opens starts by finding their session; see tornagram/cache/.
SESSION_CACHE_ENTRIES = 5_000
SESSION_CACHE_MAX_AGE_SECS = 60


async def user_named(session, username: str) -> User:
    """The account a name (typed in any case) belongs to, or NotFound."""
    user = (
        await session.execute(select(User).where(User.username == normalize_username(username)))
    ).scalar_one_or_none()
    if user is None:
        raise NotFound("No one here goes by that name.")
    return user


def sign_up_errors(username: str, email: str, password: str) -> dict[str, UserError]:
    """What is wrong with a sign-up's fields, by field, before anything is looked up."""
    errors: dict[str, UserError] = {}
    for field, check in (
        ("username", lambda: check_username(username)),
        ("email", lambda: check_email(email)),
        ("password", lambda: check_password(password)),
    ):
        try:
            check()
        except UserError as exc:
            errors[field] = exc
    return errors


@dataclass(frozen=True, slots=True)
class SignedIn:
    user: User
    session: Session | SessionRecord


_BY_NAME = select(User).where(User.username == bindparam("name"))
# What ``signed_in_with`` answers for a read it did not make.
NOT_READ = object()
_SIGNED_IN = (
    select(Session, User)
    .join(User, User.id == Session.user_id)
    .where(Session.token_hash == bindparam("digest"), Session.expires_at > bindparam("now"))
)


def _read_signed_in(session, digest: str, now, also):
    """One read (sync, see Database.run_read): the session row with its user, then ``also``."""
    row = session.execute(_SIGNED_IN, {"digest": digest, "now": now}).one_or_none()
    if row is None:
        return None, NOT_READ
    return tuple(row), (also(session, row[1]) if also is not None else NOT_READ)


@dataclass(frozen=True, slots=True)
class NewSession:
    user: User
    token: str


@dataclass(frozen=True, slots=True)
class NeedsCode:
    """A right password for an account with two-factor sign-in: no session yet, only the
    token of the second step (accounts/twofactor.py), which a code turns into one."""

    user: User
    token: str


# The second step of a sign-in must follow the first promptly.
SIGN_IN_STEP_VALID_FOR = timedelta(minutes=5)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountsService:
    def __init__(
        self,
        db: Database,
        ids: IdGenerator,
        hasher: PasswordHasher,
        *,
        session_max_age_days: int = 30,
        avatars=None,
        sessions: SessionStore | None = None,
    ) -> None:
        self.db = db
        # Where sessions live: the database, or Redis (accounts/sessions.py).
        self.sessions: SessionStore = sessions or DatabaseSessions(db)
        self.ids = ids
        self.hasher = hasher
        self.session_max_age = timedelta(days=session_max_age_days)
        # Turns an uploaded image into stored avatar keys; see tornagram.photos.avatars.
        self.avatars = avatars
        # ``(session, user_id)``, awaited inside the transaction that makes an account public:
        # the graph lets in everyone who asked to follow (GraphService.let_everyone_in).
        self.going_public: Callable[[AsyncSession, int], Awaitable[object]] | None = None
        # Told (after commit) of every session that ends, so each process closes the live
        # sockets and long polls opened with it: a LiveControl (tornagram/realtime/control.py).
        self.live = None
        # Run with (session, user id) inside every transaction that ends all of a person's
        # sessions (``end_sessions_of``): whatever else signs in as the person (the app API's
        # tokens) ends with them.
        self.on_all_sessions_ended: list = []
        # token hash -> (Session, User), dropped when either changes anywhere.
        self._signed_in = Store(
            db.changes,
            "sessions",
            max_entries=SESSION_CACHE_ENTRIES,
            max_age_secs=SESSION_CACHE_MAX_AGE_SECS,
        )

    # -- signing up and in ---------------------------------------------------------------

    async def sign_up(
        self,
        username: str,
        email: str,
        password: str,
        *,
        ip: str = "",
        user_agent: str = "",
        pending: bool = False,
        answer: str = "",
        also=None,
    ) -> NewSession:
        """``pending``: the account waits for a moderator's approval, with ``answer`` to the
        site's question. ``also(session)`` is awaited in the transaction that makes the
        account (an invite's use): if it raises, there is no account."""
        errors = sign_up_errors(username, email, password)
        if errors:
            raise InvalidInput(errors)
        name = check_username(username)
        email_text, email_key = check_email(email)
        await self._ensure_available(name, email_key)
        password_hash = await self.hasher.hash(password)
        user = User(
            id=self.ids.next_id(),
            username=name,
            email=email_text,
            email_key=email_key,
            password_hash=password_hash,
            approval_pending_since=utcnow() if pending else None,
            signup_answer=answer,
        )
        try:
            async with self.db.write() as session:
                session.add(user)
                await session.flush()
                if also is not None:
                    await also(session)
                token = await self._new_session(session, user, ip, user_agent)
        except IntegrityError:
            # Lost a race with someone taking the same name between the check and the insert.
            await self._ensure_available(name, email_key)
            raise
        log.info("user signed up: %s (%s)", user.username, user.id)
        return NewSession(user, token)

    async def _ensure_available(self, username: str, email_key: str) -> None:
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(User.username, User.email_key).where(
                        or_(User.username == username, User.email_key == email_key)
                    )
                )
            ).all()
            # The name of an account deleted lately is kept from newcomers (leaving/deletion.py).
            reserved = await session.scalar(
                select(ReservedUsername.username).where(
                    ReservedUsername.username == username, ReservedUsername.until > utcnow()
                )
            )
        errors: dict[str, UserError] = {}
        if reserved:
            errors["username"] = UserError("That username is taken.", "username")
        for taken_name, taken_email in rows:
            if taken_name == username:
                errors["username"] = UserError("That username is taken.", "username")
            if taken_email == email_key:
                errors["email"] = UserError("An account with that email already exists.", "email")
        if errors:
            raise InvalidInput(errors)

    async def sign_in(
        self, login: str, password: str, *, ip: str = "", user_agent: str = ""
    ) -> NewSession | NeedsCode:
        """Raises TooManyRequests when throttled, InvalidInput when wrong. An unknown login and
        a wrong password get the same message and the same cost. With two-factor sign-in on,
        a right password gives NeedsCode: the failures counted so far stay until the code is
        right too, so a known password cannot be used to reset the count of guessed codes."""
        typed = (login or "").strip().lower()
        if not typed or not password:
            raise InvalidInput(
                UserError("Enter your username or email and your password.", "login")
            )
        if len(password) > 1024:
            raise InvalidInput(UserError(WRONG_LOGIN_MESSAGE, "login"))
        async with self.db.read() as session:
            user = (
                await session.execute(
                    select(User).where(
                        or_(
                            User.username == normalize_username(typed),
                            User.email_key == typed,
                        )
                    )
                )
            ).scalar_one_or_none()
            # The limit is the account's, however it was spelled (@alice, alice, her email);
            # for no account, the spelling the lookup itself would have used.
            account_key = throttle.account_key(user.id if user else None, typed)
            await throttle.check_login_allowed(session, account_key, ip)
        if user is None:
            await self.hasher.dummy_verify(password)
            ok, needs_rehash = False, False
        else:
            ok, needs_rehash = await self.hasher.verify(user.password_hash, password)
        if not ok:
            async with self.db.write() as session:
                await throttle.record_failure(session, self.ids, account_key, ip)
            raise InvalidInput(UserError(WRONG_LOGIN_MESSAGE, "login"))
        new_hash = await self.hasher.hash(password) if needs_rehash else None
        async with self.db.write() as session:
            if not user.two_factor_enabled:
                await throttle.clear_account_failures(session, account_key)
            if new_hash:
                await session.execute(
                    update(User).where(User.id == user.id).values(password_hash=new_hash)
                )
                user.password_hash = new_hash
            if user.two_factor_enabled:
                step = tokens.issue(
                    session,
                    self.ids,
                    user.id,
                    TokenPurpose.SIGN_IN,
                    SIGN_IN_STEP_VALID_FOR,
                    binding=tokens.password_stamp(user.password_hash),
                )
                return NeedsCode(user, step)
            token = await self._new_session(session, user, ip, user_agent)
        return NewSession(user, token)

    async def new_session(
        self, session, user: User, ip: str, user_agent: str, *, two_factor: bool = False
    ) -> str:
        """For the other account services: a session made in their transaction."""
        return await self._new_session(session, user, ip, user_agent, two_factor=two_factor)

    async def _new_session(
        self, session, user: User, ip: str, user_agent: str, *, two_factor: bool = False
    ) -> str:
        # A fresh random token at every sign-in: a session id fixed before login is useless.
        token = secrets.token_urlsafe(32)
        now = utcnow()
        await self.sessions.add(
            session,
            SessionRecord(
                id=self.ids.next_id(),
                token_hash=token_hash(token),
                user_id=user.id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + self.session_max_age,
                user_agent=(user_agent or "")[:USER_AGENT_MAX_CHARS],
                ip=ip or "",
                two_factor=two_factor,
            ),
        )
        return token

    async def signed_in(self, token: str | None) -> SignedIn | None:
        """The user and session behind a cookie token, or None if it is unknown or expired."""
        return (await self.signed_in_with(token, None))[0]

    async def signed_in_with(
        self, token: str | None, also: Callable[[Any, User], Any] | None
    ) -> tuple[SignedIn | None, Any]:
        """``signed_in``, and ``also(session, user)`` run in the same database read when the
        session is read rather than cached (a page's badge): one read for both. The second
        value is ``also``'s answer, or NOT_READ when it did not run."""
        if not token:
            return None, NOT_READ
        now = utcnow()
        digest = token_hash(token)
        cached = self._signed_in.get(digest)
        extra = NOT_READ
        if cached is None:
            stamp = self._signed_in.changes.stamp()
            if isinstance(self.sessions, DatabaseSessions):
                # The session, its user and the page's badge in one read.
                row, extra = await self.db.run_read(_read_signed_in, digest, now, also)
            else:
                row = await self.sessions.find(digest, now)
            if row is None:
                return None, NOT_READ
            sess, user = row
            cached = SignedIn(user, sess)
            self._signed_in.put(
                digest, cached, stamp, (sessions_topic(user.id), user_topic(user.id))
            )
        sess = cached.session
        if sess.expires_at <= now:
            self._signed_in.discard(digest)
            return None, NOT_READ
        if now - sess.last_seen_at > SESSION_TOUCH_INTERVAL:
            await self.sessions.touch(sess, now)
            sess.last_seen_at = now
        return cached, extra

    async def sign_out(self, token: str | None) -> None:
        if not token:
            return
        async with self.db.write() as session:
            await self._end_sessions(session, token_hash=token_hash(token))

    async def _end_sessions(self, session, **which) -> int:
        """End the sessions ``which`` names (see SessionStore.end) in the caller's write
        transaction; after commit, every process drops them and closes their live sockets."""
        ended = await self.sessions.end(session, **which)
        by_user: dict[int, list[int]] = {}
        for row in ended:
            by_user.setdefault(row.user_id, []).append(row.session_id)
        for user_id, session_ids in by_user.items():
            # The rows written name this topic for the database store; Redis writes do not.
            changed(session, sessions_topic(user_id))
            if self.live is not None:

                async def announce(user_id=user_id, session_ids=session_ids) -> None:
                    await self.live.session_ended(user_id, session_ids)

                after_commit(session, announce)
        return len(ended)

    async def end_sessions_of(self, session, user_id: int) -> int:
        """Within the caller's write transaction: every session of ``user_id`` ends, and after
        the commit its live connections close (a reset, a suspension, a deletion, a required
        new password), and whatever else signs in as the person (``on_all_sessions_ended``)."""
        ended = await self._end_sessions(session, user_id=user_id)
        for callback in self.on_all_sessions_ended:
            await callback(session, user_id)
        return ended

    async def mark_two_factor(self, session, user_id: int, session_id: int) -> None:
        """The person at this session has just shown a second factor (accounts/twofactor.py)."""
        await self.sessions.mark_two_factor(session, user_id, session_id)
        changed(session, sessions_topic(user_id))

    # -- devices --------------------------------------------------------------------------

    async def sessions_of(self, user: User) -> list:
        return await self.sessions.of_user(user.id, utcnow())

    async def revoke_session(self, user: User, session_id: int) -> None:
        async with self.db.write() as session:
            ended = await self._end_sessions(session, user_id=user.id, session_id=session_id)
        if ended == 0:
            raise NotFound("That session has already ended.")

    async def revoke_other_sessions(self, user: User, keep_session_id: int) -> int:
        async with self.db.write() as session:
            return await self._end_sessions(
                session, user_id=user.id, keep_session_id=keep_session_id
            )

    # -- profile and password --------------------------------------------------------------

    async def change_password(
        self,
        user: User,
        current: str,
        new: str,
        *,
        ip: str = "",
        user_agent: str = "",
        two_factor: bool = False,
    ) -> str:
        """Every existing session ends, this device included; returns the token of its new one."""
        if len(current or "") > 1024:
            raise InvalidInput(UserError("Your current password is not right.", "current_password"))
        check_password(new, "new_password")
        ok, _ = await self.hasher.verify(user.password_hash, current or "")
        if not ok:
            raise InvalidInput(UserError("Your current password is not right.", "current_password"))
        new_hash = await self.hasher.hash(new)
        async with self.db.write() as session:
            # A new password answers a moderator's request for one.
            await session.execute(
                update(User)
                .where(User.id == user.id)
                .values(password_hash=new_hash, password_reset_required=False)
            )
            await self.end_sessions_of(session, user.id)
            token = await self._new_session(session, user, ip, user_agent, two_factor=two_factor)
        user.password_hash = new_hash
        user.password_reset_required = False
        return token

    async def update_profile(
        self,
        user: User,
        *,
        display_name: str,
        bio: str,
        locale: str,
        is_private: bool | None = None,
        avatar: bytes | None = None,
        remove_avatar: bool = False,
    ) -> User:
        errors: dict[str, UserError] = {}
        values = {}
        for field, check, raw in (
            ("display_name", check_display_name, display_name),
            ("bio", check_bio, bio),
            ("locale", check_language, locale),
        ):
            try:
                values[field] = check(raw)
            except UserError as exc:
                errors[field] = exc
        if errors:
            raise InvalidInput(errors)
        if is_private is not None:
            values["is_private"] = is_private
        old_keys: list[str] = []
        new_files = []
        if avatar:
            if self.avatars is None:
                raise InvalidInput(
                    UserError("Avatars cannot be uploaded on this server.", "avatar")
                )
            # Raises InvalidInput with the reason when the image is refused; stores nothing then.
            new_files = await self.avatars.store(self.db, avatar)
            values["avatar_key"], values["avatar_small_key"] = (f.key for f in new_files)
            old_keys = [k for k in (user.avatar_key, user.avatar_small_key) if k]
        elif remove_avatar:
            values["avatar_key"] = values["avatar_small_key"] = None
            old_keys = [k for k in (user.avatar_key, user.avatar_small_key) if k]
        async with self.db.write() as session:
            if new_files:
                await self.avatars.keep(session, new_files)
            await session.execute(update(User).where(User.id == user.id).values(**values))
            if "is_private" in values and values["is_private"] != user.is_private:
                # Who may see this person's posts changed: every cached answer that filtered
                # by the visibility rule is suspect.
                changed(session, VISIBILITY)
                if not values["is_private"] and self.going_public is not None:
                    await self.going_public(session, user.id)
                if values["is_private"] and self.live is not None:
                    # Live viewers of their posts who are not followers lose them now.
                    live, author_id = self.live, user.id
                    after_commit(session, lambda: live.access_changed(author_id=author_id))
            if old_keys and self.avatars is not None:
                # In this transaction, after the update: the check sees the avatar gone and
                # every other reference (a photo with the same bytes keeps its file).
                await self.avatars.release(session, old_keys)
        for key, value in values.items():
            setattr(user, key, value)
        return user

    # -- lookups -----------------------------------------------------------------------------

    async def by_username(self, username: str) -> User:
        user = await self.db.run_read(
            lambda session: session.execute(
                _BY_NAME, {"name": normalize_username(username)}
            ).scalar_one_or_none()
        )
        if user is None:
            raise NotFound("No one here goes by that name.")
        return user

    @staticmethod
    async def named(session, username: str) -> User:
        """``user_named`` within the caller's session."""
        return await user_named(session, username)

    async def create_user(self, username: str, email: str, password: str) -> User:
        """For the command line: an account with no session."""
        created = await self.sign_up(username, email, password)
        await self.sign_out(created.token)
        return created.user
