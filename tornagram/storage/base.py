"""Where media files live: the MediaStorage protocol and the key scheme every backend shares.

Keys are chosen by the server, never by the uploader. A key is the HMAC, under this site's own
media secret, of the content's SHA-256, fanned out over two directory levels so no directory
grows past a few thousand entries, and marked with a ``k/`` prefix. Equal bytes on one site
get equal keys (every put is idempotent and identical renditions share one object), but
another site, or anyone holding the photo, cannot compute the key: asking this site whether
it stores a given picture tells them nothing.

Keys without the prefix are the plain SHA-256 keys written before keys were secret; they are
still read, and ``tornagram migrate-media`` rewrites them (docs/media.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

KEYED_PREFIX = "k/"
# "[k/]ab/cd/abcd…(64 hex).jpg": the two directory names must be the first four hex digits of
# the name itself, so a key cannot point anywhere a put would not have written.
KEY_PATTERN = re.compile(
    r"(?P<keyed>k/)?(?P<fan1>[0-9a-f]{2})/(?P<fan2>[0-9a-f]{2})/"
    r"(?P<digest>(?P=fan1)(?P=fan2)[0-9a-f]{60})\.(?P<ext>[a-z0-9]{1,8})"
)
EXT_PATTERN = re.compile(r"[a-z0-9]{1,8}")
# type/subtype with the usual token characters; nothing that could end a header line.
_MIME_NAME = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
CONTENT_TYPE_PATTERN = re.compile(f"{_MIME_NAME}/{_MIME_NAME}")
# What a stored extension is served as (every rendition and avatar we write is one of these).
CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "png": "image/png",
    "gif": "image/gif",
    "avif": "image/avif",
}
# Reads stream in pieces of this size: a 20 MB original never sits whole in memory.
READ_CHUNK_BYTES = 256 * 1024


class MediaNotFound(LookupError):
    """No file is stored under this key."""


class StorageUnavailable(OSError):
    """The backend could not be reached or refused the request; the message says which."""


@dataclass(frozen=True, slots=True)
class MediaInfo:
    key: str
    size_bytes: int
    content_type: str

    @property
    def etag(self) -> str:
        """A strong validator: a key's bytes never change, so its digest names them."""
        return f'"{key_digest(self.key)}"'


@runtime_checkable
class MediaStorage(Protocol):
    """Everything that reads or writes media goes through this; nothing else knows where or
    how files are kept."""

    async def put(self, data: bytes, *, ext: str, content_type: str) -> str:
        """Store the bytes; return their key (see ``keyed_key``). Storing them again is a no-op."""
        ...

    async def put_as(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store bytes under a key another backend chose (``tornagram media copy``)."""
        ...

    async def stat(self, key: str) -> MediaInfo:
        """Size and type; MediaNotFound if nothing is stored under the key."""
        ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes from ``start`` up to (not including) ``end``, in chunks of at most
        READ_CHUNK_BYTES; MediaNotFound (on the first iteration) if there are none."""
        ...

    async def get(self, key: str) -> bytes:
        """The whole of a (small) file; MediaNotFound if there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the file; a key that is already gone is not an error."""
        ...

    async def exists(self, key: str) -> bool: ...

    def iter_keys(self) -> AsyncIterator[str]:
        """Every stored key, in no promised order (used for sweeps of unreferenced files)."""
        ...

    async def close(self) -> None: ...


def media_secret(site_secret: str) -> bytes:
    """The key-derivation secret, derived from the site's secret so there is one less thing to
    configure and keep, and so two sites never share it."""
    return hmac.new(site_secret.encode(), b"tornagram media keys v1", hashlib.sha256).digest()


def keyed_key(secret: bytes, data: bytes, ext: str) -> str:
    return keyed_key_for_digest(secret, hashlib.sha256(data).hexdigest(), ext)


def keyed_key_for_digest(secret: bytes, sha256_hex: str, ext: str) -> str:
    check_ext(ext)
    digest = hmac.new(secret, sha256_hex.encode(), hashlib.sha256).hexdigest()
    return f"{KEYED_PREFIX}{digest[:2]}/{digest[2:4]}/{digest}.{ext}"


def content_key(data: bytes, ext: str) -> str:
    """The plain content-hash key of before (``migrate-media`` reads and rewrites them)."""
    check_ext(ext)
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}.{ext}"


def is_keyed(key: str) -> bool:
    return key.startswith(KEYED_PREFIX)


def key_digest(key: str) -> str:
    return KEY_PATTERN.fullmatch(check_key(key)).group("digest")


def key_ext(key: str) -> str:
    return KEY_PATTERN.fullmatch(check_key(key)).group("ext")


def content_type_of(key: str) -> str:
    return CONTENT_TYPES.get(key_ext(key), "application/octet-stream")


def check_key(key: str) -> str:
    """Return the key if it is one a put could have made; otherwise raise ValueError."""
    # fullmatch, not match with "$": "$" would also accept a trailing newline.
    if not isinstance(key, str) or KEY_PATTERN.fullmatch(key) is None:
        raise ValueError(f"invalid media key: {key!r}")
    return key


def check_ext(ext: str) -> str:
    if not isinstance(ext, str) or EXT_PATTERN.fullmatch(ext) is None:
        raise ValueError(f"invalid media extension: {ext!r} (lower-case letters and digits)")
    return ext


def check_content_type(content_type: str) -> str:
    if not isinstance(content_type, str) or CONTENT_TYPE_PATTERN.fullmatch(content_type) is None:
        raise ValueError(f"invalid content type: {content_type!r}")
    return content_type


def check_range(start: int, end: int | None) -> None:
    if start < 0 or (end is not None and end < start):
        raise ValueError(f"invalid byte range: {start}-{end}")
