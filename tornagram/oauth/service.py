"""The OAuth 2 server's rules: registering apps, the authorization-code grant with PKCE,
tokens, revocation, and the list of apps a person has let in.

Codes and tokens are random, handed out once, and stored only as their SHA-256; client
secrets likewise, compared with ``hmac.compare_digest``. Nothing here logs a secret.
"""

from __future__ import annotations

import hmac
import logging
import re

from sqlalchemy import delete, func, select, update

from tornagram.accounts.models import User
from tornagram.db.base import utcnow
from tornagram.db.engine import Database, after_commit
from tornagram.db.ids import IdGenerator
from tornagram.i18n import N_
from tornagram.oauth.models import AccessToken, AuthorizationCode, OAuthApp
from tornagram.oauth.rules import (
    APP_NAME_MAX_CHARS,
    CODE_LIFETIME,
    MAX_REDIRECT_URIS,
    TOKEN_TOUCH_INTERVAL,
    VERIFIER_RE,
    AuthorizationRefused,
    AuthorizationRequest,
    AuthorizedApp,
    BadClient,
    InvalidApp,
    IssuedToken,
    TokenError,
    TokenUse,
    check_redirect_uri,
    check_website,
    digest,
    new_secret,
    pkce_matches,
)
from tornagram.oauth.scopes import UnknownScope, covered_by, parse_scopes

log = logging.getLogger(__name__)


