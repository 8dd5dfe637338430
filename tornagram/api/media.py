"""Photos uploaded through the app API ahead of their status: the same pipeline as the upload
page (photos/service.py), kept as rows of their own until a status takes them or they expire."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from tornagram.accounts.models import User
from tornagram.api.media_processing import (
    ATTACH_WAIT_SECS,
    PROCESSING,
    READY,
    MediaProcessor,
    state_of,
)
from tornagram.db.base import utcnow
from tornagram.db.engine import Database
from tornagram.db.ids import IdGenerator
from tornagram.errors import InvalidInput, NotFound, UserError
from tornagram.photos.captions import ALT_MAX_CHARS
from tornagram.photos.imaging import ImageRejected
from tornagram.photos.media_refs import delete_unreferenced, keep_stored
from tornagram.photos.models import MediaUpload, MediaUploadFile
from tornagram.photos.previews import process_photo_preview_file
from tornagram.photos.service import PhotosService, StoredPhoto

log = logging.getLogger(__name__)

# Uploads no status took are removed after this (tornagram gc-media).
UNATTACHED_LIFETIME = timedelta(hours=24)
# A description is the photo's alt text: the upload page's limit (photos/captions.py).
DESCRIPTION_MAX_CHARS = ALT_MAX_CHARS


class MediaRefused(UserError):
    status = 422


def parse_focus(raw: str | None) -> tuple[float, float] | None:
    if raw is None or raw == "":
        return None
    try:
        x, y = (float(part) for part in raw.split(","))
    except ValueError:
        raise MediaRefused("focus must be two numbers, x,y") from None
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        raise MediaRefused("focus must be between -1 and 1")
    return x, y


def check_description(description: str | None) -> str:
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX_CHARS:
        raise MediaRefused(
            "description can be at most %(max)d characters", max=DESCRIPTION_MAX_CHARS
        )
    return description


class MediaService:
    description_limit = DESCRIPTION_MAX_CHARS

    def __init__(
        self, db: Database, ids: IdGenerator, photos: PhotosService, kept_path
    ) -> None:
        self.db = db
        self.ids = ids
        self.photos = photos
        # upload id -> where its file waits for the full pass (api/media_processing.py); named
        # like an upload part, so the start-up sweep removes any a crash left.
        self.kept_path = kept_path
        self.processor = MediaProcessor(db, photos)

    async def upload(
        self, owner: User, path: Path, description: str | None, focus: str | None,
        *, wait: bool = False,
    ) -> MediaUpload:
        """The small renditions now (the upload page's checks and refusals), the large ones in
        the background; with ``wait``, answered once they are made too."""
        description = check_description(description)
        point = parse_focus(focus)
        try:
            image = await self.photos.workers.run_for(
                owner.id, process_photo_preview_file, str(path), max_pixels=self.photos.max_pixels
            )
        except ImageRejected as exc:
            raise MediaRefused(exc.message) from None
        upload_id = self.ids.next_id()
        kept = self.kept_path(upload_id)
        await asyncio.to_thread(kept.parent.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(os.replace, path, kept)
        try:
            stored = await self.photos.store_renditions(image)
            upload = MediaUpload(
                id=upload_id,
                owner_id=owner.id,
                description=description,
                focus_x=point[0] if point else None,
                focus_y=point[1] if point else None,
                width=image.width,
                height=image.height,
                blurhash=image.blurhash,
                dominant_color=image.dominant_color,
                source_format=image.source_format,
                camera=image.camera.as_dict(),
                state=PROCESSING,
                created_at=utcnow(),
            )
            try:
                async with self.db.write() as session:
                    await keep_stored(session, self.photos.storage, stored)
                    session.add(upload)
                    for rendition, file in zip(image.renditions, stored, strict=True):
                        session.add(
                            MediaUploadFile(
                                upload_id=upload_id, name=rendition.name, fmt=rendition.fmt,
                                key=file.key, width=rendition.width, height=rendition.height,
                            )
                        )  # fmt: skip
            except BaseException:
                await self.photos.discard([f.key for f in stored])
                raise
        except BaseException:
            await asyncio.to_thread(kept.unlink, missing_ok=True)
            raise
        task = self.processor.start(owner.id, upload_id, kept)
        if wait:
            await asyncio.shield(task)
        return await self.own(owner, upload_id)

    async def own(self, owner: User, media_id: int) -> MediaUpload:
        """An upload of ``owner``'s not yet in a status; anyone else's is NotFound."""
        async with self.db.read() as session:
            upload = (
                await session.execute(
                    select(MediaUpload)
                    .where(MediaUpload.id == media_id, MediaUpload.owner_id == owner.id)
                    .options(selectinload(MediaUpload.files))
                )
            ).scalar_one_or_none()
        if upload is None:
            raise NotFound("Record not found")
        return upload

    async def update(
        self, owner: User, media_id: int, description: str | None, focus: str | None
    ) -> MediaUpload:
        upload = await self.own(owner, media_id)
        values = {}
        if description is not None:
            values["description"] = check_description(description)
        if focus is not None:
            point = parse_focus(focus)
            values["focus_x"], values["focus_y"] = point if point else (None, None)
        if values:
            async with self.db.write() as session:
                row = await session.get(MediaUpload, upload.id)
                for key, value in values.items():
                    setattr(row, key, value)
        return await self.own(owner, media_id)

    async def remove(self, owner: User, media_id: int) -> None:
        upload = await self.own(owner, media_id)
        await self._delete(MediaUpload.id == upload.id, [f.key for f in upload.files])

    async def take(self, owner: User, media_ids: list[int]) -> tuple[list[StoredPhoto], object]:
        """The photos for a new status, in order, and the ``claim`` that takes them over in the
        post's transaction. Someone else's, an unknown or an already-used id is refused."""
        if len(set(media_ids)) != len(media_ids):
            raise MediaRefused("The same photo can't be attached twice")
        uploads = []
        for media_id in media_ids:
            try:
                upload = await self.own(owner, media_id)
                if state_of(upload) == PROCESSING:
                    await self.processor.wait(media_id)
                    upload = await self._settled(owner, media_id)
            except NotFound:
                raise MediaRefused("Media %(id)s is not one of your unattached uploads",
                                   id=str(media_id)) from None  # fmt: skip
            state = state_of(upload)
            if state != READY:
                raise MediaRefused(
                    "Media %(id)s is still being processed" if state == PROCESSING
                    else "Media %(id)s could not be processed", id=str(media_id),
                )  # fmt: skip
            uploads.append(upload)
        photos = [
            StoredPhoto(
                id=u.id,
                width=u.width,
                height=u.height,
                blurhash=u.blurhash,
                dominant_color=u.dominant_color,
                alt=u.description,
                source_format=u.source_format,
                camera=u.camera or {},
                renditions=[(f.name, f.fmt, f.key, f.width, f.height) for f in u.files],
            )
            for u in uploads
        ]

        async def claim(session) -> None:
            result = await session.execute(
                delete(MediaUpload).where(
                    MediaUpload.id.in_(media_ids), MediaUpload.owner_id == owner.id
                )
            )
            if result.rowcount != len(media_ids):
                # Used by a status posted at the same moment: nothing is posted twice.
                raise InvalidInput(MediaRefused("Media is already attached"))

        return photos, claim

    async def _settled(self, owner: User, media_id: int) -> MediaUpload:
        """The upload once no longer processing, waiting (by reading it again) for a pass
        that another process runs; at most ATTACH_WAIT_SECS."""
        deadline = time.monotonic() + ATTACH_WAIT_SECS
        while True:
            upload = await self.own(owner, media_id)
            if state_of(upload) != PROCESSING or time.monotonic() > deadline:
                return upload
            await asyncio.sleep(0.25)

    async def expire_unattached(self, *, now=None) -> int:
        """Remove uploads older than the lifetime that no status took, and their files."""
        cutoff = (now or utcnow()) - UNATTACHED_LIFETIME
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(MediaUpload.id, MediaUploadFile.key)
                    .join(MediaUploadFile, MediaUploadFile.upload_id == MediaUpload.id)
                    .where(MediaUpload.created_at < cutoff)
                )
            ).all()
        if not rows:
            return 0
        ids = sorted({r.id for r in rows})
        await self._delete(MediaUpload.id.in_(ids), [r.key for r in rows])
        log.info("expired %d unattached media upload(s)", len(ids))
        return len(ids)

    async def _delete(self, condition, keys) -> None:
        async with self.db.write() as session:
            doomed = select(MediaUpload.id).where(condition)
            await session.execute(
                delete(MediaUploadFile).where(MediaUploadFile.upload_id.in_(doomed))
            )
            await session.execute(delete(MediaUpload).where(condition))
            await delete_unreferenced(session, self.photos.storage, keys)
