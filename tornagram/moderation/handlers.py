"""Reporting, the suspended-account notice, and the moderators' pages under /admin.

Every /admin page is an ``AdminHandler``: the role is checked on the server in ``prepare``
(403 for members, the sign-in page for nobody), and its forms carry XSRF like every other.
"""

from __future__ import annotations

from urllib.parse import urlencode

import tornado.web
from tornado.escape import xhtml_escape

from tornagram.errors import UserError
from tornagram.moderation.models import (
    ROLE_RANK,
    Reason,
    ReportStatus,
    Resolution,
    Role,
    TargetKind,
    is_admin,
    rank,
)
from tornagram.web import params
from tornagram.web.base import BaseHandler

# What people read for each reason and resolution; the values stay in English in the database.
REASON_MESSAGES = {
    Reason.SPAM: "Spam",
    Reason.HARASSMENT: "Harassment or bullying",
    Reason.NUDITY: "Nudity or sexual content",
    Reason.VIOLENCE: "Violence or threats",
    Reason.COPYRIGHT: "Copyright",
    Reason.OTHER: "Something else",
}
RESOLUTION_MESSAGES = {
    Resolution.DISMISS: "Dismiss the report",
    Resolution.REMOVE: "Remove the content",
    Resolution.WARN: "Warn the author",
    Resolution.SUSPEND: "Suspend the account",
}
KIND_MESSAGES = {
    TargetKind.POST: "Reported post",
    TargetKind.COMMENT: "Reported comment",
    TargetKind.ACCOUNT: "Reported account",
}
ACTION_MESSAGES = {
    "report.dismiss": "%(actor)s dismissed a report about %(subject)s.",
    "report.remove": "%(actor)s removed content by %(subject)s after a report.",
    "report.warn": "%(actor)s warned %(subject)s after a report.",
    "report.suspend": "%(actor)s resolved a report by suspending %(subject)s.",
    "user.suspend": "%(actor)s suspended %(subject)s.",
    "user.unsuspend": "%(actor)s lifted the suspension of %(subject)s.",
    "user.password_reset": "%(actor)s asked %(subject)s to choose a new password.",
    "user.delete": "%(actor)s deleted the account of %(subject)s.",
    "user.role.member": "%(actor)s made %(subject)s a member.",
    "user.role.moderator": "%(actor)s made %(subject)s a moderator.",
    "user.role.admin": "%(actor)s made %(subject)s an admin.",
    "user.approve": "%(actor)s approved the account of %(subject)s.",
    "user.reject": "%(actor)s turned down the account of %(subject)s.",
    "site.name": "%(actor)s renamed the site.",
    "site.description": "%(actor)s changed the site's description.",
    "site.rules": "%(actor)s changed the site's rules.",
    "site.contact": "%(actor)s changed the site's contact address.",
    "site.registration": "%(actor)s changed who may sign up.",
    "site.question": "%(actor)s changed the question asked at sign-up.",
    "site.invites": "%(actor)s changed whether members may invite people.",
}
COMMAND_LINE_MESSAGE = "The command line"


def audit_sentence(handler: BaseHandler, entry) -> str:
    """One log entry as HTML made of escaped pieces: the translated sentence is escaped first,
    then the escaped names go into its placeholders (word order is the language's own)."""
    t = handler.locale.translate
    text = xhtml_escape(t(ACTION_MESSAGES.get(entry.action, "%(actor)s: %(subject)s")))
    actor = f"@{entry.actor_name}" if entry.actor_id is not None else t(COMMAND_LINE_MESSAGE)
    subject = f"@{entry.subject_name}" if entry.subject_name else ""
    return text % {
        "actor": f"<strong>{xhtml_escape(actor)}</strong>",
        "subject": f"<strong>{xhtml_escape(subject)}</strong>",
    }


def _labels(handler: BaseHandler) -> dict:
    t = handler.locale.translate
    return dict(
        reason_labels={k: t(v) for k, v in REASON_MESSAGES.items()},
        resolution_labels={k: t(v) for k, v in RESOLUTION_MESSAGES.items()},
        kind_labels={k: t(v) for k, v in KIND_MESSAGES.items()},
        audit_sentence=lambda entry: audit_sentence(handler, entry),
    )


# -- for everyone signed in ----------------------------------------------------------------------


class ReportHandler(BaseHandler):
    """GET /report?kind=post&id=…: the form; POST files (or updates) the report."""

    def _target(self, source) -> tuple[str, int]:
        kind = source("kind", "")
        if kind not in set(TargetKind):
            raise tornado.web.HTTPError(400)
        target_id = params.parse_id(source("id", None))
        if target_id is None:
            raise tornado.web.HTTPError(400)
        return kind, target_id

    def _render(self, kind: str, target_id: int, exc: UserError | None = None, **kwargs) -> None:
        self.render_form(
            "moderation/report.html", exc, kind=kind, target_id=target_id,
            reasons=list(Reason), **_labels(self), **kwargs,
        )  # fmt: skip

    @tornado.web.authenticated
    def get(self) -> None:
        kind, target_id = self._target(self.get_query_argument)
        self._render(kind, target_id, sent=bool(self.get_query_argument("sent", "")))

    @tornado.web.authenticated
    async def post(self) -> None:
        kind, target_id = self._target(self.get_body_argument)
        try:
            await self.ctx.moderation.report(
                self.current_user,
                kind,
                target_id,
                self.get_body_argument("reason", ""),
                self.get_body_argument("note", ""),
            )
        except UserError as exc:
            if exc.status == 404:
                raise
            self._render(kind, target_id, exc, sent=False)
            return
        if self.wants_json():
            self.finish({"reported": True})
            return
        self.see_other(
            self.reverse_url("report") + "?" + urlencode(dict(kind=kind, id=target_id, sent=1))
        )


