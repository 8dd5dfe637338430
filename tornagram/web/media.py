"""Serving stored media and static files with the headers they deserve."""

from __future__ import annotations

import re

import tornado.web

from tornagram.storage.urls import media_url as media_url  # the handlers' name for it
from tornagram.web.security import apply_security_headers

# Media keys are content hashes: a key's bytes never change, so caches may keep them forever.
IMMUTABLE_CACHE_SECS = 365 * 24 * 3600
# No file we serve has a control character in its name; os.stat raises ValueError on a NUL
# ("embedded null byte"), which StaticFileHandler does not expect (a 500).
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


class _FilesOnly(tornado.web.StaticFileHandler):
    def parse_url_path(self, url_path: str) -> str:
        if _CONTROL_CHARS.search(url_path):
            raise tornado.web.HTTPError(404)
        return super().parse_url_path(url_path)


class StaticHandler(_FilesOnly):
    def set_default_headers(self) -> None:
        apply_security_headers(self)


class MediaHandler(_FilesOnly):
    """/media/<key>: ETag and Range come from StaticFileHandler; we add nosniff and immutability."""

    def set_default_headers(self) -> None:
        apply_security_headers(self)

    def get_cache_time(self, path: str, modified, mime_type: str) -> int:
        return IMMUTABLE_CACHE_SECS

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", f"public, max-age={IMMUTABLE_CACHE_SECS}, immutable")
