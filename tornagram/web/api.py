"""The handler every app-API endpoint builds on (``/api/…`` and the OAuth token endpoints).

It authenticates with ``Authorization: Bearer`` only (never the session cookie, so there is
no XSRF to check: a page on another site cannot make a browser send a bearer token), checks
the route's declared scope before anything else, counts the request against its rate limit,
answers every error as JSON ``{"error": …}``, and carries the CORS headers browser clients
need. The scope each route needs is declared beside the route table (``app.py``) and handed in
as ``scopes``: {method: Need}.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import tornado.locale
import tornado.web

from tornagram.api.entities import Urls
from tornagram.api.pagination import BadCursor, Cursor, link_header, parse_cursor
from tornagram.errors import TooManyRequests, UserError
from tornagram.oauth.scopes import grants
from tornagram.ratelimit import TOO_FAST_MESSAGE
from tornagram.web.api_limits import REQUESTS, iso_time
from tornagram.web.base import BaseHandler

log = logging.getLogger(__name__)

OUTSIDE_SCOPES = "This action is outside the authorized scopes"
INVALID_TOKEN = "The access token is invalid"  # noqa: S105 (a message, not a secret)
CORS_EXPOSE = "Link, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-Request-Id"
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key, Accept, X-Request-Id"
CORS_MAX_AGE_SECS = 86_400
# Bodies and arrays an API call may send; past these it is a 400, not work.
MAX_JSON_BODY_BYTES = 1024 * 1024
MAX_ARRAY_ITEMS = 100
TRUE_WORDS = {"true", "1", "True", "on"}
FALSE_WORDS = {"false", "0", "False", "off", ""}


@dataclass(frozen=True, slots=True)
class Need:
    """What a route's method needs: one of ``scopes`` (none: any valid token), and whether it
    also works without a token (``public``). ``anyone`` routes do not look at tokens at all."""

    scopes: tuple[str, ...] = ()
    public: bool = False
    anyone: bool = False

    def allows(self, granted) -> bool:
        return not self.scopes or any(grants(granted, scope) for scope in self.scopes)


def user(*scopes: str) -> Need:
    return Need(scopes)


def public(*scopes: str) -> Need:
    return Need(scopes, public=True)


ANYONE = Need(anyone=True)


class ApiError(tornado.web.HTTPError):
    """An API answer that is not a success: ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, description: str | None = None) -> None:
        super().__init__(status, reason=None)
        self.message = message
        self.description = description


