"""Pages for a forgotten password: ask for a link, then choose a new password with it."""

from __future__ import annotations

from tornagram.accounts.tokens import BadLink
from tornagram.errors import InvalidInput, TooManyRequests, UserError
from tornagram.web.base import BaseHandler


class TokenPageMixin:
    """Pages opened from a mailed link: the token is in the query (an access-log line holds
    the path only) and goes on in the form's body; the page never tells another site where it
    came from."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")

    def token_argument(self) -> str:
        return self.get_argument("token", "")

    def bad_link(self, exc: BadLink, *, again_url: str = "", again_label: str = "") -> None:
        """``again_label``: an N_() msgid for the button that asks for a new link."""
        self.set_status(exc.status)
        self.render("accounts/bad_link.html", message=self.error_text(exc),
                    again_url=again_url, again_label=again_label)  # fmt: skip


class ForgotPasswordHandler(BaseHandler):
    def get(self) -> None:
        self.render("accounts/forgot.html", sent=False)

    def post(self) -> None:
        try:
            self.ctx.recovery.ask_for_reset(
                self.get_body_argument("login", ""), ip=self.client_ip, locale=self.locale.code
            )
        except (InvalidInput, TooManyRequests) as exc:
            self.render_form("accounts/forgot.html", exc, sent=False)
            return
        # The same page for every address, known or not.
        self.render("accounts/forgot.html", sent=True)


class ResetPasswordHandler(TokenPageMixin, BaseHandler):
    async def get(self) -> None:
        token = self.token_argument()
        try:
            user = await self.ctx.recovery.check_reset_link(token)
        except BadLink as exc:
            self.bad_link(exc)
            return
        self.render("accounts/reset.html", token=token, username=user.username)

    async def post(self) -> None:
        token = self.get_body_argument("token", "")
        new = self.get_body_argument("new_password", "")
        try:
            if new != self.get_body_argument("confirm_password", ""):
                await self.ctx.recovery.check_reset_link(token)
                raise InvalidInput(
                    UserError("The two new passwords do not match.", "confirm_password")
                )
            await self.ctx.recovery.reset_password(token, new, locale=self.locale.code)
        except BadLink as exc:
            self.bad_link(exc)
            return
        except UserError as exc:
            user = await self.ctx.recovery.check_reset_link(token)
            self.render_form("accounts/reset.html", exc, token=token, username=user.username)
            return
        # Signed out everywhere, this browser included; the new password signs in.
        self.end_session()
        self.see_other(self.reverse_url("login") + "?reset=1")
