"""Which rows point at a stored media file, and the one way to delete a file that may be shared.

Keys are content-addressed (tornagram.storage.base): equal bytes get one key whoever stored
them, so a photo's rendition, one person's avatar and another person's avatar can all be the
same file. A file may only be deleted once *no* kind of row points at it any more, so every
column that holds a media key is listed here, and every delete of a shared key (deleting a
post, changing or removing an avatar, ``tornagram gc-media``) goes through ``delete_unreferenced``.
A new kind of reference (a room cover file, say) is added to ``REFERENCE_COLUMNS`` and nowhere else.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, text, union

from tornagram.accounts.models import User
from tornagram.db.engine import NAMED_LOCKS
from tornagram.errors import RetryLater
from tornagram.i18n import N_
from tornagram.photos.models import MediaUploadFile, Rendition
from tornagram.storage.base import StorageUnavailable

log = logging.getLogger(__name__)

# Every column that holds a media key.
# (Photos uploaded through the app API and not yet in a post count too, until they expire.)
# How long a MySQL named lock on a media key is waited for.
NAMED_LOCK_WAIT_SECS = 30
REFERENCE_COLUMNS = (
    Rendition.key,
    User.avatar_key,
    User.avatar_small_key,
    MediaUploadFile.key,
)
# How long to tell a client to wait when media storage is unreachable.
STORAGE_RETRY_AFTER_SECS = 30
STORAGE_DOWN = N_("Photos cannot be stored right now. Please try again in a minute.")
# Bound parameters per query, well under every backend's limit (a sweep checks thousands).
KEYS_PER_QUERY = 500


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file just put, kept in memory until the rows pointing at it are committed."""

    key: str
    data: bytes
    ext: str
    content_type: str


async def lock_keys(session, keys: Iterable[str]) -> None:
    """Serialise, until this transaction ends, with any other that references or deletes the
    same keys. SQLite needs nothing: a write transaction holds the database's write lock from
    BEGIN IMMEDIATE to commit. PostgreSQL takes a transaction advisory lock per key (in sorted
    order, so two transactions cannot deadlock)."""
    dialect = getattr(getattr(session, "bind", None), "dialect", None)
    if dialect is not None and dialect.name == "mysql":
        await _mysql_lock_keys(session, keys)
        return
    if dialect is None or dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )


async def _mysql_lock_keys(session, keys: Iterable[str]) -> None:
    """MySQL and MariaDB have no transaction-scoped advisory lock: a named lock (GET_LOCK) per
    key is held by the connection instead, and released when it goes back to the pool, after
    the transaction has ended (db/engine.py)."""
    connection = await session.connection()
    connection.info[NAMED_LOCKS] = True
    for key in sorted(set(keys)):
        # Names are at most 64 characters: a digest of the key.
        name = "tornagram:" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()
        got = await session.scalar(
            text("SELECT GET_LOCK(:name, :wait)"), {"name": name, "wait": NAMED_LOCK_WAIT_SECS}
        )
        if got != 1:
            raise TimeoutError(f"media key {key} stayed locked for {NAMED_LOCK_WAIT_SECS}s")


async def keep_stored(session, storage, files: Iterable[StoredFile]) -> None:
    """Inside the write transaction that adds rows pointing at ``files``: put back any that a
    delete removed since they were put (the delete saw no reference then: ours was not yet
    written). After this, until commit, no delete of these keys can pass its check."""
    files = list(files)
    await lock_keys(session, [f.key for f in files])
    for stored in files:
        if not await storage.exists(stored.key):
            log.info(
                "media file %s was deleted while being referenced; storing it again", stored.key
            )
            await storage.put(stored.data, ext=stored.ext, content_type=stored.content_type)


async def keys_in_use(session, keys: Iterable[str]) -> set[str]:
    """Those of ``keys`` that some row of any kind still points at, as ``session`` sees them."""
    keys = sorted(set(keys))
    used: set[str] = set()
    for start in range(0, len(keys), KEYS_PER_QUERY):
        chunk = keys[start : start + KEYS_PER_QUERY]
        query = union(*(select(column).where(column.in_(chunk)) for column in REFERENCE_COLUMNS))
        used.update((await session.execute(query)).scalars())
    return used


async def all_referenced_keys(session) -> set[str]:
    query = union(*(select(column).where(column.is_not(None)) for column in REFERENCE_COLUMNS))
    return set((await session.execute(query)).scalars())


async def delete_unreferenced(session, storage, keys: Iterable[str]) -> list[str]:
    """Delete the files of ``keys`` that no row points at; return the deleted keys.

    Call it inside the write transaction that dropped the references, after the change: the
    check then sees this transaction's own deletes and updates, and (SQLite's write lock is
    held from BEGIN IMMEDIATE to commit) no other writer can add a reference to the same bytes
    between the check and the delete.
    """
    keys = {k for k in keys if k}
    if not keys:
        return []
    await session.flush()
    await lock_keys(session, keys)
    doomed = sorted(keys - await keys_in_use(session, keys))
    deleted: list[str] = []
    for key in doomed:
        try:
            await storage.delete(key)
        except StorageUnavailable as exc:
            # The rows still go: a person deleting a post is not kept waiting on the bucket.
            # The files are unreferenced now (so /media/ no longer serves them) and gc-media
            # removes them once the backend answers again.
            log.warning(
                "media storage unreachable; %d file(s) left for gc-media: %s",
                len(doomed) - len(deleted), exc,
            )  # fmt: skip
            break
        deleted.append(key)
    if deleted:
        log.info("deleted %d media file(s) nothing points at", len(deleted))
    return deleted


def storage_down(exc: StorageUnavailable) -> RetryLater:
    """What the uploader is told when the backend is unreachable (the details go to the log)."""
    log.warning("upload refused: %s", exc)
    return RetryLater(STORAGE_DOWN, retry_after_secs=STORAGE_RETRY_AFTER_SECS)


async def discard_after_failure(db, storage, keys: Iterable[str]) -> None:
    """Take back the files of an upload that failed. With the backend unreachable nothing can
    be deleted: what was stored is left unreferenced, for ``gc-media`` to remove."""
    try:
        async with db.write() as session:
            await delete_unreferenced(session, storage, keys)
    except StorageUnavailable as exc:
        log.warning("could not remove the files of a failed upload (gc-media will): %s", exc)
