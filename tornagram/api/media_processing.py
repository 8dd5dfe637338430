"""The full pass over an app-API upload, after the answer: the upload is answered (202) once
its small renditions are stored, and this makes the large ones in the image workers, off the
loop, then adds them to the upload's files in one transaction (``processing`` -> ``ready``, or
``failed`` with nothing left behind).

The uploaded file is kept under the data directory's tmp/ (named like an upload part, so the
start-up sweep removes any a crash left) until the pass ends. An upload still ``processing``
long after it was made belongs to a process that stopped: it reads as failed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from tornagram.db.base import utcnow
from tornagram.photos.imaging import ImageRejected
from tornagram.photos.media_refs import delete_unreferenced, keep_stored
from tornagram.photos.models import MediaUpload, MediaUploadFile
from tornagram.photos.pipeline import process_photo_file
from tornagram.photos.previews import PREVIEW_NAMES

log = logging.getLogger(__name__)

PROCESSING, READY, FAILED = "processing", "ready", "failed"
# Past this an upload still processing was left by a process that stopped.
PROCESSING_GIVE_UP = timedelta(minutes=10)
# How long a status naming a photo still processing waits for it.
ATTACH_WAIT_SECS = 30


def state_of(upload: MediaUpload) -> str:
    if upload.state == PROCESSING and upload.created_at < utcnow() - PROCESSING_GIVE_UP:
        return FAILED
    return upload.state or READY


class MediaProcessor:
    def __init__(self, db, photos) -> None:
        self.db = db
        self.photos = photos
        self.tasks: dict[int, asyncio.Task] = {}

    def start(self, owner_id: int, upload_id: int, kept: Path) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(self._run(owner_id, upload_id, kept))
        self.tasks[upload_id] = task
        task.add_done_callback(lambda _t: self.tasks.pop(upload_id, None))
        return task

    async def wait(self, upload_id: int) -> None:
        """Until this process's pass over the upload ends (at most ATTACH_WAIT_SECS); another
        process's pass is waited for by reading the row again (the caller does)."""
        task = self.tasks.get(upload_id)
        if task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(task), ATTACH_WAIT_SECS)

    async def _run(self, owner_id: int, upload_id: int, kept: Path) -> None:
        try:
            image = await self.photos.workers.run_for(
                owner_id, process_photo_file, str(kept), max_pixels=self.photos.max_pixels
            )
            # The quick pass's small renditions stay (apps already show their URLs).
            image = replace(
                image,
                renditions=tuple(r for r in image.renditions if r.name not in PREVIEW_NAMES),
            )
            stored = await self.photos.store_renditions(image)
            await self._add(upload_id, image, stored)
        except ImageRejected as exc:
            log.info("media %s refused in its full pass: %s", upload_id, exc.message)
            await self._fail(upload_id)
        except Exception:
            log.exception("media %s could not be processed", upload_id)
            await self._fail(upload_id)
        finally:
            await asyncio.to_thread(kept.unlink, missing_ok=True)

    async def _add(self, upload_id: int, image, stored) -> None:
        try:
            async with self.db.write() as session:
                row = await session.get(MediaUpload, upload_id)
                if row is None:  # deleted or expired meanwhile: nothing is kept
                    await delete_unreferenced(session, self.photos.storage, [f.key for f in stored])
                    return
                await keep_stored(session, self.photos.storage, stored)
                for rendition, file in zip(image.renditions, stored, strict=True):
                    session.add(
                        MediaUploadFile(
                            upload_id=upload_id, name=rendition.name, fmt=rendition.fmt,
                            key=file.key, width=rendition.width, height=rendition.height,
                        )
                    )  # fmt: skip
                row.state = READY
        except BaseException:
            await self.photos.discard([f.key for f in stored])
            raise

    async def _fail(self, upload_id: int) -> None:
        async with self.db.write() as session:
            await session.execute(
                update(MediaUpload).where(MediaUpload.id == upload_id).values(state=FAILED)
            )
