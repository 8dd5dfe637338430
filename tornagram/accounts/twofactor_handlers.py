"""Pages for two-factor sign-in: the code step of signing in, and /settings/security."""

from __future__ import annotations

import tornado.web

from tornagram.accounts.tokens import BadLink
from tornagram.accounts.twofactor import SIGN_IN_EXPIRED_MESSAGE
from tornagram.errors import InvalidInput, TooManyRequests, UserError
from tornagram.web.base import BaseHandler

# Holds the token of a sign-in that has passed its password and waits for a code. Only this
# browser has it, so the second step is bound to the first; the token dies after 5 minutes.
SIGN_IN_COOKIE = "signin_step"


def remember_sign_in_step(handler: BaseHandler, token: str) -> None:
    handler.set_signed_cookie(
        SIGN_IN_COOKIE,
        token,
        expires_days=None,
        httponly=True,
        samesite="Lax",
        secure=handler.request.protocol == "https",
        path="/login",
    )


class NoStoreMixin:
    def set_default_headers(self) -> None:
        super().set_default_headers()
        # Secrets and recovery codes: not for the browser's cache or back button.
        self.set_header("Cache-Control", "no-store")


class LoginCodeHandler(NoStoreMixin, BaseHandler):
    def step_token(self) -> str | None:
        value = self.get_signed_cookie(SIGN_IN_COOKIE, max_age_days=1)
        return value.decode() if value else None

    def start_over(self) -> None:
        self.clear_cookie(SIGN_IN_COOKIE, path="/login")
        self.set_status(400)
        exc = UserError(SIGN_IN_EXPIRED_MESSAGE)
        self.render("accounts/login.html", errors={"__all__": self.error_text(exc)},
                    form={}, next_url=self.next_url(""))  # fmt: skip

    async def get(self) -> None:
        user = await self.ctx.twofactor.pending_sign_in(self.step_token())
        if user is None:
            self.redirect(self.reverse_url("login"))
            return
        self.render("accounts/login_code.html", next_url=self.next_url(""))

    async def post(self) -> None:
        try:
            signed = await self.ctx.twofactor.finish_sign_in(
                self.step_token(),
                self.get_body_argument("code", ""),
                ip=self.client_ip,
                user_agent=self.user_agent,
            )
        except BadLink:
            self.start_over()
            return
        except (InvalidInput, TooManyRequests) as exc:
            self.render_form("accounts/login_code.html", exc, next_url=self.next_url(""))
            return
        self.clear_cookie(SIGN_IN_COOKIE, path="/login")
        await self.ctx.accounts.sign_out(self.session_token())
        self.start_session(signed.token)
        self.see_other(self.next_url())


class SecuritySettingsHandler(NoStoreMixin, BaseHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        await self.show()

    async def show(self, exc: UserError | None = None, **kwargs) -> None:
        user = self.current_user
        setup = None
        if not user.two_factor_enabled and user.totp_pending_secret:
            setup = await self.ctx.twofactor.setup(user)
        codes_left = (
            await self.ctx.twofactor.recovery_codes_left(user) if user.two_factor_enabled else 0
        )
        kwargs.setdefault("form_name", "")
        self.render_form(
            "accounts/settings_security.html",
            exc,
            setup=setup,
            codes_left=codes_left,
            turned_off=bool(self.get_argument("off", "")),
            **kwargs,
        )


class TwoFactorSetupHandler(SecuritySettingsHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        await self.ctx.twofactor.setup(self.current_user)
        self.see_other(self.reverse_url("settings_security") + "#setup")


class TwoFactorEnableHandler(SecuritySettingsHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            codes = await self.ctx.twofactor.enable(
                self.current_user,
                self.get_body_argument("code", ""),
                this_session_id=self.current_session.id,
            )
        except UserError as exc:
            await self.show(exc, form_name="enable")
            return
        self.render("accounts/recovery_codes.html", codes=codes, first_time=True)


class RecoveryCodesHandler(SecuritySettingsHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            codes = await self.ctx.twofactor.regenerate_codes(
                self.current_user, self.get_body_argument("code", ""), ip=self.client_ip
            )
        except UserError as exc:
            await self.show(exc, form_name="codes")
            return
        self.render("accounts/recovery_codes.html", codes=codes, first_time=False)


class TwoFactorDisableHandler(SecuritySettingsHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            await self.ctx.twofactor.disable(
                self.current_user,
                self.get_body_argument("password", ""),
                self.get_body_argument("code", ""),
                ip=self.client_ip,
            )
        except UserError as exc:
            await self.show(exc, form_name="disable")
            return
        self.see_other(self.reverse_url("settings_security") + "?off=1")
