"""Where media files live: the MediaStorage protocol and the key scheme every backend shares.

Keys are chosen by the server, never by the uploader: the SHA-256 of the content, fanned out
over two directory levels so no directory grows past a few thousand entries. Equal bytes get
equal keys, which makes every put idempotent and lets identical renditions share one file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol, runtime_checkable

# "ab/cd/abcd…(64 hex).jpg": the two directory names must be the first four hex digits of the
# name itself, so a key cannot point anywhere a put would not have written.
KEY_PATTERN = re.compile(
    r"(?P<fan1>[0-9a-f]{2})/(?P<fan2>[0-9a-f]{2})/(?P=fan1)(?P=fan2)[0-9a-f]{60}\.[a-z0-9]{1,8}"
)
EXT_PATTERN = re.compile(r"[a-z0-9]{1,8}")
# type/subtype with the usual token characters; nothing that could end a header line.
_MIME_NAME = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}"
CONTENT_TYPE_PATTERN = re.compile(f"{_MIME_NAME}/{_MIME_NAME}")


class MediaNotFound(LookupError):
    """No file is stored under this key."""


@runtime_checkable
class MediaStorage(Protocol):
    async def put(self, data: bytes, *, ext: str, content_type: str) -> str:
        """Store the bytes; return their content-addressed key. Storing them again is a no-op."""
        ...

    async def get(self, key: str) -> bytes:
        """The stored bytes; MediaNotFound if there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the file; a key that is already gone is not an error."""
        ...

    async def exists(self, key: str) -> bool: ...

    def iter_keys(self) -> AsyncIterator[str]:
        """Every stored key, in no promised order (used for sweeps of unreferenced files)."""
        ...

    def local_path(self, key: str) -> Path | None:
        """The file on this machine's disk, for StaticFileHandler; None for remote backends."""
        ...


def content_key(data: bytes, ext: str) -> str:
    check_ext(ext)
    digest = hashlib.sha256(data).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}.{ext}"


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
