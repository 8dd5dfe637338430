"""The site's own pages: /about for everyone, the waiting notice, invite links, and the
admin pages for the site's settings and the accounts waiting for approval."""

from __future__ import annotations

import tornado.web

from tornagram.accounts.recovery import site_link
from tornagram.errors import UserError
from tornagram.moderation.handlers import AdminHandler
from tornagram.moderation.invites import EXPIRY_CHOICES, MAX_USES_CHOICES
from tornagram.moderation.models import RegistrationMode, Role, is_admin
from tornagram.moderation.site import clean
from tornagram.web import params
from tornagram.web.base import BaseHandler

REGISTRATION_MESSAGES = {
    RegistrationMode.OPEN: "Open: anyone may sign up",
    RegistrationMode.APPROVAL: "Approval required: new accounts wait for a moderator",
    RegistrationMode.INVITE: "Invite only: sign up with an invite link",
    RegistrationMode.CLOSED: "Closed: no new accounts",
}
INVITE_STATE_MESSAGES = {
    "active": "Active",
    "expired": "Expired",
    "used": "Used up",
    "revoked": "Revoked",
}


class AboutHandler(BaseHandler):
    # Public, and the rules a waiting or suspended account may still read.
    open_while_restricted = True

    async def get(self) -> None:
        staff = await self.ctx.moderation.staff()
        self.render(
            "moderation/about.html",
            admins=[u for u in staff if u.role == Role.ADMIN],
            moderators=[u for u in staff if u.role == Role.MODERATOR],
        )


class WaitingHandler(BaseHandler):
    """What an account waiting for approval sees, whatever it opens."""

    open_while_restricted = True

    @tornado.web.authenticated
    def get(self) -> None:
        if not self.current_user.is_pending:
            self.redirect(self.reverse_url("home"))
            return
        self.render("moderation/waiting.html")


class InvitesHandler(BaseHandler):
    """/invites: the links a person made, a form for a new one, and Revoke on each."""

    async def _render(self, exc: UserError | None = None, created=None) -> None:
        user = self.current_user
        may = await self.ctx.invites.may_invite(user)
        rows = await self.ctx.invites.listed(user) if may or is_admin(user) else []
        self.render_form(
            "moderation/invites.html", exc, may_invite=may, rows=rows, created=created,
            expiry_choices=EXPIRY_CHOICES, uses_choices=MAX_USES_CHOICES,
            state_labels={k: self.locale.translate(v) for k, v in INVITE_STATE_MESSAGES.items()},
            invite_url=self._invite_url,
        )  # fmt: skip

    def _invite_url(self, code: str) -> str:
        # A link to send elsewhere: from --site-url, as mailed links are (never the Host header).
        return site_link(self.ctx.settings, self.reverse_url("signup"), invite=code)

    @tornado.web.authenticated
    async def get(self) -> None:
        created = None
        made = params.parse_id(self.get_query_argument("made", None))
        if made is not None:
            created = next(
                (r for r in await self.ctx.invites.listed(self.current_user)
                 if r.invite.id == made), None,
            )  # fmt: skip
        await self._render(created=created)

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            invite = await self.ctx.invites.create(
                self.current_user,
                days=_int(self.get_body_argument("days", "")),
                max_uses=_int(self.get_body_argument("uses", "")),
            )
        except UserError as exc:
            if exc.status == 403:
                raise
            await self._render(exc)
            return
        self.see_other(self.reverse_url("invites") + f"?made={invite.id}")


class InviteRevokeHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self, invite_id: str) -> None:
        await self.ctx.invites.revoke(self.current_user, params.path_id(invite_id))
        self.see_other(self.reverse_url("invites"))


def _int(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        return -1


# -- /admin ------------------------------------------------------------------------------------


class AdminSettingsHandler(AdminHandler):
    """The site's settings (admins). The rules are a list of fields; the buttons beside each
    (move up, move down, remove) and "Add a rule" post the whole form, so what was typed in
    the other fields is kept, and the page comes back with the change made. "Save" stores it."""

    required_role = Role.ADMIN

    def _render(self, values: dict, exc: UserError | None = None, saved: bool = False) -> None:
        if exc is not None:
            self.set_status(exc.status)
        self.render_admin(
            "moderation/admin_settings.html", values=values, errors=self.field_errors(exc),
            saved=saved, modes=list(RegistrationMode),
            mode_labels={k: self.locale.translate(v) for k, v in REGISTRATION_MESSAGES.items()},
        )  # fmt: skip

    def get(self) -> None:
        info = self.site_info
        values = dict(
            name=info.name, description=info.description, rules=list(info.rules),
            contact_email=info.contact_email, registration=info.registration,
            approval_question=info.approval_question, members_may_invite=info.members_may_invite,
        )  # fmt: skip
        self._render(values, saved=bool(self.get_query_argument("saved", "")))

    async def post(self) -> None:
        arg = self.get_body_argument
        rules = [r for r in self.get_body_arguments("rule")]
        values = dict(
            name=arg("name", ""), description=arg("description", ""),
            contact_email=arg("contact_email", ""), registration=arg("registration", ""),
            approval_question=arg("approval_question", ""),
            members_may_invite=arg("members_may_invite", "") == "on",
        )  # fmt: skip
        edit = arg("edit", "")
        if edit:
            # One change to the list; nothing is stored until "Save".
            action, _, index = edit.partition(":")
            i = _int(index)
            if action == "add":
                rules.append("")
            elif 0 <= i < len(rules):
                if action == "remove":
                    del rules[i]
                elif action == "up" and i > 0:
                    rules[i - 1], rules[i] = rules[i], rules[i - 1]
                elif action == "down" and i + 1 < len(rules):
                    rules[i + 1], rules[i] = rules[i], rules[i + 1]
            self._render({**values, "rules": rules})
            return
        try:
            info = clean(rules=rules, **values)
            await self.ctx.site.update(self.current_user, info)
        except UserError as exc:
            self._render({**values, "rules": rules}, exc)
            return
        self.see_other(self.reverse_url("admin_settings") + "?saved=1")


class AdminApprovalsHandler(AdminHandler):
    async def get(self) -> None:
        waiting = await self.ctx.approvals.waiting()
        self.render_admin("moderation/admin_approvals.html", waiting=waiting, exc_text=None)


class AdminApprovalActionHandler(AdminHandler):
    async def post(self, user_id: str, action: str) -> None:
        approvals = self.ctx.approvals
        act = {"approve": approvals.approve, "reject": approvals.reject}[action]
        try:
            note = self.get_body_argument("note", "")
            await act(self.current_user, params.path_id(user_id), note)
        except UserError as exc:
            if exc.status == 404:
                raise
            self.set_status(exc.status)
            self.render_admin(
                "moderation/admin_approvals.html", waiting=await approvals.waiting(),
                exc_text=self.error_text(exc),
            )  # fmt: skip
            return
        self.see_other(self.reverse_url("admin_approvals"))
