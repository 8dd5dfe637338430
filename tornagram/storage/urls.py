"""The URL a page or an event should use for a stored key: the one place that knows.

Public media (a public account's photos, every avatar) gets a plain, long-lived URL that any
cache may keep forever: under ``/media/`` on this site (the default), or under
``--media-public-url`` (a bucket's website endpoint or a CDN in front of it).

Private media (a private account's photos) gets a signed URL: ``/media/<key>?e=<expiry>&s=<sig>``,
the signature an HMAC, under a secret derived from the site's, of the key and the expiry. It
works for anyone holding it until the expiry and then never again; a new page gets a new one,
so making an account private, blocking someone or deleting a post takes effect for every URL
handed out after it.

With ``--media-public-url`` on S3 and long-lived credentials, a private photo's URL is instead
the bucket's own presigned GET for the same expiry, so private media skips this site too.

Expiries are rounded to a window (a quarter of the lifetime), so the URLs in pages drawn
within one window are equal: browsers reuse what they fetched, and a rendered card may be
cached for the window (its cache key holds ``window()``) without ever holding a URL that has
less than three quarters of its lifetime left.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

DEFAULT_SIGNED_URL_TTL_SECS = 3600
MIN_SIGNED_URL_TTL_SECS = 60
# 128 bits of HMAC-SHA256, hex: out of reach of guessing, short enough for srcset.
SIGNATURE_HEX_CHARS = 32
PRESIGNED_MEMO_ENTRIES = 50_000


def signing_secret(site_secret: str) -> bytes:
    return hmac.new(site_secret.encode(), b"tornagram media urls v1", hashlib.sha256).digest()


class MediaUrls:
    def __init__(
        self,
        *,
        secret: bytes,
        ttl_secs: int = DEFAULT_SIGNED_URL_TTL_SECS,
        public_base: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl_secs < MIN_SIGNED_URL_TTL_SECS:
            raise ValueError(f"signed media URLs must live at least {MIN_SIGNED_URL_TTL_SECS} s")
        self._secret = secret
        self.ttl_secs = ttl_secs
        self.window_secs = max(ttl_secs // 4, 1)
        self.public_base = public_base.rstrip("/") + "/" if public_base else ""
        self.clock = clock
        # With media served from the bucket (--media-public-url on S3): the backend's own
        # presigned GET, presign(key, expires_secs, cache_control) -> url (storage/s3.py).
        self.presign: Callable[[str, int, str], str] | None = None
        self._presigned: dict[tuple[str, int], str] = {}

    # -- building --------------------------------------------------------------------------

    def public(self, key: str | None) -> str | None:
        """The cacheable URL of public media (None for no key)."""
        if not key:
            return None
        if self.public_base:
            return self.public_base + key
        return "/media/" + key

    def proxied(self, key: str | None) -> str | None:
        """The URL on this site, whatever --media-public-url says (og:image, e-mails)."""
        return "/media/" + key if key else None

    def signed(self, key: str) -> str:
        expires = self.expiry()
        if self.presign is not None:
            return self._presigned_url(key, expires)
        return f"/media/{key}?e={expires}&s={self.signature(key, expires)}"

    def _presigned_url(self, key: str, expires: int) -> str:
        # One URL per key and window, like ours, so browsers reuse what they fetched.
        url = self._presigned.get((key, expires))
        if url is None:
            if len(self._presigned) >= PRESIGNED_MEMO_ENTRIES:
                self._presigned.clear()
            remaining = max(expires - int(self.clock()), 1)
            url = self.presign(key, remaining, f"private, max-age={remaining}")
            self._presigned[(key, expires)] = url
        return url

    def for_media(self, key: str | None, *, private: bool) -> str | None:
        if not key:
            return None
        return self.signed(key) if private else self.public(key)

    # -- windows and checking --------------------------------------------------------------

    def window(self) -> int:
        """The number of the current signing window; every signed URL made in it is equal."""
        return int(self.clock()) // self.window_secs

    def expiry(self) -> int:
        return self.window() * self.window_secs + self.ttl_secs

    def signature(self, key: str, expires: int) -> str:
        message = f"{key}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:SIGNATURE_HEX_CHARS]

    def check(self, key: str, expires: str, signature: str) -> int | None:
        """Seconds the URL still holds if the signature is good and unexpired; else None."""
        if not (expires.isascii() and expires.isdigit() and len(expires) <= 12):
            return None
        if not signature.isascii():  # compare_digest refuses other text with a TypeError
            return None
        good = hmac.compare_digest(self.signature(key, int(expires)), signature)
        remaining = int(expires) - int(self.clock())
        return remaining if good and remaining > 0 else None


def media_url(key: str | None) -> str | None:
    """The proxied path of *public* media (avatars) for JSON and live events built by services,
    which have no handler at hand: valid whatever --media-public-url says, since /media/ serves
    every backend. Photos in pages go through ``MediaUrls.for_media``."""
    return f"/media/{key}" if key else None