class BadParameter(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class Unprocessable(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(422, message)


class PathOnlyLogMixin:
    """Tornado's log of an uncaught exception names the whole request URI, query included;
    codes and tokens travel there (``?code=``, ``?access_token=``), so only the path is
    logged."""

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, tornado.web.HTTPError):
            return super().log_exception(typ, value, tb)
        log.error(
            "uncaught exception %s %s", self.request.method, self.request.path,
            exc_info=(typ, value, tb),
        )  # fmt: skip


class ApiHandler(PathOnlyLogMixin, BaseHandler):
    """Thin API handlers build on this: ``self.current_user`` is the token's person (or None
    on a public route called without one), ``self.token_use`` the token."""

    def initialize(self, ctx, scopes: dict[str, Need] | None = None) -> None:
        super().initialize(ctx)
        self.scopes = scopes or {}
        self.token_use = None
        self._json_body: dict | None = None

    # -- headers ----------------------------------------------------------------------------

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Access-Control-Expose-Headers", CORS_EXPOSE)
        if hasattr(self, "request_id"):
            self.set_header("X-Request-Id", self.request_id)
        limits = getattr(self, "_rate_headers", None)
        if limits:
            for name, value in limits.items():
                self.set_header(name, value)

    def check_xsrf_cookie(self) -> None:
        # Bearer tokens only: no cookie is read, so there is nothing to forge.
        return

    def get_user_locale(self) -> tornado.locale.Locale | None:
        user = self.current_user
        if user is not None and user.locale:
            return tornado.locale.get(user.locale)
        return None  # Accept-Language

    def options(self, *args: Any) -> None:
        """A CORS preflight."""
        self.set_status(204)
        self.set_header("Access-Control-Allow-Methods", CORS_METHODS)
        requested = self.request.headers.get("Access-Control-Request-Headers", "")
        self.set_header("Access-Control-Allow-Headers", requested or CORS_HEADERS)
        self.set_header("Access-Control-Max-Age", str(CORS_MAX_AGE_SECS))
        self.finish()

    # -- authentication, scope, limits -----------------------------------------------------

    def bearer_token(self) -> str | None:
        header = self.request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None

    async def prepare(self) -> None:
        self.current_user = None
        if self.request.method == "OPTIONS":
            return
        need = self.scopes.get(self.request.method)
        if need is None:
            raise ApiError(405, "Method not allowed")
        if need.anyone:
            self.count_request(None)
            return
        token = self.bearer_token()
        if token is None and not need.public:
            raise self.invalid_token()
        if token is not None:
            use = await self.ctx.oauth.token_use(token)
            if use is None:
                raise self.invalid_token()
            if not need.allows(use.token.scope_list):
                self.count_request(use)
                raise ApiError(403, OUTSIDE_SCOPES)
            self.token_use = use
            self.current_user = use.user
        self.count_request(self.token_use)

    def invalid_token(self) -> ApiError:
        self._www_authenticate = True
        return ApiError(401, INVALID_TOKEN)

    def count_request(self, use) -> None:
        key = ("token", use.token.id) if use is not None else ("ip", self.client_ip)
        remaining, reset, allowed = self.ctx.api_requests.take(key, REQUESTS)
        self._rate_headers = {
            "X-RateLimit-Limit": str(REQUESTS.limit),
            "X-RateLimit-Remaining": str(max(remaining, 0)),
            "X-RateLimit-Reset": iso_time(reset),
        }
        self.set_default_headers()
        if not allowed:
            wait = max(1, int(reset - time.time()))
            raise TooManyRequests(TOO_FAST_MESSAGE, retry_after_secs=wait, secs=wait)

    # -- parameters -------------------------------------------------------------------------

    def json_body(self) -> dict:
        if self._json_body is None:
            self._json_body = {}
            content_type = self.request.headers.get("Content-Type", "")
            if content_type.split(";")[0].strip().lower() == "application/json":
                body = self.request.body
                if len(body) > MAX_JSON_BODY_BYTES:
                    raise BadParameter("Request body is too large")
                if body.strip():
                    try:
                        parsed = json.loads(body)
                    except (ValueError, UnicodeDecodeError):
                        raise BadParameter("Request body is not valid JSON") from None
                    if not isinstance(parsed, dict):
                        raise BadParameter("Request body must be a JSON object")
                    self._json_body = parsed
        return self._json_body

    def param(self, name: str, default: str | None = None) -> str | None:
        """A text parameter from the JSON body, the form body or the query."""
        body = self.json_body()
        if name in body:
            value = body[name]
            if value is None:
                return default
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, int | float):
                return str(value)
            if not isinstance(value, str):
                raise BadParameter(f"{name} must be a string")
            return value
        value = self.get_argument(name, None)
        return default if value is None else value

    def param_list(self, name: str) -> list[str]:
        """An array: ``name[]=a&name[]=b`` (or repeated ``name``) in forms, a JSON array."""
        body = self.json_body()
        if name in body or f"{name}[]" in body:
            value = body.get(name, body.get(f"{name}[]"))
            if value is None:
                return []
            if isinstance(value, str | int):
                value = [value]
            if not isinstance(value, list):
                raise BadParameter(f"{name} must be an array")
            if len(value) > MAX_ARRAY_ITEMS:
                raise BadParameter(f"{name} has too many values")
            if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
                raise BadParameter(f"{name} must be an array of strings")
            return [str(v) for v in value]
        values = self.get_arguments(f"{name}[]") + self.get_arguments(name)
        if len(values) > MAX_ARRAY_ITEMS:
            raise BadParameter(f"{name} has too many values")
        return values

    def param_bool(self, name: str, default: bool = False) -> bool:
        value = self.param(name)
        if value is None:
            return default
        if value in TRUE_WORDS:
            return True
        if value in FALSE_WORDS:
            return False
        raise BadParameter(f"{name} must be true or false")

    def param_int(self, name: str, default: int, *, low: int, high: int) -> int:
        value = self.param(name)
        if value is None or value == "":
            return default
        if not (value.isascii() and value.isdigit()) or len(value) > 9:
            raise BadParameter(f"{name} must be a number")
        return min(max(int(value), low), high)

    # -- answers ----------------------------------------------------------------------------

    def site_url(self, path: str = "") -> str:
        """Absolute URLs from the request's scheme and host (honouring --behind-proxy, which
        has already put the forwarded scheme on the request)."""
        base = self.ctx.settings.site_url or f"{self.request.protocol}://{self.request.host}"
        return base.rstrip("/") + path

    def urls(self) -> Urls:
        return Urls(self.site_url())

    def cursor(self, *, default: int, maximum: int) -> Cursor:
        try:
            return parse_cursor(
                lambda name: self.get_query_argument(name, None), default=default, maximum=maximum
            )
        except BadCursor as exc:
            raise BadParameter(f"{exc} is not valid") from None

    def write_page(self, items: list, row_ids: list[int], cursor: Cursor) -> None:
        """A list answer; a non-empty one says where the next and previous pages are, by the
        ids of the rows it was ordered by (a post's, or a like's or a follow's)."""
        if items and row_ids:
            self.set_header(
                "Link",
                link_header(
                    self.site_url(self.request.path),
                    self.request.query_arguments
                    and {
                        k: [v.decode("utf-8", "replace") for v in vs]
                        for k, vs in self.request.query_arguments.items()
                    },
                    newest=row_ids[0],
                    oldest=row_ids[-1],
                    limit=cursor.limit,
                ),
            )
        self.write_json(items)

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, UserError) and not isinstance(e, ApiError) and not self._finished:
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        self.say_when_to_retry(exc)
        if getattr(self, "_www_authenticate", False):
            self.set_header("WWW-Authenticate", 'Bearer error="invalid_token"')
        body: dict[str, Any]
        if isinstance(exc, ApiError):
            body = {"error": exc.message}
            if exc.description:
                body["error_description"] = exc.description
        elif isinstance(exc, UserError):
            status_code = 422 if status_code == 400 else status_code
            self.set_status(status_code)
            body = {"error": self.error_text(exc)}
        else:
            body = {"error": _reason(status_code)}
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))


def _reason(status: int) -> str:
    return {
        400: "Bad request",
        401: INVALID_TOKEN,
        403: "Not allowed",
        404: "Record not found",
        405: "Method not allowed",
        413: "Request body is too large",
        422: "Validation failed",
        429: "Too many requests",
    }.get(status, "Internal server error" if status >= 500 else "Error")


class ApiNotFoundHandler(ApiHandler):
    """Every ``/api/…`` path no route matched: JSON 404, never the HTML page."""

    async def prepare(self) -> None:
        if self.request.method == "OPTIONS":
            return
        raise ApiError(404, "Record not found")