class SuspendedHandler(BaseHandler):
    """What a suspended account sees, whatever it opens."""

    open_while_restricted = True

    @tornado.web.authenticated
    def get(self) -> None:
        if not self.current_user.is_suspended:
            self.redirect(self.reverse_url("home"))
            return
        self.render("moderation/suspended.html")


# -- /admin ------------------------------------------------------------------------------------


class AdminHandler(BaseHandler):
    """The role check for every /admin page, on the server."""

    required_role = Role.MODERATOR

    async def prepare(self) -> None:
        await super().prepare()
        if self._finished:
            return
        user = self.current_user
        if user is None:
            if self.request.method in ("GET", "HEAD"):
                url = self.get_login_url() + "?" + urlencode(dict(next=self.request.uri))
                self.redirect(url)
                return
            raise tornado.web.HTTPError(403)
        if rank(user.role) < ROLE_RANK[self.required_role]:
            raise tornado.web.HTTPError(403)

    def render_admin(self, template: str, **kwargs) -> None:
        self.render(template, is_admin=is_admin(self.current_user), **_labels(self), **kwargs)


class AdminHomeHandler(AdminHandler):
    def get(self) -> None:
        self.redirect(self.reverse_url("admin_reports"))


class AdminReportsHandler(AdminHandler):
    async def get(self) -> None:
        status = self.get_query_argument("status", ReportStatus.OPEN)
        if status not in ("", *ReportStatus):
            raise tornado.web.HTTPError(400)
        reason = self.get_query_argument("reason", "")
        if reason not in ("", *Reason):
            raise tornado.web.HTTPError(400)
        rows, next_before = await self.ctx.moderation.queue(
            status=status, reason=reason, before=params.cursor_argument(self)
        )
        self.render_admin(
            "moderation/admin_reports.html", rows=rows, next_before=next_before,
            status=status, reason=reason, reasons=list(Reason),
        )  # fmt: skip


class AdminReportHandler(AdminHandler):
    async def get(self, report_id: str) -> None:
        ctx = await self.ctx.moderation.report_context(params.path_id(report_id))
        self.render_admin(
            "moderation/admin_report.html", c=ctx, resolutions=list(Resolution), exc_text=None
        )


class AdminResolveHandler(AdminHandler):
    async def post(self, report_id: str) -> None:
        report_id = params.path_id(report_id)
        try:
            await self.ctx.moderation.resolve(
                self.current_user,
                report_id,
                self.get_body_argument("resolution", ""),
                self.get_body_argument("note", ""),
            )
        except UserError as exc:
            if exc.status == 404:
                raise
            ctx = await self.ctx.moderation.report_context(report_id)
            self.set_status(exc.status)
            self.render_admin(
                "moderation/admin_report.html", c=ctx, resolutions=list(Resolution),
                exc_text=self.error_text(exc),
            )  # fmt: skip
            return
        self.see_other(self.reverse_url("admin_reports"))


class AdminUsersHandler(AdminHandler):
    async def get(self) -> None:
        q = self.get_query_argument("q", "")[:254]
        rows, next_before = await self.ctx.moderation.users(q, params.cursor_argument(self))
        self.render_admin("moderation/admin_users.html", rows=rows, q=q, next_before=next_before)


class AdminUserHandler(AdminHandler):
    async def get(self, user_id: str) -> None:
        user = await self.ctx.moderation.user(params.path_id(user_id))
        self.render_admin("moderation/admin_user.html", person=user, exc_text=None)


class AdminUserActionHandler(AdminHandler):
    """POST /admin/users/<id>/<action>, with a note."""

    async def post(self, user_id: str, action: str) -> None:
        moderation = self.ctx.moderation
        user = await moderation.user(params.path_id(user_id))
        note = self.get_body_argument("note", "")
        act = {
            "suspend": moderation.suspend,
            "unsuspend": moderation.unsuspend,
            "reset-password": moderation.require_password_reset,
            "delete": moderation.delete_account,
        }[action]
        try:
            await act(self.current_user, user, note)
        except UserError as exc:
            if exc.status == 404:
                raise
            self.set_status(exc.status)
            self.render_admin(
                "moderation/admin_user.html", person=user, exc_text=self.error_text(exc)
            )
            return
        if action == "delete":
            self.see_other(self.reverse_url("admin_users"))
        else:
            self.see_other(self.reverse_url("admin_user", user.id))


class AdminLogHandler(AdminHandler):
    async def get(self) -> None:
        entries, next_before = await self.ctx.moderation.log(params.cursor_argument(self))
        self.render_admin("moderation/admin_log.html", entries=entries, next_before=next_before)
