"""The stored files of posts: which may be fetched without a signed URL, which are still
referenced, and the sweep that removes the rest (``tornagram gc-media``). Mixed into
PhotosService, which holds ``db`` and ``storage``."""

from __future__ import annotations

from sqlalchemy import or_, select

from tornagram.accounts.models import User
from tornagram.graph.visibility import can_see_author
from tornagram.photos.media_refs import all_referenced_keys, delete_unreferenced, keys_in_use
from tornagram.photos.models import Photo, Post, Rendition

# Keys gc-media checks and deletes per transaction.
GC_BATCH = 500


class PhotoFiles:
    async def _discard(self, keys) -> None:
        """Delete files that no row points at any more (equal bytes share one key)."""
        async with self.db.write() as session:
            await delete_unreferenced(session, self.storage, keys)

    async def media_is_public(self, key: str) -> bool:
        """Whether anyone may fetch ``key`` without a signed URL: an avatar (public on every
        photo site), or a rendition of a post everyone may see. Asked on each unsigned media
        request, so making an account private closes its unsigned URLs at once."""
        avatar = (
            select(User.id)
            .where(or_(User.avatar_key == key, User.avatar_small_key == key))
            .limit(1)
        )
        photo = (
            select(Rendition.photo_id)
            .join(Photo, Photo.id == Rendition.photo_id)
            .join(Post, Post.id == Photo.post_id)
            .join(User, User.id == Post.author_id)
            .where(Rendition.key == key, can_see_author(None))
            .limit(1)
        )
        async with self.db.read() as session:
            if await session.scalar(photo) is not None:
                return True
            return await session.scalar(avatar) is not None

    async def key_in_use(self, key: str) -> bool:
        async with self.db.read() as session:
            return bool(await keys_in_use(session, [key]))

    async def referenced_keys(self) -> set[str]:
        async with self.db.read() as session:
            return await all_referenced_keys(session)

    async def gc_media(self, *, dry_run: bool = False, batch: int = GC_BATCH) -> list[str]:
        """Remove stored files that no row references, ``batch`` keys per transaction (the
        listing streams from the backend, so memory stays flat however much is stored);
        returns their keys. A dry run deletes nothing and returns what it would delete."""
        removed: list[str] = []
        chunk: list[str] = []
        async for key in self.storage.iter_keys():
            chunk.append(key)
            if len(chunk) >= batch:
                removed += await self._gc_batch(chunk, dry_run)
                chunk = []
        if chunk:
            removed += await self._gc_batch(chunk, dry_run)
        return sorted(removed)

    async def _gc_batch(self, keys: list[str], dry_run: bool) -> list[str]:
        if dry_run:
            async with self.db.read() as session:
                return sorted(set(keys) - await keys_in_use(session, keys))
        # Checked inside a write transaction: a post or avatar saved since the listing keeps
        # its file (and one saved after it puts its file back: media_refs.keep_stored).
        async with self.db.write() as session:
            return await delete_unreferenced(session, self.storage, keys)
