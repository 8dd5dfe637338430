"""What moderators and the people who report do: file a report, work the queue, suspend and
restore accounts, ask for a new password, delete an account; every action into the audit log.

A report names a post, a comment or an account. The reporter is never shown to the person
reported (notices about a report come from the moderator who handled it). Resolving a report
resolves every open report of the same thing, and each reporter hears that it was handled.

A suspension is one column, ``users.suspended_at``, read by the one visibility rule
(``graph/visibility.py``): the account's posts, comments, likes and profile vanish for everyone
else at once. Its sessions end (and with them its live connections, through LiveControl); it
may sign in again, and then sees only the notice (``web/base.py`` keeps it there).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from tornagram.accounts.models import User
from tornagram.cache import VISIBILITY
from tornagram.db.base import utcnow
from tornagram.db.engine import Database, after_commit, changed
from tornagram.db.ids import IdGenerator
from tornagram.errors import Conflict, Forbidden, InvalidInput, NotFound, UserError
from tornagram.graph.models import Comment
from tornagram.moderation.models import (
    AuditEntry,
    Reason,
    Report,
    ReportStatus,
    Resolution,
    Role,
    TargetKind,
    is_admin,
    rank,
)
from tornagram.photos.models import Photo, Post

log = logging.getLogger(__name__)

NOTE_MAX_CHARS = 1000
PAGE_SIZE = 30
# Comments shown on each side of a reported one.
THREAD_CONTEXT = 5
REPORT_TOO_FAST_MESSAGE = "You are sending reports too quickly. Try again in %(secs)d seconds."


@dataclass(slots=True)
class ReportRow:
    report: Report
    reporter: User
    subject: User
    # Open reports of the same thing, this one included.
    same_target: int = 1


@dataclass(slots=True)
class ReportContext:
    """What a moderator sees when opening a report: the thing reported, in its place."""

    row: ReportRow
    post: Post | None = None  # the post itself, or the post a comment is on
    comment: Comment | None = None
    # The reported comment's neighbours on its post, oldest first.
    thread: list[tuple[Comment, User]] | None = None
    others: list[Report] | None = None  # other reports of the same thing

    @property
    def gone(self) -> bool:
        kind = self.row.report.kind
        return (kind == TargetKind.POST and self.post is None) or (
            kind == TargetKind.COMMENT and self.comment is None
        )


@dataclass(slots=True)
class UserRow:
    user: User
    open_reports: int
    last_seen_at: datetime | None


def clean_note(note: str, field: str = "note") -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX_CHARS:
        raise InvalidInput(
            UserError("Keep the note under %(max)d characters.", field, max=NOTE_MAX_CHARS)
        )
    return note


class ModerationService:
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

    # -- reporting --------------------------------------------------------------------------

    async def report(
        self, reporter: User, kind: str, target_id: int, reason: str, note: str = ""
    ) -> Report:
        """File a report, or update the reporter's earlier one of the same thing."""
        if kind not in set(TargetKind):
            raise InvalidInput(UserError("Choose what you are reporting.", "kind"))
        if reason not in set(Reason):
            raise InvalidInput(UserError("Choose a reason for the report.", "reason"))
        note = clean_note(note)
        subject_id = await self._subject_of(reporter, kind, target_id)
        if subject_id == reporter.id:
            raise InvalidInput(UserError("You can't report yourself.", "kind"))
        self.limiter.check("report", reporter.id, REPORT_TOO_FAST_MESSAGE)
        now = utcnow()
        for _attempt in range(2):
            try:
                async with self.db.write() as session:
                    report = (
                        await session.execute(
                            select(Report).where(
                                Report.reporter_id == reporter.id,
                                Report.kind == kind,
                                Report.target_id == target_id,
                            )
                        )
                    ).scalar_one_or_none()
                    if report is None:
                        report = Report(
                            id=self.ids.next_id(),
                            reporter_id=reporter.id,
                            kind=kind,
                            target_id=target_id,
                            subject_id=subject_id,
                            created_at=now,
                        )
                        session.add(report)
                    report.reason = reason
                    report.note = note
                    report.updated_at = now
                    # Reported again after it was handled: it is open again.
                    report.status = ReportStatus.OPEN
                    report.resolution = None
                    report.resolution_note = ""
                    report.resolved_by_id = None
                    report.resolved_at = None
                return report
            except IntegrityError:
                continue  # the same person's two reports raced; the second updates the first
        raise Conflict("Your report could not be saved. Try again.")

    async def _subject_of(self, reporter: User, kind: str, target_id: int) -> int:
        """The account answerable for the target, if the reporter may see the target."""
        if kind == TargetKind.POST:
            return (await self.photos.get_post(target_id, reporter)).post.author_id
        if kind == TargetKind.COMMENT:
            async with self.db.read() as session:
                row = (
                    await session.execute(
                        select(Comment.author_id, Comment.post_id).where(Comment.id == target_id)
                    )
                ).one_or_none()
            if row is None:
                raise NotFound("This comment has already been deleted.")
            await self.photos.get_post(row.post_id, reporter)  # NotFound unless visible
            return row.author_id
        async with self.db.read() as session:
            user = await session.get(User, target_id)
        if user is None or (user.is_suspended and user.id != reporter.id):
            raise NotFound("No one here goes by that name.")
        return user.id

    # -- the queue ----------------------------------------------------------------------------

    async def queue(
        self, *, status: str = ReportStatus.OPEN, reason: str = "", before: int | None = None
    ) -> tuple[list[ReportRow], int | None]:
        """Newest first; ``status`` '' for every report; a page and the next page's cursor."""
        from sqlalchemy.orm import aliased

        Reporter, Subject = aliased(User), aliased(User)
        query = (
            select(Report, Reporter, Subject)
            .join(Reporter, Reporter.id == Report.reporter_id)
            .join(Subject, Subject.id == Report.subject_id)
            .order_by(Report.id.desc())
            .limit(PAGE_SIZE + 1)
        )
        if status:
            query = query.where(Report.status == status)
        if reason:
            query = query.where(Report.reason == reason)
        if before is not None:
            query = query.where(Report.id < before)
        async with self.db.read() as session:
            rows = [ReportRow(r, rep, sub) for r, rep, sub in await session.execute(query)]
            more = len(rows) > PAGE_SIZE
            rows = rows[:PAGE_SIZE]
            keys = {(row.report.kind, row.report.target_id) for row in rows}
            counts = {}
            if keys:
                counted = await session.execute(
                    select(Report.kind, Report.target_id, func.count())
                    .where(
                        Report.status == ReportStatus.OPEN,
                        or_(*(and_(Report.kind == k, Report.target_id == t) for k, t in keys)),
                    )
                    .group_by(Report.kind, Report.target_id)
                )
                counts = {(k, t): n for k, t, n in counted}
        for row in rows:
            row.same_target = counts.get((row.report.kind, row.report.target_id), 1)
        return rows, (rows[-1].report.id if more else None)

    async def open_count(self) -> int:
        async with self.db.read() as session:
            return await session.scalar(
                select(func.count()).select_from(Report).where(Report.status == ReportStatus.OPEN)
            )

    async def report_context(self, report_id: int) -> ReportContext:
        from sqlalchemy.orm import aliased, selectinload

        Reporter, Subject = aliased(User), aliased(User)
        async with self.db.read() as session:
            found = (
                await session.execute(
                    select(Report, Reporter, Subject)
                    .join(Reporter, Reporter.id == Report.reporter_id)
                    .join(Subject, Subject.id == Report.subject_id)
                    .where(Report.id == report_id)
                )
            ).one_or_none()
            if found is None:
                raise NotFound("That report does not exist.")
            report = found[0]
            ctx = ReportContext(ReportRow(*found))
            post_id = None
            if report.kind == TargetKind.COMMENT:
                ctx.comment = await session.get(Comment, report.target_id)
                post_id = ctx.comment.post_id if ctx.comment is not None else None
            elif report.kind == TargetKind.POST:
                post_id = report.target_id
            if post_id is not None:
                ctx.post = (
                    await session.execute(
                        select(Post)
                        .where(Post.id == post_id)
                        .options(selectinload(Post.photos).selectinload(Photo.renditions))
                    )
                ).scalar_one_or_none()
            if ctx.comment is not None:
                # The comments around it, as its readers saw them: a few before, a few after.
                around = select(Comment, User).join(User, User.id == Comment.author_id)
                on_post = Comment.post_id == ctx.comment.post_id
                earlier = await session.execute(
                    around.where(on_post, Comment.id < ctx.comment.id)
                    .order_by(Comment.id.desc()).limit(THREAD_CONTEXT)
                )  # fmt: skip
                later = await session.execute(
                    around.where(on_post, Comment.id >= ctx.comment.id)
                    .order_by(Comment.id).limit(THREAD_CONTEXT + 1)
                )  # fmt: skip
                ctx.thread = [tuple(r) for r in reversed(earlier.all())] + [tuple(r) for r in later]
            ctx.others = list(
                (
                    await session.execute(
                        select(Report)
                        .where(
                            Report.kind == report.kind,
                            Report.target_id == report.target_id,
                            Report.id != report.id,
                        )
                        .order_by(Report.id.desc())
                        .limit(50)
                    )
                ).scalars()
            )
        return ctx

    async def resolve(self, moderator: User, report_id: int, resolution: str, note: str) -> Report:
        if resolution not in set(Resolution):
            raise InvalidInput(UserError("Choose what to do about the report.", "resolution"))
        note = clean_note(note)
        ctx = await self.report_context(report_id)
        report, subject = ctx.row.report, ctx.row.subject
        if report.status != ReportStatus.OPEN:
            raise Conflict("This report has already been handled.")
        if resolution in (Resolution.SUSPEND, Resolution.WARN, Resolution.REMOVE):
            self._may_act_on(moderator, subject)
        if resolution == Resolution.REMOVE:
            if report.kind == TargetKind.ACCOUNT:
                raise InvalidInput(
                    UserError(
                        "An account cannot be removed here: suspend it instead.", "resolution"
                    )
                )
            if not ctx.gone:
                if report.kind == TargetKind.POST:
                    await self.photos.delete_post(subject, report.target_id)
                else:
                    await self.interactions.delete_comment(subject, report.target_id)
        elif resolution == Resolution.SUSPEND and not subject.is_suspended:
            await self.suspend(moderator, subject, note, report_id=report.id)
        now = utcnow()
        async with self.db.write() as session:
            handled = list(
                (
                    await session.execute(
                        select(Report).where(
                            Report.kind == report.kind,
                            Report.target_id == report.target_id,
                            Report.status == ReportStatus.OPEN,
                        )
                    )
                ).scalars()
            )
            for each in handled:
                each.status = ReportStatus.RESOLVED
                each.resolution = resolution
                each.resolution_note = note
                each.resolved_by_id = moderator.id
                each.resolved_at = now
                # The reporter hears it was handled, from the moderator, never what was done.
                self.notifications.notify(
                    session, recipient_id=each.reporter_id, actor_id=moderator.id,
                    kind="report_handled",
                )  # fmt: skip
            if resolution == Resolution.WARN:
                self.notifications.notify(
                    session,
                    recipient_id=subject.id,
                    actor_id=moderator.id,
                    kind="warning",
                    post_id=report.target_id
                    if report.kind == TargetKind.POST and not ctx.gone
                    else None,
                )
            self._audit(
                session, moderator, f"report.{resolution}", subject, note, report_id=report.id
            )
        report.status, report.resolution = ReportStatus.RESOLVED, resolution
        return report

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
            await self.accounts.end_sessions_of(session, user.id)
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
            await self.accounts.end_sessions_of(session, user.id)
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
        session.add(
            AuditEntry(
                id=self.ids.next_id(),
                actor_id=actor.id if actor is not None else None,
                actor_name=actor.username if actor is not None else "",
                action=action,
                subject_id=subject.id if subject is not None else None,
                subject_name=subject.username if subject is not None else "",
                report_id=report_id,
                note=note,
                created_at=utcnow(),
            )
        )
