"""Serving stored media and static files with the headers they deserve."""

from __future__ import annotations

import logging
import re

import tornado.web

from tornagram.storage.base import MediaNotFound, StorageUnavailable, check_key
from tornagram.web.security import apply_security_headers

log = logging.getLogger(__name__)

# Media keys name their bytes: a public key's bytes never change, so caches may keep them.
IMMUTABLE_CACHE_SECS = 365 * 24 * 3600
# No file we serve has a control character in its name; os.stat raises ValueError on a NUL
# ("embedded null byte"), which StaticFileHandler does not expect (a 500).
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
# One byte range, as browsers and video players ask: "bytes=0-", "bytes=100-199", "bytes=-500".
_RANGE = re.compile(r"bytes=(?P<start>[0-9]{0,18})-(?P<end>[0-9]{0,18})")


class _FilesOnly(tornado.web.StaticFileHandler):
    def parse_url_path(self, url_path: str) -> str:
        if _CONTROL_CHARS.search(url_path):
            raise tornado.web.HTTPError(404)
        return super().parse_url_path(url_path)


class StaticHandler(_FilesOnly):
    def set_default_headers(self) -> None:
        apply_security_headers(self)


class MediaHandler(tornado.web.RequestHandler):
    """/media/<key>[?e=<expiry>&s=<signature>], from whichever backend stores the media.

    Unsigned: only public media (an avatar, a public account's photo), cacheable forever.
    Signed (storage/urls.py): anything, until the expiry, and only in the browser's own cache.
    Anything else answers 404, the same as a key nothing is stored under, so a private
    photo's key cannot be probed. ETag, If-None-Match and single byte ranges are handled here,
    the same for every backend; the body streams, chunk by chunk."""

    def initialize(self, ctx) -> None:
        self.ctx = ctx
        self._size_for_416 = 0

    def set_default_headers(self) -> None:
        apply_security_headers(self)

    async def head(self, key: str) -> None:
        await self.get(key, include_body=False)

    async def get(self, key: str, include_body: bool = True) -> None:
        try:
            check_key(key)
        except ValueError:
            raise tornado.web.HTTPError(404) from None
        cache_control = await self._access(key)
        storage = self.ctx.storage
        try:
            info = await storage.stat(key)
        except MediaNotFound:
            raise tornado.web.HTTPError(404) from None
        except StorageUnavailable as exc:
            log.warning("media %s: %s", key, exc)
            raise tornado.web.HTTPError(503) from None
        self.set_header("Cache-Control", cache_control)
        self.set_header("ETag", info.etag)
        self.set_header("Content-Type", info.content_type)
        self.set_header("Accept-Ranges", "bytes")
        if self._not_modified(info.etag):
            self.set_status(304)
            self.clear_header("Content-Type")
            return
        start, end = self._range(info.size_bytes)
        self.set_header("Content-Length", str(end - start))
        if not include_body:
            return
        try:
            async for chunk in storage.read(key, start, end):
                self.write(chunk)
                # One chunk in memory at a time: wait until it has gone to the socket.
                await self.flush()
        except MediaNotFound:
            # Deleted between the stat and the read: nothing has been sent yet.
            if not self._headers_written:
                raise tornado.web.HTTPError(404) from None
            raise
        except StorageUnavailable as exc:
            log.warning("media %s: %s", key, exc)
            if not self._headers_written:
                raise tornado.web.HTTPError(503) from None
            raise

    async def _access(self, key: str) -> str:
        """The Cache-Control this request may be served with; HTTPError if none."""
        expires = self.get_query_argument("e", None)
        signature = self.get_query_argument("s", None)
        if expires is not None or signature is not None:
            remaining = self.ctx.media_urls.check(key, expires or "", signature or "")
            if remaining is None:
                # Expired, or not ours: the page that held it gives a fresh one on reload.
                raise tornado.web.HTTPError(403, reason="Link expired")
            return f"private, max-age={remaining}"
        if not await self.ctx.photos.media_is_public(key):
            raise tornado.web.HTTPError(404)
        return f"public, max-age={IMMUTABLE_CACHE_SECS}, immutable"

    def _not_modified(self, etag: str) -> bool:
        asked = self.request.headers.get("If-None-Match", "")
        if not asked:
            return False
        tags = [tag.strip().removeprefix("W/") for tag in asked.split(",")]
        return "*" in tags or etag in tags

    def _range(self, size: int) -> tuple[int, int]:
        """The bytes to send, [start, end); sets 206 and Content-Range for a satisfiable range."""
        header = self.request.headers.get("Range")
        match = _RANGE.fullmatch(header.strip()) if header else None
        if match is None or (not match["start"] and not match["end"]):
            return 0, size  # no range, or one we do not serve (several ranges): the whole file
        if match["start"]:
            start = int(match["start"])
            end = min(int(match["end"]) + 1, size) if match["end"] else size
            if start >= size or end <= start:
                self._unsatisfiable(size)
        else:
            suffix = int(match["end"])
            if suffix == 0:
                self._unsatisfiable(size)
            start, end = max(size - suffix, 0), size
        self.set_status(206)
        self.set_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        return start, end

    def _unsatisfiable(self, size: int) -> None:
        self._size_for_416 = size  # send_error clears the headers set so far
        raise tornado.web.HTTPError(416)

    def write_error(self, status_code: int, **kwargs) -> None:
        # Errors are not cached like the media they stand in for.
        self.set_header("Cache-Control", "no-store")
        self.clear_header("ETag")
        self.clear_header("Accept-Ranges")
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        if status_code == 416:
            self.set_header("Content-Range", f"bytes */{self._size_for_416}")
        self.finish(f"{status_code}: {self._reason}\n")
