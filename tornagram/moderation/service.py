"""What moderators do to accounts: suspend and restore them, ask for a new password, delete
them, give roles; the lists of the admin pages; every action into the audit log. Reports and
the queue are ``Reporting`` (reports.py), a part of this service.

A suspension is one column, ``users.suspended_at``, read by the one visibility rule
(``graph/visibility.py``): the account's posts, comments, likes and profile vanish for everyone
else at once. Its sessions end (and with them its live connections, through LiveControl); it
may sign in again, and then sees only the notice (``web/base.py`` keeps it there).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update

from tornagram.accounts.models import User
from tornagram.cache import VISIBILITY
from tornagram.db.base import utcnow
from tornagram.db.engine import Database, after_commit, changed
from tornagram.db.ids import IdGenerator
from tornagram.errors import Conflict, Forbidden, InvalidInput, NotFound, UserError
from tornagram.interactions.counts import recount_touched_by
from tornagram.moderation.audit import clean_note, record
from tornagram.moderation.models import AuditEntry, Report, ReportStatus, Role, is_admin, rank
from tornagram.moderation.reports import PAGE_SIZE, Reporting

log = logging.getLogger(__name__)


@dataclass(slots=True)
class UserRow:
    user: User
    open_reports: int
    last_seen_at: datetime | None


class ModerationService(Reporting):
    def __init__(
        self,
        db: Database,
        ids: IdGenerator,
        *,
        accounts,
        photos,
        interactions,
        notifications,
        limiter,
        deletion,
    ) -> None:
        self.db = db
        self.ids = ids
        self.accounts = accounts
        self.photos = photos
        self.interactions = interactions
        self.notifications = notifications
        self.limiter = limiter
        # Deleting an account is one thing wherever it is asked for (leaving/deletion.py).
        self.deletion = deletion
        # A LiveControl: viewers of a suspended account's posts lose them at once.
        self.live = None
    # -- acting on accounts -------------------------------------------------------------------

    @staticmethod
    def _may_act_on(moderator: User, subject: User) -> None:
        if subject.id == moderator.id:
            raise Forbidden("You can't do this to your own account.")
        if rank(subject.role) >= rank(moderator.role) and not is_admin(moderator):
            raise Forbidden("Only an admin can act on another moderator's account.")

    async def user(self, user_id: int) -> User:
        async with self.db.read() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise NotFound("No one here goes by that name.")
        return user

    async def suspend(
        self, moderator: User, user: User, note: str, *, report_id: int | None = None
    ) -> None:
        self._may_act_on(moderator, user)
        note = clean_note(note)
        async with self.db.write() as session:
            result = await session.execute(
                update(User)
                .where(User.id == user.id, User.suspended_at.is_(None))
                .values(suspended_at=utcnow())
            )
            if not result.rowcount:
                raise Conflict("This account is already suspended.")
            # What everyone may see changed (the visibility rule reads the column).
            changed(session, VISIBILITY)
            # Their likes and comments leave other people's counts.
            await recount_touched_by(session, user.id)
            await self.accounts.end_sessions_of(session, user.id)  # app tokens too
            self._audit(session, moderator, "user.suspend", user, note, report_id=report_id)
            if self.live is not None:
                live, author_id = self.live, user.id
                after_commit(session, lambda: live.access_changed(author_id=author_id))
        user.suspended_at = utcnow()
        log.info("@%s suspended by @%s", user.username, moderator.username)

    async def unsuspend(self, moderator: User, user: User, note: str) -> None:
        self._may_act_on(moderator, user)
        note = clean_note(note)
        async with self.db.write() as session:
            result = await session.execute(
                update(User)
                .where(User.id == user.id, User.suspended_at.is_not(None))
                .values(suspended_at=None)
            )
            if not result.rowcount:
                raise Conflict("This account is not suspended.")
            changed(session, VISIBILITY)
            await recount_touched_by(session, user.id)
            self._audit(session, moderator, "user.unsuspend", user, note)
        user.suspended_at = None

    async def require_password_reset(self, moderator: User, user: User, note: str) -> None:
        """Every session ends; at the next sign-in the person must choose a new password."""
        self._may_act_on(moderator, user)
        note = clean_note(note)
        async with self.db.write() as session:
            await session.execute(
                update(User).where(User.id == user.id).values(password_reset_required=True)
            )
            await self.accounts.end_sessions_of(session, user.id)  # app tokens too
            self._audit(session, moderator, "user.password_reset", user, note)

    async def delete_account(self, admin: User, user: User, note: str) -> None:
        """Admins only. The same deletion a person asks for themselves (leaving/deletion.py:
        rows, counts, files, live channels, the reserved name), with the audit entry in its
        transaction."""
        if not is_admin(admin):
            raise Forbidden("Only an admin can delete an account.")
        self._may_act_on(admin, user)
        note = clean_note(note)
        await self.deletion.remove(
            user, also=lambda session: self._audit(session, admin, "user.delete", user, note)
        )
        log.info("@%s deleted by @%s", user.username, admin.username)

    async def set_role(self, username: str, role: str, *, by: User | None = None) -> User:
        """From the command line (``by`` None) or an admin."""
        if role not in set(Role):
            raise InvalidInput(UserError("A role is member, moderator or admin.", "role"))
        if by is not None and not is_admin(by):
            raise Forbidden("Only an admin can change roles.")
        async with self.db.write() as session:
            user = await self.accounts.named(session, username)
            if user.role != role:
                user.role = role
                self._audit(session, by, f"user.role.{role}", user, "")
        return user

    # -- lists for the admin pages -----------------------------------------------------------

    async def users(
        self, query: str = "", before: int | None = None
    ) -> tuple[list[UserRow], int | None]:
        text = (query or "").strip().lstrip("@").lower()
        open_reports = (
            select(func.count())
            .where(Report.subject_id == User.id, Report.status == ReportStatus.OPEN)
            .scalar_subquery()
        )
        stmt = select(User, open_reports).order_by(User.id.desc()).limit(PAGE_SIZE + 1)
        if text:
            like = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(
                or_(User.username.like(like, escape="\\"), User.email_key.like(like, escape="\\"))
            )
        if before is not None:
            stmt = stmt.where(User.id < before)
        async with self.db.read() as session:
            found = list(await session.execute(stmt))
        more = len(found) > PAGE_SIZE
        found = found[:PAGE_SIZE]
        # From the session store, which may be Redis rather than a table to join.
        seen = await self.accounts.sessions.last_seen([u.id for u, _ in found])
        rows = [UserRow(u, n or 0, seen.get(u.id)) for u, n in found]
        return rows, (rows[-1].user.id if more else None)

    async def staff(self) -> list[User]:
        async with self.db.read() as session:
            return list(
                (
                    await session.execute(
                        select(User)
                        .where(
                            User.role.in_([Role.ADMIN, Role.MODERATOR]), User.suspended_at.is_(None)
                        )
                        .order_by(User.username)
                    )
                ).scalars()
            )

    async def log(self, before: int | None = None) -> tuple[list[AuditEntry], int | None]:
        stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE_SIZE + 1)
        if before is not None:
            stmt = stmt.where(AuditEntry.id < before)
        async with self.db.read() as session:
            entries = list((await session.execute(stmt)).scalars())
        more = len(entries) > PAGE_SIZE
        entries = entries[:PAGE_SIZE]
        return entries, (entries[-1].id if more else None)
    # -- the audit log ------------------------------------------------------------------------

    def _audit(
        self, session, actor: User | None, action: str, subject: User | None, note: str,
        *, report_id: int | None = None,
    ) -> None:  # fmt: skip
        record(session, self.ids, actor, action, subject, note, report_id=report_id)
