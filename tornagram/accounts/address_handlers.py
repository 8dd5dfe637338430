"""Pages for the email address: confirming it from the mailed link, and changing it."""

from __future__ import annotations

import tornado.web

from tornagram.accounts.recovery_handlers import TokenPageMixin
from tornagram.accounts.tokens import BadLink
from tornagram.errors import UserError
from tornagram.i18n import N_
from tornagram.web.base import BaseHandler

ASK_AGAIN = N_("Ask for a new link")


class ConfirmEmailHandler(TokenPageMixin, BaseHandler):
    """GET shows a button, POST confirms: mail scanners open links, and must not use them up."""

    def bad_confirm_link(self, exc: BadLink) -> None:
        self.bad_link(
            exc, again_url=self.reverse_url("settings_email"), again_label=ASK_AGAIN
        )

    async def get(self) -> None:
        token = self.token_argument()
        try:
            user, address = await self.ctx.addresses.check_link(token)
        except BadLink as exc:
            self.bad_confirm_link(exc)
            return
        self.render("accounts/confirm_email.html", token=token, address=address,
                    username=user.username, done=False)  # fmt: skip

    async def post(self) -> None:
        try:
            user, address = await self.ctx.addresses.confirm(self.get_body_argument("token", ""))
        except BadLink as exc:
            self.bad_confirm_link(exc)
            return
        self.render("accounts/confirm_email.html", token="", address=address,
                    username=user.username, done=True)  # fmt: skip


class EmailSettingsHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.render("accounts/settings_email.html", sent_to=None, resent=False)

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            address = await self.ctx.addresses.request_change(
                self.current_user,
                self.get_body_argument("email", ""),
                self.get_body_argument("password", ""),
                locale=self.locale.code,
            )
        except UserError as exc:
            self.render_form("accounts/settings_email.html", exc, sent_to=None, resent=False)
            return
        self.render("accounts/settings_email.html", sent_to=address, resent=False)


class ResendConfirmationHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        user = self.current_user
        if user.email_confirmed_at is None:
            self.ctx.rate_limits.check("reset-address", "confirm:" + user.email_key)
            await self.ctx.addresses.send_confirmation(user, locale=self.locale.code)
        self.render("accounts/settings_email.html", sent_to=None, resent=True)
