"""Avatar images: decoded and cropped in the image workers, stored content-addressed."""

from __future__ import annotations

from tornagram.errors import InvalidInput, UserError
from tornagram.photos.imaging import ImageRejected, process_avatar
from tornagram.photos.media_refs import (
    StoredFile,
    delete_unreferenced,
    discard_after_failure,
    keep_stored,
    storage_down,
)
from tornagram.photos.workers import ImageWorkers
from tornagram.storage.base import MediaStorage, StorageUnavailable


class AvatarStore:
    def __init__(
        self, storage: MediaStorage, workers: ImageWorkers, *, max_pixels: int = 40_000_000
    ) -> None:
        self.storage = storage
        self.workers = workers
        self.max_pixels = max_pixels

    async def store(self, db, data: bytes) -> list[StoredFile]:
        """[large, small] files, stored. Refusals become InvalidInput on the ``avatar`` field."""
        try:
            processed = await self.workers.run(process_avatar, data, max_pixels=self.max_pixels)
        except ImageRejected as exc:
            raise InvalidInput(UserError(exc.message, "avatar")) from None
        by_name = {(r.name, r.fmt): r for r in processed.renditions}
        large, small = by_name[("avatar320", "jpeg")], by_name[("avatar150", "jpeg")]
        try:
            large_key = await self.storage.put(
                large.data, ext="jpg", content_type=large.content_type
            )
        except StorageUnavailable as exc:
            raise storage_down(exc) from None
        try:
            small_key = await self.storage.put(
                small.data, ext="jpg", content_type=small.content_type
            )
        except BaseException as exc:
            # Not a blind delete: the same bytes may already be someone's photo or avatar.
            await discard_after_failure(db, self.storage, [large_key])
            if isinstance(exc, StorageUnavailable):
                raise storage_down(exc) from None
            raise
        return [
            StoredFile(large_key, large.data, "jpg", large.content_type),
            StoredFile(small_key, small.data, "jpg", small.content_type),
        ]

    async def keep(self, session, files: list[StoredFile]) -> None:
        """In the transaction that points the account at ``files``: see media_refs.keep_stored."""
        await keep_stored(session, self.storage, files)

    async def release(self, session, keys: list[str]) -> None:
        """Inside the transaction that dropped an avatar: delete its files unless a photo, a
        rendition or another avatar still points at the same bytes (keys are shared)."""
        await delete_unreferenced(session, self.storage, keys)
