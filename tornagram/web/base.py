"""The handler every page and API endpoint builds on: user, language, headers, errors, logs."""

from __future__ import annotations

import asyncio
import http
import logging
import re
import secrets
import time
import traceback
from typing import Any

import tornado.locale
import tornado.web

from tornagram.accounts.service import NOT_READ
from tornagram.accounts.validation import LANGUAGES
from tornagram.errors import RetryLater, UserError
from tornagram.moderation.site import DEFAULTS as SITE_DEFAULTS
from tornagram.notifications.service import count_unread
from tornagram.web.failures import resource_failure
from tornagram.web.import_map import import_map
from tornagram.web.page_slots import CachedRenderings
from tornagram.web.security import apply_security_headers, safe_next

log = logging.getLogger(__name__)

SESSION_COOKIE = "session"
LANGUAGE_COOKIE = "lang"
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_STATIC_URLS: dict[str, str] = {}
# Signed cookie value -> (the token inside, until when it counts as verified).
_VERIFIED_COOKIES: dict[str, tuple[str, float]] = {}
VERIFIED_COOKIES_MAX = 50_000
VERIFIED_COOKIE_SECS = 60.0
# Shared read sessions being closed after their response (held so they are not collected).
_CLOSING: set[asyncio.Future] = set()


# The id of the stand-in comment in the photo page's live-comment template (ui_modules): above
# every id we issue, replaced by live-pages.js with each live comment's own.
TEMPLATE_COMMENT_ID = 9_000_000_000_000_000_001


