"""Pages for signing up, signing in and out, and the settings a person keeps."""

from __future__ import annotations

import tornado.web
from tornado.escape import url_escape
from tornado.ioloop import IOLoop

from tornagram.accounts.devices import describe
from tornagram.accounts.service import NeedsCode
from tornagram.accounts.twofactor_handlers import remember_sign_in_step
from tornagram.accounts.validation import check_language
from tornagram.errors import InvalidInput, TooManyRequests, UserError
from tornagram.web import params
from tornagram.web.base import LANGUAGE_COOKIE, BaseHandler

# Avatars arrive in an ordinary form post; anything larger is refused by the server before the
# handler runs (see server.MAX_FORM_BODY_BYTES).
AVATAR_FIELD = "avatar"


class SignupHandler(BaseHandler):
    """The sign-up form, as the site's registration mode has it (moderation/registration.py):
    the rules to accept, the approval question, an invite link's code; or the page saying why
    no account can be made (closed, invite-only, a link that no longer works)."""

    def _refused(self, exc: UserError) -> None:
        self.set_status(exc.status)
        self.render("accounts/signup_refused.html", message=self.error_text(exc))

    async def get(self) -> None:
        if self.current_user:
            self.redirect(self.reverse_url("home"))
            return
        code = self.get_query_argument("invite", "")
        refusal = await self.ctx.registration.refusal(code)
        if refusal is not None:
            self._refused(refusal)
            return
        self.render("accounts/signup.html", invite=code)

    async def post(self) -> None:
        code = self.get_body_argument("invite", "")
        try:
            created = await self.ctx.registration.sign_up(
                username=self.get_body_argument("username", ""),
                email=self.get_body_argument("email", ""),
                password=self.get_body_argument("password", ""),
                accepted_rules=self.get_body_argument("accept_rules", "") == "on",
                answer=self.get_body_argument("answer", ""),
                invite_code=code,
                ip=self.client_ip,
                user_agent=self.user_agent,
            )
        except UserError as exc:
            if exc.status in (403, 404, 410):
                self._refused(exc)
                return
            # Refused only for what the site asks beyond the account (the rules, the
            # question): the password was fine and comes back, so nobody types it twice.
            only_site_fields = set(exc.by_field()) <= {"accept_rules", "answer", "__all__"}
            self.render_form(
                "accounts/signup.html", exc, keep_password=only_site_fields, invite=code
            )
            return
        await self.ctx.addresses.send_confirmation(created.user, locale=self.locale.code)
        self.start_session(created.token)
        self.see_other(self.reverse_url("waiting" if created.user.is_pending else "home"))


class LoginHandler(BaseHandler):
    open_while_restricted = True

    def get(self) -> None:
        if self.current_user:
            self.redirect(self.next_url())
            return
        self.render("accounts/login.html", next_url=self.next_url(""))

    async def post(self) -> None:
        try:
            signed = await self.ctx.accounts.sign_in(
                self.get_body_argument("login", ""),
                self.get_body_argument("password", ""),
                ip=self.client_ip,
                user_agent=self.user_agent,
            )
        except (InvalidInput, TooManyRequests) as exc:
            self.render_form("accounts/login.html", exc, next_url=self.next_url(""))
            return
        if isinstance(signed, NeedsCode):
            remember_sign_in_step(self, signed.token)
            code_url = self.reverse_url("login_code")
            next_url = self.next_url("")
            self.see_other(code_url + (f"?next={url_escape(next_url)}" if next_url else ""))
            return
        # Whatever session the browser had before is ended: the id changes at sign-in.
        await self.ctx.accounts.sign_out(self.session_token())
        self.start_session(signed.token)
        self.see_other(self.next_url())


class LogoutHandler(BaseHandler):
    open_while_restricted = True

    async def post(self) -> None:
        await self.ctx.accounts.sign_out(self.session_token())
        self.end_session()
        self.see_other(self.reverse_url("home"))


class ProfileSettingsHandler(BaseHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.render("accounts/settings_profile.html", saved=bool(self.get_argument("saved", "")))

    @tornado.web.authenticated
    async def post(self) -> None:
        files = self.request.files.get(AVATAR_FIELD) or []
        avatar = files[0]["body"] if files and files[0]["body"] else None
        try:
            await self.ctx.accounts.update_profile(
                self.current_user,
                is_private=self.get_body_argument("private", "") == "on",
                display_name=self.get_body_argument("display_name", ""),
                bio=self.get_body_argument("bio", ""),
                locale=self.get_body_argument("locale", ""),
                avatar=avatar,
                remove_avatar=self.get_body_argument("remove_avatar", "") == "on",
            )
        except UserError as exc:
            self.render_form("accounts/settings_profile.html", exc, saved=False)
            return
        self.see_other(self.reverse_url("settings_profile") + "?saved=1")


class PasswordSettingsHandler(BaseHandler):
    open_while_restricted = True

    @tornado.web.authenticated
    def get(self) -> None:
        self.render("accounts/settings_password.html", saved=bool(self.get_argument("saved", "")))

    @tornado.web.authenticated
    async def post(self) -> None:
        new = self.get_body_argument("new_password", "")
        try:
            if new != self.get_body_argument("confirm_password", ""):
                raise InvalidInput(
                    UserError("The two new passwords do not match.", "confirm_password")
                )
            token = await self.ctx.accounts.change_password(
                self.current_user,
                self.get_body_argument("current_password", ""),
                new,
                ip=self.client_ip,
                user_agent=self.user_agent,
                two_factor=self.current_session.two_factor,
            )
        except UserError as exc:
            self.render_form("accounts/settings_password.html", exc, saved=False)
            return
        self.start_session(token)
        self.see_other(self.reverse_url("settings_password") + "?saved=1")


class SessionsSettingsHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        sessions = await self.ctx.accounts.sessions_of(self.current_user)
        # CPU work (the parser's rules), so off the event loop.
        agents = [s.user_agent or "" for s in sessions]
        devices = await IOLoop.current().run_in_executor(
            None, lambda: [describe(agent) for agent in agents]
        )
        self.render(
            "accounts/settings_sessions.html",
            sessions=sessions,
            devices=dict(zip([s.id for s in sessions], devices, strict=True)),
            this_session_id=self.current_session.id,
        )


class RevokeSessionHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self, session_id: str) -> None:
        sid = params.path_id(session_id)
        await self.ctx.accounts.revoke_session(self.current_user, sid)
        if sid == self.current_session.id:
            self.end_session()
            self.see_other(self.reverse_url("login"))
            return
        self.see_other(self.reverse_url("settings_sessions"))


class RevokeOtherSessionsHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        await self.ctx.accounts.revoke_other_sessions(self.current_user, self.current_session.id)
        self.see_other(self.reverse_url("settings_sessions"))


class LanguageHandler(BaseHandler):
    """The language picker in the footer: works signed out (a cookie) and signed in (saved)."""

    open_while_restricted = True

    async def post(self) -> None:
        code = check_language(self.get_body_argument("locale", "")) or ""
        if self.current_user is not None:
            user = self.current_user
            await self.ctx.accounts.update_profile(
                user, display_name=user.display_name, bio=user.bio, locale=code
            )
        if code:
            self.set_cookie(LANGUAGE_COOKIE, code, expires_days=365, samesite="Lax")
        else:
            self.clear_cookie(LANGUAGE_COOKIE)
        self.see_other(self.next_url())
