"""The OAuth 2 server's pure rules: secrets and their digests, what a redirect URI and a
website may be, PKCE, and the values and errors the service and its handlers pass around."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from tornagram.accounts.models import User
from tornagram.errors import UserError
from tornagram.oauth.models import AccessToken, OAuthApp

OOB_URI = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)
# Writing last use on every request would turn every API read into a write.
TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)
APP_NAME_MAX_CHARS = 200
WEBSITE_MAX_CHARS = 500
REDIRECT_URI_MAX_CHARS = 2000
MAX_REDIRECT_URIS = 20
REFUSED_SCHEMES = {"javascript", "data", "vbscript", "file"}
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
VERIFIER_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """32 random bytes, base64url without padding: 43 characters from ``[A-Za-z0-9_-]``,
    valid in a URL and as a WebSocket subprotocol."""
    return secrets.token_urlsafe(32)


class InvalidApp(UserError):
    """A registration the API refuses (422)."""

    status = 422


class BadClient(UserError):
    """An authorization request that cannot be answered by redirecting: an unknown app, or a
    redirect URI it did not register. Shown as a 400 page, never a redirect."""

    status = 400


class AuthorizationRefused(Exception):
    """A problem that goes back to the app, on its redirect URI (``error=…``)."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.description = description


class TokenError(Exception):
    """An answer from the token or revocation endpoint: ``{"error": …}`` with its status."""

    def __init__(self, error: str, status: int = 400, description: str = "") -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.description = description


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """What the consent page shows and its form carries back, checked."""

    app: OAuthApp
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    code_challenge: str | None

    @property
    def oob(self) -> bool:
        return self.redirect_uri == OOB_URI


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    row: AccessToken


@dataclass(frozen=True, slots=True)
class TokenUse:
    """A valid token and whose it is."""

    token: AccessToken
    user: User
    app: OAuthApp


@dataclass(frozen=True, slots=True)
class AuthorizedApp:
    """One app as the person's settings list it: its tokens' scopes together, the latest use."""

    app: OAuthApp
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None


def check_redirect_uri(uri: str) -> str:
    uri = uri.strip()
    if uri == OOB_URI:
        return uri
    if not uri or len(uri) > REDIRECT_URI_MAX_CHARS or any(c.isspace() or ord(c) < 32 for c in uri):
        raise InvalidApp("Redirect URI is not valid.")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if not scheme or not _SCHEME.fullmatch(parts.scheme) or scheme in REFUSED_SCHEMES:
        raise InvalidApp("Redirect URI is not valid.")
    if "#" in uri:
        raise InvalidApp("Redirect URI must not contain a fragment.")
    if scheme in ("http", "https") and not parts.netloc:
        raise InvalidApp("Redirect URI is not valid.")
    if not parts.netloc and not parts.path:
        raise InvalidApp("Redirect URI is not valid.")
    return uri


def check_website(website: str) -> str:
    website = (website or "").strip()
    if not website:
        return ""
    parts = urlsplit(website)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or len(website) > WEBSITE_MAX_CHARS
    ):
        raise InvalidApp("Website must be an http or https address.")
    return website


def pkce_matches(verifier: str, challenge: str) -> bool:
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return hmac.compare_digest(computed.rstrip(b"=").decode(), challenge)
