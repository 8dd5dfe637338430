"""The OAuth 2 pages and endpoints: the consent page, the out-of-band code page, the token and
revocation endpoints, and the list of authorized apps in the settings."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlencode

import tornado.web

from tornagram.i18n import N_
from tornagram.oauth.service import AuthorizationRefused, TokenError
from tornagram.web import params
from tornagram.web.api import ApiError, ApiHandler, PathOnlyLogMixin
from tornagram.web.base import BaseHandler

# What each scope lets an app do, in plain words for the consent page and the settings list.
SCOPE_WORDS = {
    "read": N_("See your posts, profile, followers, likes, saves and notifications"),
    "write": N_("Post, comment, like, save, follow and change your profile for you"),
    "follow": N_("Follow, unfollow and block people for you"),
    "push": N_("Send you push notifications"),
    "profile": N_("See your username and profile"),
}
GRANULAR_WORDS = {
    "read": N_("See your %(what)s"),
    "write": N_("Change your %(what)s"),
}
SCOPE_TOPICS = {
    "accounts": N_("profile and accounts"),
    "blocks": N_("blocks"),
    "bookmarks": N_("saved posts"),
    "favourites": N_("likes"),
    "filters": N_("filters"),
    "follows": N_("follows"),
    "lists": N_("lists"),
    "mutes": N_("mutes"),
    "notifications": N_("notifications"),
    "search": N_("searches"),
    "statuses": N_("posts and comments"),
    "conversations": N_("conversations"),
    "media": N_("uploaded photos"),
    "reports": N_("reports"),
}
AUTH_FIELDS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def describe_scope(scope: str, translate) -> str:
    if scope in SCOPE_WORDS:
        return translate(SCOPE_WORDS[scope])
    kind, _, topic = scope.partition(":")
    what = translate(SCOPE_TOPICS.get(topic, topic))
    return translate(GRANULAR_WORDS[kind]) % {"what": what}


def with_query(uri: str, values: dict[str, str]) -> str:
    return uri + ("&" if "?" in uri else "?") + urlencode(values)


def _tolerant(value: str | None) -> str | None:
    # Some clients send the text "None" for a parameter they do not have.
    return None if value in (None, "", "None") else value


class AuthorizeHandler(PathOnlyLogMixin, BaseHandler):
    """GET: the consent page (after signing in). POST: the person's decision."""

    def request_fields(self, source) -> dict[str, str | None]:
        return {name: source(name, None) for name in AUTH_FIELDS}

    async def checked(self, fields):
        return await self.ctx.oauth.check_authorization(
            client_id=fields["client_id"],
            redirect_uri=fields["redirect_uri"],
            response_type=fields["response_type"],
            scope=fields["scope"],
            state=_tolerant(fields["state"]),
            code_challenge=_tolerant(fields["code_challenge"]),
            code_challenge_method=_tolerant(fields["code_challenge_method"]),
        )

    def refuse(self, redirect_uri: str, error: AuthorizationRefused, state: str | None) -> None:
        values = {"error": error.error}
        if error.description:
            values["error_description"] = error.description
        if state:
            values["state"] = state
        if redirect_uri == "urn:ietf:wg:oauth:2.0:oob":
            self.redirect(with_query(self.reverse_url("oauth_native"), values))
            return
        self.redirect(with_query(redirect_uri, values))

    async def get(self) -> None:
        fields = self.request_fields(self.get_query_argument)
        try:
            request = await self.checked(fields)
        except AuthorizationRefused as exc:
            self.refuse(fields["redirect_uri"], exc, _tolerant(fields["state"]))
            return
        here = self.request.uri
        if self.get_query_argument("force_login", "").lower() in ("true", "1"):
            # Ask for the password again: this browser's session ends, and the way back
            # leaves force_login out so the person is not asked twice.
            await self.ctx.accounts.sign_out(self.session_token())
            self.end_session()
            kept = {k: v for k, v in fields.items() if v is not None}
            back = with_query(self.reverse_url("oauth_authorize"), kept)
            self.redirect(self.reverse_url("login") + "?" + urlencode({"next": back}))
            return
        if self.current_user is None:
            self.redirect(self.reverse_url("login") + "?" + urlencode({"next": here}))
            return
        self.render_consent(request)

    def render_consent(self, request) -> None:
        website = request.app.website
        self.render(
            "oauth/authorize.html",
            request=request,
            website=website if website.startswith(("http://", "https://")) else "",
            scopes=[describe_scope(s, self.locale.translate) for s in request.scopes],
            scope_value=" ".join(request.scopes),
        )

    async def post(self) -> None:
        if self.current_user is None:
            raise tornado.web.HTTPError(403)
        fields = self.request_fields(self.get_body_argument)
        try:
            request = await self.checked(fields)
        except AuthorizationRefused as exc:
            self.refuse(fields["redirect_uri"], exc, _tolerant(fields["state"]))
            return
        if self.get_body_argument("decision", "") != "approve":
            self.refuse(request.redirect_uri, AuthorizationRefused("access_denied"), request.state)
            return
        code = await self.ctx.oauth.issue_code(self.current_user, request)
        values = {"code": code}
        if request.state:
            values["state"] = request.state
        if request.oob:
            self.redirect(with_query(self.reverse_url("oauth_native"), values))
            return
        self.redirect(with_query(request.redirect_uri, values))


