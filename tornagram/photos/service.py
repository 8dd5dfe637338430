"""What people do with photos: post them, import one from a URL, edit, delete; and the sweep
that removes files nothing points at."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import selectinload

from tornagram.accounts.models import User
from tornagram.cache import NOTICES_GONE
from tornagram.db.base import utcnow
from tornagram.db.engine import Database, after_commit, changed
from tornagram.db.ids import IdGenerator
from tornagram.db.locks import lock_parents
from tornagram.errors import Forbidden, InvalidInput, NotFound, UserError
from tornagram.graph.access import decide, relationship_columns, relationship_from
from tornagram.graph.visibility import can_see_author
from tornagram.photos import post_events, remote
from tornagram.photos.captions import (
    CAPTION_MAX_CHARS,
    check_alt_texts,
    clean_caption,
    extract_tags,
)
from tornagram.photos.imaging import ImageRejected, ProcessedImage, process_photo
from tornagram.photos.media_refs import (
    StoredFile,
    delete_unreferenced,
    discard_after_failure,
    keep_stored,
    storage_down,
)
from tornagram.photos.mentions import notify_caption_mentions, retract_dropped_mentions
from tornagram.photos.models import Photo, Post, PostTag, Rendition
from tornagram.photos.photo_files import PhotoFiles
from tornagram.photos.pipeline import process_photo_file
from tornagram.photos.workers import ImageWorkers
from tornagram.realtime.channels import post_channel
from tornagram.storage.base import MediaStorage, StorageUnavailable

log = logging.getLogger(__name__)

MAX_PHOTOS_PER_POST = 10
MAX_PIXELS = 40_000_000
# Four rows of three on a profile.
PROFILE_PAGE_SIZE = 12


@dataclass(frozen=True, slots=True)
class PhotoUpload:
    """One file of a post: on disk (a streamed upload) or in memory (a URL import)."""

    path: Path | None = None
    data: bytes | None = None
    alt: str = ""
    filename: str = ""


@dataclass(frozen=True, slots=True)
class StoredPhoto:
    """A photo processed and stored ahead of its post: its ``photos`` row, and its renditions
    as (name, fmt, key, width, height)."""

    id: int
    width: int
    height: int
    blurhash: str
    dominant_color: str
    alt: str
    source_format: str
    camera: dict
    renditions: list[tuple[str, str, str, int, int]]


@dataclass(slots=True)
class PostView:
    post: Post
    author: User


def _photo_error(index: int, total: int, message: str, filename: str = "", **params) -> UserError:
    # Named whenever the name is known, even alone: without script the page that comes back
    # has forgotten which file was chosen.
    if total == 1 and not filename:
        return UserError(message, "photo", **params)
    label = filename or str(index + 1)
    return UserError(
        "Photo %(label)s: %(reason)s", "photo", label=label, reason=UserError(message, **params)
    )


UNCONFIRMED_MESSAGE = (
    "Confirm your email address before posting: follow the link we mailed you "
    "(Settings, Email, to send it again)."
)


class PhotosService(PhotoFiles):
    def __init__(
        self,
        db: Database,
        ids: IdGenerator,
        storage: MediaStorage,
        workers: ImageWorkers,
        *,
        fetch_policy: remote.FetchPolicy,
        max_pixels: int = MAX_PIXELS,
        notifications=None,
        require_confirmed_email: bool = False,
    ) -> None:
        self.db = db
        # --require-email-confirmation: no posts until the address is confirmed.
        self.require_confirmed_email = require_confirmed_email
        self.ids = ids
        self.storage = storage
        self.workers = workers
        self.fetch_policy = fetch_policy
        self.max_pixels = max_pixels
        # A NotificationWriter: @mentions in captions notify inside the post's transaction.
        self.notifications = notifications
        # A LiveControl (realtime/control.py): a deleted post's live viewers are cut off.
        self.live = None
        # An EventPublisher: posts made, edited and deleted are announced (post_events.py).
        self.events = None

    # -- creating ----------------------------------------------------------------------------

    def _check_new_post(self, author: User, caption: str, alts: list[str]) -> str:
        """The rules of a new post, whichever way its photos came (the upload page or the app
        API): who may post, the caption, how many photos, each alt text. Returns the caption."""
        if self.require_confirmed_email and author.email_confirmed_at is None:
            raise Forbidden(UNCONFIRMED_MESSAGE)
        caption = self._check_caption(caption)
        if not alts:
            raise InvalidInput(UserError("Choose at least one photo.", "photo"))
        if len(alts) > MAX_PHOTOS_PER_POST:
            raise InvalidInput(
                UserError(
                    "A post can have at most %(max)d photos.", "photo", max=MAX_PHOTOS_PER_POST
                )
            )
        check_alt_texts(alts)
        return caption

    async def create_post(self, author: User, uploads: list[PhotoUpload], caption: str) -> Post:
        """Decode and resize every photo off the loop, store the files, then insert the post and
        its photos in one transaction. Any failure removes what was stored: no row, no file."""
        caption = self._check_new_post(author, caption, [upload.alt for upload in uploads])
        processed = await self._process_all(author, uploads)
        stored: list[str] = []
        try:
            post = await self._store_and_insert(author, uploads, processed, caption, stored)
        except BaseException as exc:
            await discard_after_failure(self.db, self.storage, stored)
            if isinstance(exc, StorageUnavailable):
                raise storage_down(exc) from None
            raise
        log.info("post %s by %s with %d photos", post.id, author.username, len(uploads))
        return post

    def _check_caption(self, caption: str) -> str:
        caption = clean_caption(caption)
        if len(caption) > CAPTION_MAX_CHARS:
            raise InvalidInput(
                UserError(
                    "Captions can be at most %(max)d characters.", "caption", max=CAPTION_MAX_CHARS
                )
            )
        return caption

    async def _process_all(self, author, uploads: list[PhotoUpload]) -> list[ProcessedImage]:
        async def one(upload: PhotoUpload) -> ProcessedImage:
            # Each person's photos take turns with everyone else's (photos/fairness.py).
            if upload.path is not None:
                return await self.workers.run_for(
                    author.id, process_photo_file, str(upload.path), max_pixels=self.max_pixels
                )
            return await self.workers.run_for(
                author.id, process_photo, upload.data, max_pixels=self.max_pixels
            )

        results = await asyncio.gather(*(one(u) for u in uploads), return_exceptions=True)
        errors = []
        for index, result in enumerate(results):
            if isinstance(result, ImageRejected):
                errors.append(
                    _photo_error(index, len(uploads), result.message, uploads[index].filename)
                )
            elif isinstance(result, BaseException):
                raise result
        if errors:
            # Every refused file is named, so the user can fix them all at once.
            raise InvalidInput({f"photo{i}": err for i, err in enumerate(errors)})
        return list(results)

    async def _store_and_insert(self, author, uploads, processed, caption, stored) -> Post:
        post_id = self.ids.next_id()
        photos = []
        files: list[StoredFile] = []
        for position, (upload, image) in enumerate(zip(uploads, processed, strict=True)):
            photo = Photo(
                id=self.ids.next_id(),
                post_id=post_id,
                position=position,
                width=image.width,
                height=image.height,
                blurhash=image.blurhash,
                dominant_color=image.dominant_color,
                alt_text=upload.alt.strip(),
                source_format=image.source_format,
                camera=image.camera.as_dict(),
            )
            photo.renditions = []
            for rendition in image.renditions:
                key = await self.storage.put(
                    rendition.data, ext=rendition.ext, content_type=rendition.content_type
                )
                stored.append(key)
                files.append(StoredFile(key, rendition.data, rendition.ext, rendition.content_type))
                photo.renditions.append(
                    Rendition(
                        photo_id=photo.id,
                        name=rendition.name,
                        fmt=rendition.fmt,
                        key=key,
                        width=rendition.width,
                        height=rendition.height,
                    )
                )
            photos.append(photo)
        post = Post(
            id=post_id,
            author_id=author.id,
            caption=caption,
            photo_count=len(uploads),
            photos=photos,
        )
        async with self.db.write() as session:
            # Equal bytes share a key: one removed since our put (an avatar or post with the same
            # bytes deleted meanwhile) is put back before our rows point at it.
            await keep_stored(session, self.storage, files)
            await self._insert_post(session, author, post)
        return post

    async def _insert_post(self, session, author: User, post: Post) -> None:
        # The photos and their renditions are inserted with the post (relationship cascade).
        await lock_parents(session, User, author.id)
        session.add(post)
        await session.flush()
        await session.execute(
            update(User).where(User.id == author.id).values(post_count=User.post_count + 1)
        )
        tags = extract_tags(post.caption)
        for tag in tags:
            session.add(PostTag(post_id=post.id, tag=tag))
        await self._notify_mentions(session, author, post.id, post.caption)
        post_events.announce(self.events, session, post_events.CREATED, post.id, author, tags)

    async def process_upload(self, author: User, path: Path) -> ProcessedImage:
        """One photo through the upload page's pipeline (decoded off the loop, checked, resized,
        metadata and GPS dropped), for a post made later (the app API's media uploads).
        ImageRejected says why a file is refused."""
        return await self.workers.run_for(
            author.id, process_photo_file, str(path), max_pixels=self.max_pixels
        )

    async def store_renditions(self, image: ProcessedImage) -> list[StoredFile]:
        """Put every rendition in storage; the caller's rows must reference them (and call
        ``keep_stored`` in their transaction), or ``discard`` them."""
        stored = []
        for rendition in image.renditions:
            key = await self.storage.put(
                rendition.data, ext=rendition.ext, content_type=rendition.content_type
            )
            stored.append(StoredFile(key, rendition.data, rendition.ext, rendition.content_type))
        return stored

    async def discard(self, keys) -> None:
        await self._discard(keys)

    async def create_post_from_stored(
        self, author: User, photos: list[StoredPhoto], caption: str, *, claim
    ) -> Post:
        """A post of photos already processed and stored (uploaded ahead through the app API),
        in the given order. ``claim(session)`` runs first in the same transaction and takes
        the photos over from wherever they were kept (raising if one is no longer there)."""
        caption = self._check_new_post(author, caption, [photo.alt for photo in photos])
        post_id = self.ids.next_id()
        rows = []
        for position, item in enumerate(photos):
            photo = Photo(
                id=item.id,
                post_id=post_id,
                position=position,
                width=item.width,
                height=item.height,
                blurhash=item.blurhash,
                dominant_color=item.dominant_color,
                alt_text=item.alt.strip(),
                source_format=item.source_format,
                camera=item.camera,
            )
            photo.renditions = [
                Rendition(photo_id=item.id, name=name, fmt=fmt, key=key, width=w, height=h)
                for name, fmt, key, w, h in item.renditions
            ]
            rows.append(photo)
        post = Post(
            id=post_id, author_id=author.id, caption=caption, photo_count=len(rows), photos=rows
        )
        async with self.db.write() as session:
            await claim(session)
            await self._insert_post(session, author, post)
        log.info("post %s by %s with %d stored photos", post.id, author.username, len(rows))
        return post

    async def import_from_url(self, author: User, url: str, caption: str) -> Post:
        if self.require_confirmed_email and author.email_confirmed_at is None:
            raise Forbidden(UNCONFIRMED_MESSAGE)
        caption = self._check_caption(caption)
        try:
            data, _final_url = await remote.fetch_remote_image(
                (url or "").strip(), self.fetch_policy
            )
        except remote.RemoteFetchError as exc:
            raise InvalidInput(UserError(exc.message, "url")) from None
        try:
            return await self.create_post(author, [PhotoUpload(data=data)], caption)
        except InvalidInput as exc:
            first = next(iter(exc.errors.values()))
            raise InvalidInput(UserError(first.message, "url", **first.params)) from None

    # -- reading -------------------------------------------------------------------------------

    async def get_post(self, post_id: int, viewer: User | None) -> PostView:
        """The post if ``viewer`` may see it (the visibility rule); otherwise NotFound, the same
        answer as for a post that does not exist, so private posts cannot be probed."""
        # How the viewer stands with the author, read with the post: one query, and the one
        # decision the profile makes (graph/access.py).
        flags = () if viewer is None else relationship_columns(viewer.id, Post.author_id)
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(Post, User, *flags)
                    .join(User, User.id == Post.author_id)
                    .where(Post.id == post_id)
                    .options(selectinload(Post.photos).selectinload(Photo.renditions))
                )
            ).one_or_none()
        if row is not None:
            post, author, *values = row
            if decide(author, relationship_from(viewer, author, values)).content:
                return PostView(post=post, author=author)
        raise NotFound("This post does not exist, or it has been deleted.")

    async def visible_posts(self, post_ids, viewer: User | None) -> dict[int, Post]:
        """Post id -> post (photos and renditions loaded) for the ids ``viewer`` may see, in
        one query however many ids; the others are simply absent, as get_post's NotFound."""
        wanted = {post_id for post_id in post_ids if post_id is not None}
        if not wanted:
            return {}
        rule = can_see_author(viewer.id if viewer else None)
        query = (
            select(Post)
            .join(User, User.id == Post.author_id)
            .where(Post.id.in_(wanted), rule)
            .options(selectinload(Post.photos).selectinload(Photo.renditions))
        )
        async with self.db.read() as session:
            return {post.id: post for post in (await session.execute(query)).scalars()}

    async def posts_by(
        self, author_id: int, *, max_id: int | None = None, limit: int = PROFILE_PAGE_SIZE
    ) -> tuple[list[Post], int | None]:
        """One page of an author's posts, newest first; and the max_id of the next page."""
        query = select(Post).where(Post.author_id == author_id)
        if max_id is not None:
            query = query.where(Post.id < max_id)
        query = (
            query.order_by(Post.id.desc())
            .limit(limit + 1)
            .options(selectinload(Post.photos).selectinload(Photo.renditions))
        )
        async with self.db.read() as session:
            posts = list((await session.execute(query)).scalars())
        more = len(posts) > limit
        posts = posts[:limit]
        return posts, (posts[-1].id if more else None)

    async def count_by(self, author_id: int) -> int:
        async with self.db.read() as session:
            return await session.scalar(
                select(func.count()).select_from(Post).where(Post.author_id == author_id)
            )

    # -- changing -----------------------------------------------------------------------------

    async def edit_post(self, user: User, post_id: int, caption: str, alts: list[str]) -> Post:
        view = await self._own_post(user, post_id)
        caption = self._check_caption(caption)
        check_alt_texts(alts)
        async with self.db.write() as session:
            await session.execute(
                update(Post).where(Post.id == post_id).values(caption=caption, edited_at=utcnow())
            )
            for photo, alt in zip(view.post.photos, alts, strict=False):
                await session.execute(
                    update(Photo).where(Photo.id == photo.id).values(alt_text=alt.strip())
                )
            old_tags = await self._tags_of(session, post_id)
            await session.execute(delete(PostTag).where(PostTag.post_id == post_id))
            tags = extract_tags(caption)
            for tag in tags:
                session.add(PostTag(post_id=post_id, tag=tag))
            await retract_dropped_mentions(session, post_id, caption)
            await self._notify_mentions(session, user, post_id, caption)
            # Streams of a tag the edit removed hear of it too (the status they hold changed).
            post_events.announce(
                self.events, session, post_events.EDITED, post_id, user, old_tags + tags
            )
        return (await self.get_post(post_id, user)).post

    async def _notify_mentions(self, session, author: User, post_id: int, caption: str) -> None:
        if self.notifications is not None:
            await notify_caption_mentions(self.notifications, session, author, post_id, caption)

    async def delete_post(self, user: User, post_id: int) -> None:
        view = await self._own_post(user, post_id)
        keys = {r.key for photo in view.post.photos for r in photo.renditions}
        async with self.db.write() as session:
            tags = await self._tags_of(session, post_id)
            result = await session.execute(delete(Post).where(Post.id == post_id))
            if result.rowcount:
                post_events.announce(
                    self.events, session, post_events.DELETED, post_id, user, tags
                )
                # Its notifications go with it (the foreign key cascades), unseen by the rows
                # this session writes: every badge is read again.
                changed(session, NOTICES_GONE)
                await session.execute(
                    update(User).where(User.id == user.id).values(post_count=User.post_count - 1)
                )
            # Same transaction: a file whose bytes are also an avatar or another post's stays.
            await delete_unreferenced(session, self.storage, keys)
            if result.rowcount and self.live is not None:
                live = self.live
                after_commit(session, lambda: live.access_changed(channels=[post_channel(post_id)]))
        log.info("post %s deleted by %s; %d files checked", post_id, user.username, len(keys))

    async def _tags_of(self, session, post_id: int) -> list[str]:
        query = select(PostTag.tag).where(PostTag.post_id == post_id)
        return list((await session.execute(query)).scalars())

    async def _own_post(self, user: User, post_id: int) -> PostView:
        view = await self.get_post(post_id, user)
        if view.post.author_id != user.id:
            raise Forbidden("Only the author can change this post.")
        return view
