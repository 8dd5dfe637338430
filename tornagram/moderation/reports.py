"""Reports: a person files one about a post, a comment or an account; moderators work the
queue, open a report with the thing in its place, and resolve it.

The reporter is never shown to the person reported (notices about a report come from the site).
Resolving a report resolves every open report of the same thing, and each reporter hears that
it was handled. ``Reporting`` is a part of ``ModerationService`` (service.py), which gives it
the account actions a decision may call (``suspend``) and the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from tornagram.accounts.models import User
from tornagram.db.base import utcnow
from tornagram.errors import Conflict, InvalidInput, NotFound, UserError
from tornagram.graph.models import Comment
from tornagram.moderation.audit import clean_note
from tornagram.moderation.models import Reason, Report, ReportStatus, Resolution, TargetKind
from tornagram.photos.models import Photo, Post

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


class Reporting:
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