class NativeCodeHandler(PathOnlyLogMixin, BaseHandler):
    """Where out-of-band apps send people: the code, to copy into the app."""

    def get(self) -> None:
        self.set_header("Cache-Control", "no-store")
        code = self.get_query_argument("code", "")
        error = self.get_query_argument("error", "")
        if error:
            self.set_status(400)
        self.render("oauth/native.html", oauth_code=code[:200], error=error[:100])


class TokenHandler(ApiHandler):
    """POST /oauth/token: an authorization code (and PKCE verifier) for an access token."""

    def client_credentials(self) -> tuple[str | None, str | None]:
        header = self.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "basic" and value:
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise TokenError("invalid_client", 401) from None
            client_id, _, secret = decoded.partition(":")
            return client_id, secret
        return self.param("client_id"), self.param("client_secret")

    async def post(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Pragma", "no-cache")
        try:
            grant = self.param("grant_type")
            if not grant:
                raise TokenError("invalid_request", 400, "grant_type is missing.")
            if grant != "authorization_code":
                raise TokenError("unsupported_grant_type", 400)
            app = await self.ctx.oauth.authenticate_client(*self.client_credentials())
            issued = await self.ctx.oauth.exchange_code(
                app, self.param("code"), self.param("redirect_uri"), self.param("code_verifier")
            )
        except TokenError as exc:
            raise ApiError(exc.status, exc.error, exc.description or None) from None
        self.write_json(
            {
                "access_token": issued.token,
                "token_type": "Bearer",
                "scope": issued.row.scopes,
                "created_at": int(issued.row.created_at.timestamp()),
            }
        )


class RevokeHandler(TokenHandler):
    async def post(self) -> None:
        try:
            client_id, secret = self.client_credentials()
            try:
                app = await self.ctx.oauth.authenticate_client(client_id, secret)
            except TokenError:
                raise TokenError("unauthorized_client", 403) from None
            await self.ctx.oauth.revoke(app, self.param("token"))
        except TokenError as exc:
            raise ApiError(exc.status, exc.error, exc.description or None) from None
        self.write_json({})


class AppsSettingsHandler(BaseHandler):
    """The apps this person has let in: what each may do, when it was last used, and Revoke."""

    @tornado.web.authenticated
    async def get(self) -> None:
        apps = await self.ctx.oauth.authorized_apps(self.current_user)
        self.render(
            "oauth/settings_apps.html",
            apps=apps,
            describe=lambda scope: describe_scope(scope, self.locale.translate),
        )


class RevokeAppHandler(BaseHandler):
    @tornado.web.authenticated
    async def post(self, app_id: str) -> None:
        await self.ctx.oauth.revoke_app(self.current_user, params.path_id(app_id))
        self.see_other(self.reverse_url("settings_apps"))
