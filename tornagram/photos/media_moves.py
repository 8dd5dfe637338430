"""``tornagram migrate-media``: move media stored under plain content-hash keys to keys derived
with the site's secret (tornagram.storage.base), rewriting every row that points at them.

One batch at a time, each file is read, checked against its old key (the SHA-256 it names),
stored again under its new key, and then, in one write transaction per batch, every row is
pointed at the new key and the old file is deleted once nothing points at it. Rows always
point at a file that exists: before the commit at the old one, after it at the new one.

Stopping is safe at any moment. Interrupted (Ctrl-C, SIGTERM) before a batch commits, the
new files of that batch are deleted again, so nothing is left behind. Killed outright, at
most one batch's new files wait unreferenced: the next run computes the same keys, finds
them and adopts them (and ``gc-media`` would remove them). A re-run only sees what is left:
old keys are chosen by their shape, so no file is read twice.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import func, select, union, update

from tornagram.photos.media_refs import (
    REFERENCE_COLUMNS,
    StoredFile,
    delete_unreferenced,
    keep_stored,
    lock_keys,
)
from tornagram.storage.base import (
    KEYED_PREFIX,
    MediaNotFound,
    content_type_of,
    is_keyed,
    key_digest,
    key_ext,
)

log = logging.getLogger(__name__)

DEFAULT_BATCH = 200


@dataclass
class MoveReport:
    moved: int = 0
    # Old keys whose rows stay as they are: the file is gone, or is not what its key says.
    missing: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)


def _old_keys_query(after: str, limit: int):
    keys = union(
        *(
            select(column.label("key")).where(
                column.is_not(None), ~column.startswith(KEYED_PREFIX), column > after
            )
            for column in REFERENCE_COLUMNS
        )
    ).subquery()
    return select(keys.c.key).order_by(keys.c.key).limit(limit)


async def count_old_keys(db) -> int:
    keys = union(
        *(
            select(column.label("key")).where(column.is_not(None), ~column.startswith(KEYED_PREFIX))
            for column in REFERENCE_COLUMNS
        )
    ).subquery()
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(keys)))


async def migrate_media(db, storage, *, batch: int = DEFAULT_BATCH, progress=None) -> MoveReport:
    report = MoveReport()
    total = await count_old_keys(db)
    if progress is not None:
        progress.start("media keys", total)
    after = ""
    while True:
        async with db.read() as session:
            old_keys = list((await session.execute(_old_keys_query(after, batch))).scalars())
        if not old_keys:
            break
        after = old_keys[-1]
        files = []
        moves: dict[str, str] = {}
        try:
            for old in old_keys:
                stored = await _restore_under_new_key(storage, old, report)
                if stored is not None:
                    files.append(stored)
                    moves[old] = stored.key
            await _repoint(db, storage, moves, files)
        except BaseException:
            # Stopped (or failed) before the commit: the rows still point at the old files,
            # so the new ones are unreferenced; take them away again.
            await _discard_new(db, storage, moves.values())
            raise
        report.moved += len(moves)
        if progress is not None:
            progress.advance(len(old_keys))
    if progress is not None:
        progress.finish()
    return report


async def _restore_under_new_key(storage, old: str, report: MoveReport) -> StoredFile | None:
    if is_keyed(old):
        return None
    try:
        data = await storage.get(old)
    except MediaNotFound:
        log.warning("media file %s is referenced but missing; its rows are left as they are", old)
        report.missing.append(old)
        return None
    if hashlib.sha256(data).hexdigest() != key_digest(old):
        log.warning("media file %s does not hold what its key names; left as it is", old)
        report.damaged.append(old)
        return None
    ext, content_type = key_ext(old), content_type_of(old)
    new = await storage.put(data, ext=ext, content_type=content_type)
    return StoredFile(new, data, ext, content_type)


async def _repoint(db, storage, moves: dict[str, str], files: list[StoredFile]) -> None:
    if not moves:
        return
    async with db.write() as session:
        await lock_keys(session, [*moves, *moves.values()])
        await keep_stored(session, storage, files)
        for old, new in moves.items():
            for attribute in REFERENCE_COLUMNS:
                column = attribute.property.columns[0]
                await session.execute(
                    update(column.table).where(column == old).values({column.name: new})
                )
        await delete_unreferenced(session, storage, list(moves))
    await db.changes.everything_changed()


async def _discard_new(db, storage, keys) -> None:
    keys = list(keys)
    if not keys:
        return
    try:
        async with db.write() as session:
            await delete_unreferenced(session, storage, keys)
    except Exception:
        log.exception("could not remove the unreferenced new files of an unfinished batch")