class OAuthService:
    def __init__(self, db: Database, ids: IdGenerator) -> None:
        self.db = db
        self.ids = ids
        # Told, after commit, of every token that stops working: async callables taking
        # {user id: [token id, ...]} (its open streams close at once, on every process).
        self.on_revoked: list = []

    # -- apps ---------------------------------------------------------------------------------

    async def register_app(
        self, name: str, redirect_uris: list[str], scopes: str | None, website: str = ""
    ) -> tuple[OAuthApp, str]:
        """The new app and its client secret (shown this once)."""
        name = (name or "").strip()
        if not name:
            raise InvalidApp("client_name can't be blank.")
        if len(name) > APP_NAME_MAX_CHARS:
            raise InvalidApp("client_name is too long.")
        if not redirect_uris:
            raise InvalidApp("redirect_uris can't be blank.")
        if len(redirect_uris) > MAX_REDIRECT_URIS:
            raise InvalidApp("Too many redirect URIs.")
        uris = [check_redirect_uri(uri) for uri in redirect_uris]
        try:
            scope_list = parse_scopes(scopes)
        except UnknownScope:
            raise InvalidApp("Scopes are not valid.") from None
        secret = new_secret()
        app = OAuthApp(
            id=self.ids.next_id(),
            name=name,
            website=check_website(website),
            redirect_uris="\n".join(uris),
            scopes=" ".join(scope_list),
            client_id=new_secret(),
            client_secret_hash=digest(secret),
            created_at=utcnow(),
        )
        async with self.db.write() as session:
            session.add(app)
        log.info("oauth app %s registered", app.id)
        return app, secret

    async def app_for_client(self, client_id: str | None) -> OAuthApp | None:
        if not client_id or len(client_id) > 64:
            return None
        async with self.db.read() as session:
            return (
                await session.execute(select(OAuthApp).where(OAuthApp.client_id == client_id))
            ).scalar_one_or_none()

    async def authenticate_client(self, client_id: str | None, secret: str | None) -> OAuthApp:
        app = await self.app_for_client(client_id)
        # Compared even for an unknown app, so the time taken says nothing about which exist.
        expected = app.client_secret_hash if app is not None else digest("")
        ok = hmac.compare_digest(digest(secret or ""), expected)
        if app is None or not ok or not secret:
            raise TokenError("invalid_client", 401, "Client authentication failed.")
        return app

    # -- authorization ------------------------------------------------------------------------

    async def check_authorization(
        self,
        *,
        client_id: str | None,
        redirect_uri: str | None,
        response_type: str | None,
        scope: str | None,
        state: str | None,
        code_challenge: str | None,
        code_challenge_method: str | None,
    ) -> AuthorizationRequest:
        """In the contract's order: an unknown app or redirect URI is BadClient (a page);
        anything else wrong is AuthorizationRefused (back to the app)."""
        app = await self.app_for_client(client_id)
        if app is None:
            raise BadClient(N_("This app is not registered here."))
        if not redirect_uri or redirect_uri not in app.redirect_uri_list:
            raise BadClient(N_("This app did not register that redirect address."))
        if response_type != "code":
            raise AuthorizationRefused("unsupported_response_type")
        try:
            scopes = parse_scopes(scope)
        except UnknownScope:
            raise AuthorizationRefused("invalid_scope") from None
        if not covered_by(scopes, app.scope_list):
            raise AuthorizationRefused("invalid_scope")
        challenge = code_challenge or None
        if challenge is not None or code_challenge_method:
            if code_challenge_method != "S256" or challenge is None:
                raise AuthorizationRefused("invalid_request", "Only S256 PKCE is supported.")
            if not re.fullmatch(r"[A-Za-z0-9_-]{43}", challenge):
                raise AuthorizationRefused("invalid_request", "code_challenge is not valid.")
        return AuthorizationRequest(app, redirect_uri, scopes, state or "", challenge)

    async def issue_code(self, user: User, request: AuthorizationRequest) -> str:
        code = new_secret()
        async with self.db.write() as session:
            session.add(
                AuthorizationCode(
                    id=self.ids.next_id(),
                    code_hash=digest(code),
                    app_id=request.app.id,
                    user_id=user.id,
                    redirect_uri=request.redirect_uri,
                    scopes=" ".join(request.scopes),
                    code_challenge=request.code_challenge,
                    expires_at=utcnow() + CODE_LIFETIME,
                )
            )
            # Expired codes of anyone are swept as new ones are made.
            await session.execute(
                delete(AuthorizationCode).where(AuthorizationCode.expires_at < utcnow())
            )
        return code

    # -- tokens -------------------------------------------------------------------------------

    async def exchange_code(
        self, app: OAuthApp, code: str | None, redirect_uri: str | None, verifier: str | None
    ) -> IssuedToken:
        if not code:
            raise TokenError("invalid_request", 400, "code is missing.")
        async with self.db.write() as session:
            row = (
                await session.execute(
                    select(AuthorizationCode).where(
                        AuthorizationCode.code_hash == digest(code),
                        AuthorizationCode.app_id == app.id,
                    )
                )
            ).scalar_one_or_none()
            if row is not None:
                # Used up whatever happens next: a code works once, even in a failed exchange.
                await session.execute(
                    delete(AuthorizationCode).where(AuthorizationCode.id == row.id)
                )
        invalid = TokenError("invalid_grant", 400, "The authorization code is not valid.")
        if row is None or row.expires_at < utcnow():
            raise invalid
        if redirect_uri != row.redirect_uri:
            raise invalid
        if row.code_challenge is not None:
            if not verifier or not VERIFIER_RE.fullmatch(verifier):
                raise invalid
            if not pkce_matches(verifier, row.code_challenge):
                raise invalid
        token = new_secret()
        access = AccessToken(
            id=self.ids.next_id(),
            token_hash=digest(token),
            app_id=app.id,
            user_id=row.user_id,
            scopes=row.scopes,
            created_at=utcnow(),
        )
        async with self.db.write() as session:
            if await session.get(User, row.user_id) is None:
                raise invalid
            session.add(access)
        return IssuedToken(token, access)

    async def token_use(self, token: str | None) -> TokenUse | None:
        """The token's row, person and app, or None when it is unknown or revoked."""
        if not token or len(token) > 200:
            return None
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(AccessToken, User, OAuthApp)
                    .join(User, User.id == AccessToken.user_id)
                    .join(OAuthApp, OAuthApp.id == AccessToken.app_id)
                    .where(AccessToken.token_hash == digest(token))
                )
            ).one_or_none()
        if row is None:
            return None
        access, user, app = row
        now = utcnow()
        if access.last_used_at is None or now - access.last_used_at > TOKEN_TOUCH_INTERVAL:
            async with self.db.write() as session:
                await session.execute(
                    update(AccessToken).where(AccessToken.id == access.id).values(last_used_at=now)
                )
            access.last_used_at = now
        return TokenUse(access, user, app)

    async def revoke(self, app: OAuthApp, token: str | None) -> None:
        """Idempotent; a token of another app is refused and left alone."""
        if not token:
            raise TokenError("invalid_request", 400, "token is missing.")
        async with self.db.write() as session:
            row = (
                await session.execute(
                    select(AccessToken.id, AccessToken.app_id).where(
                        AccessToken.token_hash == digest(token)
                    )
                )
            ).one_or_none()
            if row is None:
                return
            if row.app_id != app.id:
                raise TokenError("unauthorized_client", 403)
            await self._delete_tokens(session, AccessToken.id == row.id)

    async def _delete_tokens(self, session, condition) -> int:
        rows = (
            await session.execute(select(AccessToken.id, AccessToken.user_id).where(condition))
        ).all()
        if not rows:
            return 0
        await session.execute(delete(AccessToken).where(AccessToken.id.in_([r.id for r in rows])))
        by_user: dict[int, list[int]] = {}
        for row in rows:
            by_user.setdefault(row.user_id, []).append(row.id)
        for callback in self.on_revoked:
            after_commit(session, lambda callback=callback: callback(by_user))
        return len(rows)

    async def revoke_all_of(self, session, user_id: int) -> int:
        """Inside the caller's transaction (a password change): every token of the person."""
        return await self._delete_tokens(session, AccessToken.user_id == user_id)

    # -- the person's list ----------------------------------------------------------------

    async def authorized_apps(self, user: User) -> list[AuthorizedApp]:
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(AccessToken, OAuthApp)
                    .join(OAuthApp, OAuthApp.id == AccessToken.app_id)
                    .where(AccessToken.user_id == user.id)
                    .order_by(AccessToken.id)
                )
            ).all()
        apps: dict[int, AuthorizedApp] = {}
        for token, app in rows:
            known = apps.get(app.id)
            scopes = list(known.scopes) if known else []
            scopes += [s for s in token.scope_list if s not in scopes]
            uses = [t for t in (known.last_used_at if known else None, token.last_used_at) if t]
            apps[app.id] = AuthorizedApp(
                app,
                scopes,
                known.created_at if known else token.created_at,
                max(uses, default=None),
            )
        return sorted(apps.values(), key=lambda a: a.created_at, reverse=True)

    async def revoke_app(self, user: User, app_id: int) -> int:
        async with self.db.write() as session:
            return await self._delete_tokens(
                session, (AccessToken.user_id == user.id) & (AccessToken.app_id == app_id)
            )

    async def token_count(self, user: User) -> int:
        async with self.db.read() as session:
            return await session.scalar(
                select(func.count()).select_from(AccessToken).where(AccessToken.user_id == user.id)
            )