class BaseHandler(CachedRenderings, tornado.web.RequestHandler):
    """Loads the signed-in user in ``prepare`` (``get_current_user`` cannot await)."""

    # A suspended account, one waiting for approval, or one a moderator asked for a new
    # password, reaches only the pages that say so (and signing in and out, the language):
    # everything else leads there.
    open_while_restricted = False

    # Whether a page's reads share one database session (off for responses that wait).
    shares_reads = True

    def initialize(self, ctx) -> None:
        self.ctx = ctx
        # Given out here rather than in prepare so that errors raised before prepare (a failed
        # XSRF check) are logged with an id too. A proxy's id is kept so logs line up.
        incoming = self.request.headers.get("X-Request-Id", "")
        self.request_id = incoming if REQUEST_ID_RE.match(incoming) else secrets.token_hex(8)
        self.set_header("X-Request-Id", self.request_id)
        self.current_session = None
        # Every read of a page shares one database session (Database.share_reads).
        self._shared_reads = None
        # While rendering for the page cache: forms get XSRF_SLOT, and the page is kept here.
        self._page_capture: list | None = None
        # While rendering a page shared by every viewer: the viewer's parts get slots too.
        self._shared_capture = False
        self._xsrf_html: bytes | None = None

    def set_default_headers(self) -> None:
        # Pages carry the import map (web/import_map.py); the CSP allows that one inline text.
        apply_security_headers(self, import_map(self)[1])
        # Tornado calls this before initialize (no id yet) and again when an error page
        # replaces the response; the id must survive the second call.
        if hasattr(self, "request_id"):
            self.set_header("X-Request-Id", self.request_id)

    async def prepare(self) -> None:
        # The badge in the navigation: one more query, for members, on responses that are
        # pages (JSON answers, long polls included, and sockets have no navigation).
        is_page = not self.wants_json() and "Upgrade" not in self.request.headers
        if is_page and self.shares_reads and self.request.method in ("GET", "HEAD"):
            # The session, the badge and the page's own reads, in one database session. Pages
            # only: a long poll or a socket would hold a pooled connection while it waits.
            self._shared_reads = self.ctx.db.share_reads()
        # The site's name and rules (cached in memory; moderation/site.py).
        self.site_info = await self.ctx.site.current()
        token = self.session_token()
        feed = self.ctx.notification_feed
        # When the session is read from the database, the badge is counted in the same read.
        badge_stamp = feed.unread_stamp() if is_page else None
        signed_in, badge = await self.ctx.accounts.signed_in_with(
            token, count_unread if is_page else None
        )
        if signed_in is None:
            self.current_user = None
            if token:
                # Revoked, expired or signed out elsewhere: drop the dead cookie.
                self.clear_cookie(SESSION_COOKIE)
        else:
            self.current_user = signed_in.user
            self.current_session = signed_in.session
            if not self.open_while_restricted and self._restricted(signed_in.user):
                return
        if self.current_user is None or not is_page:
            self.unread_notifications = 0
        elif badge is NOT_READ:
            self.unread_notifications = await feed.unread_count(self.current_user)
        else:
            feed.keep_unread(self.current_user, badge, badge_stamp)
            self.unread_notifications = badge

    def _restricted(self, user) -> bool:
        """Send a restricted account to its notice; True when the request is answered."""
        if user.suspended_at is not None:
            page = "suspended"
        elif user.approval_pending_since is not None:
            page = "waiting"
        elif user.password_reset_required:
            page = "settings_password"
        else:
            return False
        is_page = not self.wants_json() and "Upgrade" not in self.request.headers
        if self.request.method in ("GET", "HEAD") and is_page:
            self.redirect(self.reverse_url(page))
            return True
        raise tornado.web.HTTPError(403)

    def on_finish(self) -> None:
        self._end_shared_reads()

    def _end_shared_reads(self) -> None:
        shared, self._shared_reads = self._shared_reads, None
        if shared is not None and shared.session is not None:
            # The page is written; its connection goes back to the pool without waiting.
            task = asyncio.ensure_future(shared.close())
            _CLOSING.add(task)
            task.add_done_callback(_CLOSING.discard)

    def get_current_user(self) -> Any:
        # Only reached when prepare did not run (an error before it): nobody is signed in.
        return None

    # -- sessions -----------------------------------------------------------------------------

    def start_session(self, token: str) -> None:
        self.set_signed_cookie(
            SESSION_COOKIE,
            token,
            expires_days=self.ctx.settings.session_max_age_days,
            httponly=True,
            samesite="Lax",
            secure=self.request.protocol == "https",
        )

    def end_session(self) -> None:
        self.clear_cookie(SESSION_COOKIE)

    def session_token(self) -> str | None:
        """The token in the signed session cookie, if its signature holds.

        Checking the signature (HMAC) is a good part of a cached page's cost, and a browser
        sends the same cookie on every request: a cookie verified in the last minute is taken
        as verified. The age limit is kept by the session row's own expiry."""
        raw = self.get_cookie(SESSION_COOKIE)
        if not raw:
            return None
        now = time.monotonic()
        known = _VERIFIED_COOKIES.get(raw)
        if known is not None and known[1] > now:
            return known[0]
        value = self.get_signed_cookie(
            SESSION_COOKIE, raw, max_age_days=self.ctx.settings.session_max_age_days
        )
        token = value.decode() if value else None
        if token is not None:
            if len(_VERIFIED_COOKIES) >= VERIFIED_COOKIES_MAX:
                _VERIFIED_COOKIES.clear()
            _VERIFIED_COOKIES[raw] = (token, now + VERIFIED_COOKIE_SECS)
        return token

    # -- language -------------------------------------------------------------------------------

    def get_user_locale(self) -> tornado.locale.Locale | None:
        user = self.current_user
        code = user.locale if user is not None and user.locale else None
        if code is None:
            cookie = self.get_cookie(LANGUAGE_COOKIE)
            code = cookie if cookie in LANGUAGES else None
        # None: Tornado falls back to Accept-Language.
        return tornado.locale.get(code) if code else None

    # -- helpers --------------------------------------------------------------------------------

    @property
    def client_ip(self) -> str:
        return self.request.remote_ip or ""

    @property
    def user_agent(self) -> str:
        return self.request.headers.get("User-Agent", "")

    def absolute_url(self, path: str) -> str | None:
        """``path`` on this site as an absolute URL, for links that leave it (og:url,
        og:image). Built from ``--site-url``: the Host header is whatever the client sent, and
        a page cached or shared with another host in it points people elsewhere. Without a
        site URL only development (``--debug``) falls back to the request; otherwise None,
        and the page leaves such links out."""
        base = self.ctx.settings.site_url
        if not base:
            if not self.ctx.settings.debug:
                return None
            base = f"{self.request.protocol}://{self.request.host}"
        return base + path

    def next_url(self, default: str = "/") -> str:
        return safe_next(self.get_argument("next", None), default)

    def see_other(self, url: str) -> None:
        """303: after a form post, the browser GETs the next page (no re-post on refresh)."""
        self.redirect(url, status=303)

    def error_text(self, exc: UserError) -> str:
        return exc.render(self.locale.translate)

    def field_errors(self, exc: UserError | None) -> dict[str, str]:
        """Each field's message, in the reader's language, for a form shown again."""
        if exc is None:
            return {}
        return {field: self.error_text(err) for field, err in exc.by_field().items()}

    def error_body(self, status_code: int, exc: BaseException | None = None) -> dict[str, Any]:
        """What a script is told of a refusal: the status, the message in the reader's language
        and, for a ``UserError``, each field's message (as a form would show them)."""
        error: dict[str, Any] = {"status": status_code, "message": self._reason}
        if isinstance(exc, UserError):
            error["message"] = self.error_text(exc) or self._reason
            error["fields"] = self.field_errors(exc)
        return {"error": error}

    # -- cached renderings (and the rest in page_slots.CachedRenderings) -------------------

    def static_url(self, path: str, include_host: bool | None = None, **kwargs: Any) -> str:
        # Tornado hashes each file once but still resolves and checks the path on every call;
        # a page makes a dozen calls for the same few files. Kept per process, unless files may
        # change underneath (debug) or the URL is not the plain one.
        if (
            include_host
            or kwargs
            or getattr(self, "include_host", False)
            or not self.settings.get("static_hash_cache", True)
        ):
            return super().static_url(path, include_host, **kwargs)
        url = _STATIC_URLS.get(path)
        if url is None:
            url = _STATIC_URLS[path] = super().static_url(path, include_host, **kwargs)
        return url

    def compute_etag(self) -> str | None:
        # A page with forms carries this response's own masked XSRF token, so it differs from
        # every other response and can never match an earlier ETag: hashing it (a 70 KB feed
        # page) would be wasted work on every view.
        if hasattr(self, "_xsrf_token"):
            return None
        return super().compute_etag()

    def media_src(self, key: str | None, *, private: bool = False) -> str | None:
        """The URL of a stored key for this page: signed and expiring when ``private``."""
        return self.ctx.media_urls.for_media(key, private=private)

    def photo_src(self, key: str | None, author) -> str | None:
        """A photo's URL: a private account's photos are only ever handed out signed."""
        return self.media_src(key, private=bool(author.is_private))

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace.update(
            media_src=self.media_src,
            photo_src=self.photo_src,
            settings=self.ctx.settings,
            languages=LANGUAGES,
            current_path=self.request.path,
            import_map_json=import_map(self)[0],
            # Before prepare (an error that early) the defaults stand in.
            site=getattr(self, "site_info", None) or SITE_DEFAULTS,
            errors={},
            form={},
            viewer_part=self.viewer_part,
            # The stand-in comment a live comment is cloned from (ui_modules.LiveCommentTemplate)
            # draws Report too; the script removes it from the viewer's own comments.
            stand_in_comment_id=TEMPLATE_COMMENT_ID,
        )
        return namespace

    def say_when_to_retry(self, exc: BaseException | None) -> None:
        """``Retry-After`` for a refusal that is for now, not for good."""
        if isinstance(exc, RetryLater):
            self.set_header("Retry-After", str(exc.retry_after_secs))

    def render_form(
        self, template: str, exc: UserError | None = None, *, keep_password: bool = False,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        """Re-show a form with the user's input and a message for each bad field. Passwords
        are not sent back, unless ``keep_password`` (a sign-up refused for another field: the
        person's own typing, to the same browser, on a page no cache keeps: a sign-up refused
        only for the site's rules or question)."""
        if exc is not None:
            self.set_status(exc.status)
            self.say_when_to_retry(exc)
        errors = self.field_errors(exc)
        form = {k: self.get_body_argument(k, "") for k in self.request.body_arguments}
        form.pop("_xsrf", None)
        kept = ("password",) if keep_password and "password" not in errors else ()
        for secret_field in ("password", "current_password", "new_password"):
            if secret_field not in kept:
                form.pop(secret_field, None)
        self.render(template, errors=errors, form=form, **kwargs)

    # -- errors ---------------------------------------------------------------------------------

    def _handle_request_exception(self, e: BaseException) -> None:
        # Services raise UserError without knowing about HTTP; give it its own status here
        # rather than a 500. Everything else takes Tornado's normal path.
        translated = resource_failure(e)
        if translated is not None:
            log.warning("%s %s refused: %s", self.request.method, self.request.path, e)
            translated.__cause__ = e
            e = translated
        if isinstance(e, UserError) and not self._finished:
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = self.error_text(exc) if isinstance(exc, UserError) else None
        # send_error() cleared the headers set before it; say when to come back here.
        self.say_when_to_retry(exc)
        trace = None
        if self.settings.get("serve_traceback") and "exc_info" in kwargs:
            trace = "".join(traceback.format_exception(*kwargs["exc_info"]))
        if self.wants_json():
            body = self.error_body(status_code, exc)
            if trace:
                body["error"]["traceback"] = trace
            self.finish(body)
            return
        try:
            self.render(
                "error.html",
                status_code=status_code,
                reason=_status_phrase(status_code),
                message=message,
                traceback=trace,
            )
        except Exception:
            # The error page itself failed (a broken template, the database gone): say it plainly.
            log.exception("error page failed to render")
            self.finish(f"{status_code} {_status_phrase(status_code)}")

    def wants_json(self) -> bool:
        accept = self.request.headers.get("Accept", "")
        return "application/json" in accept and "text/html" not in accept


def _status_phrase(code: int) -> str:
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return "Error"


class NotFoundHandler(BaseHandler):
    """Every unmatched URL: the friendly 404 page, with the user still signed in."""

    async def prepare(self) -> None:
        await super().prepare()
        raise tornado.web.HTTPError(404)


class HealthHandler(tornado.web.RequestHandler):
    """Cheap on purpose: load balancers poll it, and benchmarks use it as the ceiling."""

    def initialize(self, ctx) -> None:
        self.ctx = ctx

    def get(self) -> None:
        if not self.ctx.ready:
            self.set_status(503)
            self.finish({"status": "starting"})
            return
        self.finish({"status": "ok"})
