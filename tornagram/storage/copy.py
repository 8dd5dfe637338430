"""``tornagram media copy --to …``: every stored object from one backend to another, each
verified by reading it back from the target, so that switching ``--media-url`` loses nothing.

Re-runnable: an object the target already holds, intact, is left alone, so a run stopped
halfway (or run again after new uploads) copies only what is missing or damaged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field

from tornagram.storage.base import (
    MediaNotFound,
    MediaStorage,
    content_type_of,
    is_keyed,
    key_digest,
)

log = logging.getLogger(__name__)


@dataclass
class CopyReport:
    copied: int = 0
    already_there: int = 0
    # Source objects whose bytes do not match their key: not copied, named for the operator.
    damaged: list[str] = field(default_factory=list)
    # Copies that did not read back right.
    failed: list[str] = field(default_factory=list)


def holds_what_key_names(secret: bytes, key: str, data: bytes) -> bool:
    """Whether ``data`` is what ``key`` names: keyed keys through the site's secret, older
    plain keys by their SHA-256 alone."""
    sha256_hex = hashlib.sha256(data).hexdigest()
    if is_keyed(key):
        expected = hmac.new(secret, sha256_hex.encode(), hashlib.sha256).hexdigest()
    else:
        expected = sha256_hex
    return hmac.compare_digest(expected, key_digest(key))


async def _intact(storage: MediaStorage, secret: bytes, key: str) -> bool:
    try:
        return holds_what_key_names(secret, key, await storage.get(key))
    except MediaNotFound:
        return False


async def copy_media(
    source: MediaStorage, target: MediaStorage, *, secret: bytes, progress=None
) -> CopyReport:
    report = CopyReport()
    keys = [key async for key in source.iter_keys()]
    if progress is not None:
        progress.start("media copy", len(keys))
    for key in keys:
        if await _intact(target, secret, key):
            report.already_there += 1
        else:
            try:
                data = await source.get(key)
            except MediaNotFound:
                data = None  # deleted since the listing: nothing to copy
            if data is not None:
                if not holds_what_key_names(secret, key, data):
                    log.warning("%s in the source does not hold what its key names", key)
                    report.damaged.append(key)
                else:
                    await target.put_as(key, data, content_type=content_type_of(key))
                    if await _intact(target, secret, key):
                        report.copied += 1
                    else:
                        report.failed.append(key)
        if progress is not None:
            progress.advance(1)
    if progress is not None:
        progress.finish()
    return report
