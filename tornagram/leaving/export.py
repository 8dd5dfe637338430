"""Taking your data: a zip of everything a person has here, built in the background.

The zip holds JSON of the profile, posts (captions, alt text, camera data, times), comments,
likes, saves, follows and followers, and the largest stored rendition of every photo, named
``photos/<date>_<post id>_<n>.<ext>`` so that a file browser lists them in order, plus an
``index.html`` that shows them with their captions (no script, no outside address).

Rows are read on the event loop (the database is async); every file is written into the zip
by a worker thread, so a large export never holds up a page. Progress (out of 100) is saved on
the row as photos are added, and the page polls it. The finished zip lives under
``<data-dir>/exports/<user id>/`` (not media storage: it is private) and is served only to
its owner, for 7 days.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import os
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import selectinload

from tornagram.accounts.models import DataExport, ExportStatus, User
from tornagram.db.base import utcnow
from tornagram.db.ids import id_time_ms
from tornagram.errors import NotFound
from tornagram.graph.models import Comment, Follow, Like, Save
from tornagram.photos.models import Photo, Post
from tornagram.storage.base import MediaNotFound

log = logging.getLogger(__name__)

EXPORT_KEPT_FOR = timedelta(days=7)
# A build still pending after this long died with its process; a new one may start.
BUILD_GIVEN_UP_AFTER = timedelta(hours=1)
PROGRESS_STEP = 5  # save progress every 5 points, not after every photo


def _iso(dt) -> str | None:
    return dt.isoformat() if dt is not None else None


def _id_time(snowflake: int) -> str:
    return datetime.fromtimestamp(id_time_ms(snowflake) / 1000, UTC).isoformat()


def largest(photo: Photo):
    """The biggest stored size of the whole photo (square grid crops are not the photo)."""
    whole = [r for r in photo.renditions if not r.name.startswith("thumb")] or photo.renditions
    return max(whole, key=lambda r: (r.width, r.fmt == "jpeg"))


class ExportService:
    def __init__(self, db, ids, storage, settings) -> None:
        self.db = db
        self.ids = ids
        self.storage = storage
        self.settings = settings
        self._tasks: set[asyncio.Task] = set()

    def path_of(self, export: DataExport) -> Path:
        return self.settings.exports_dir / str(export.user_id) / f"{export.id}.zip"

    async def latest(self, user: User) -> DataExport | None:
        async with self.db.read() as session:
            export = (
                await session.execute(
                    select(DataExport)
                    .where(DataExport.user_id == user.id)
                    .order_by(DataExport.id.desc())
                    .limit(1)
                )
            ).scalar_one_or_none()
        if (
            export is not None
            and export.status == ExportStatus.PENDING
            and export.created_at <= utcnow() - BUILD_GIVEN_UP_AFTER
        ):
            # Its build died with a process that stopped; say so rather than wait for ever.
            await self._set(export.id, status=ExportStatus.FAILED, finished_at=utcnow())
            export.status = ExportStatus.FAILED
        return export

    async def _sweep(self, user_id: int) -> None:
        """Before a new build: this person's earlier zips, and anyone's expired ones, go."""
        now = utcnow()
        async with self.db.write() as session:
            old = list(
                (
                    await session.execute(
                        select(DataExport).where(
                            (DataExport.user_id == user_id) | (DataExport.expires_at <= now)
                        )
                    )
                ).scalars()
            )
            await session.execute(
                delete(DataExport).where(DataExport.id.in_([e.id for e in old]))
            )
        paths = [self.path_of(e) for e in old]
        await asyncio.get_running_loop().run_in_executor(
            None, lambda: [p.unlink(missing_ok=True) for p in paths]
        )

    async def start(self, user: User) -> DataExport:
        """A new export, unless one is being built (that one is returned)."""
        now = utcnow()
        async with self.db.write() as session:
            building = (
                await session.execute(
                    select(DataExport).where(
                        DataExport.user_id == user.id,
                        DataExport.status == ExportStatus.PENDING,
                        DataExport.created_at > now - BUILD_GIVEN_UP_AFTER,
                    )
                )
            ).scalar_one_or_none()
            if building is not None:
                return building
        await self._sweep(user.id)
        async with self.db.write() as session:
            export = DataExport(
                id=self.ids.next_id(),
                user_id=user.id,
                status=ExportStatus.PENDING,
                progress=0,
                created_at=now,
                expires_at=now + EXPORT_KEPT_FOR,
            )
            session.add(export)
        task = asyncio.create_task(self._build(export.id, user.id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return export

    async def owned(self, user: User, export_id: int) -> DataExport:
        async with self.db.read() as session:
            export = await session.get(DataExport, export_id)
        if export is None or export.user_id != user.id:
            raise NotFound("There is no such export.")
        return export

    async def download_path(self, user: User, export_id: int) -> Path:
        export = await self.owned(user, export_id)
        path = self.path_of(export)
        ready = export.status == ExportStatus.READY and export.expires_at > utcnow()
        if not ready or not path.exists():
            raise NotFound("This export has expired or is not ready. Prepare a new one.")
        return path

    async def close(self) -> None:
        """Let builds in progress finish (shutdown waits for them)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- building ------------------------------------------------------------------------------

    async def _set(self, export_id: int, **values) -> None:
        async with self.db.write() as session:
            await session.execute(
                update(DataExport).where(DataExport.id == export_id).values(**values)
            )

    async def _build(self, export_id: int, user_id: int) -> None:
        loop = asyncio.get_running_loop()
        folder = self.settings.exports_dir / str(user_id)
        final = folder / f"{export_id}.zip"
        partial = folder / f"{export_id}.zip.part"
        try:
            documents, photos = await self._gather(user_id)
            await loop.run_in_executor(None, lambda: folder.mkdir(parents=True, exist_ok=True))
            archive = await loop.run_in_executor(
                None, lambda: zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED)
            )
            try:
                for name, document in documents.items():
                    text = json.dumps(document, ensure_ascii=False, indent=2)
                    await loop.run_in_executor(None, archive.writestr, name, text)
                shown = 0
                for done, (name, key) in enumerate(photos, 1):
                    try:
                        data = await self.storage.get(key)
                    except MediaNotFound:
                        log.warning("export %s: a photo file is missing from storage", export_id)
                        continue
                    # JPEG and WebP are compressed already: stored, not deflated again.
                    await loop.run_in_executor(
                        None, lambda n=name, d=data: archive.writestr(n, d, zipfile.ZIP_STORED)
                    )
                    progress = int(95 * done / len(photos))
                    if progress >= shown + PROGRESS_STEP:
                        shown = progress
                        await self._set(export_id, progress=progress)
                index = _index_html(documents["posts.json"], documents["profile.json"])
                await loop.run_in_executor(None, archive.writestr, "index.html", index)
            finally:
                await loop.run_in_executor(None, archive.close)
            await loop.run_in_executor(None, os.replace, partial, final)
            size = await loop.run_in_executor(None, lambda: final.stat().st_size)
            await self._set(
                export_id,
                status=ExportStatus.READY,
                progress=100,
                size_bytes=size,
                finished_at=utcnow(),
            )
            log.info("export %s ready: %d photos, %d bytes", export_id, len(photos), size)
        except Exception:
            log.exception("export %s failed", export_id)
            partial.unlink(missing_ok=True)
            try:
                await self._set(export_id, status=ExportStatus.FAILED, finished_at=utcnow())
            except Exception:
                log.exception("export %s: could not record the failure", export_id)

    async def _gather(self, user_id: int) -> tuple[dict, list[tuple[str, str]]]:
        async with self.db.read() as session:
            user = await session.get(User, user_id)
            posts = list(
                (
                    await session.execute(
                        select(Post)
                        .where(Post.author_id == user_id)
                        .order_by(Post.id)
                        .options(selectinload(Post.photos).selectinload(Photo.renditions))
                    )
                ).scalars()
            )
            comments = (
                await session.execute(
                    select(Comment).where(Comment.author_id == user_id).order_by(Comment.id)
                )
            ).scalars()
            comments = [
                {
                    "id": str(c.id),
                    "post_id": str(c.post_id),
                    "reply_to": str(c.parent_id) if c.parent_id else None,
                    "text": c.body,
                    "created_at": _iso(c.created_at),
                }
                for c in comments
            ]
            likes = [
                {"post_id": str(row.post_id), "liked_at": _id_time(row.id)}
                for row in await session.execute(
                    select(Like.id, Like.post_id).where(Like.user_id == user_id).order_by(Like.id)
                )
            ]
            saves = [
                {"post_id": str(row.post_id), "saved_at": _id_time(row.id)}
                for row in await session.execute(
                    select(Save.id, Save.post_id).where(Save.user_id == user_id).order_by(Save.id)
                )
            ]
            following = [
                {"username": name, "since": _iso(since)}
                for name, since in await session.execute(
                    select(User.username, Follow.created_at)
                    .join(Follow, Follow.followee_id == User.id)
                    .where(Follow.follower_id == user_id)
                    .order_by(Follow.created_at)
                )
            ]
            followers = [
                {"username": name, "since": _iso(since)}
                for name, since in await session.execute(
                    select(User.username, Follow.created_at)
                    .join(Follow, Follow.follower_id == User.id)
                    .where(Follow.followee_id == user_id)
                    .order_by(Follow.created_at)
                )
            ]
        profile = {
            "username": user.username,
            "display_name": user.display_name,
            "bio": user.bio,
            "email": user.email,
            "language": user.locale,
            "private": user.is_private,
            "joined_at": _iso(user.created_at),
            "two_factor_sign_in": user.two_factor_enabled,
        }
        photo_files: list[tuple[str, str]] = []
        post_docs = []
        for post in posts:
            day = post.created_at.strftime("%Y-%m-%d")
            photo_docs = []
            for n, photo in enumerate(post.photos, 1):
                doc = {
                    "alt_text": photo.alt_text,
                    "width": photo.width,
                    "height": photo.height,
                    "camera": photo.camera or {},
                    "file": None,
                }
                if photo.renditions:
                    best = largest(photo)
                    ext = best.key.rsplit(".", 1)[-1]
                    name = f"photos/{day}_{post.id}_{n}.{ext}"
                    doc["file"] = name
                    doc["width"], doc["height"] = best.width, best.height
                    photo_files.append((name, best.key))
                photo_docs.append(doc)
            post_docs.append(
                {
                    "id": str(post.id),
                    "caption": post.caption,
                    "created_at": _iso(post.created_at),
                    "updated_at": _iso(post.updated_at),
                    "like_count": post.like_count,
                    "comment_count": post.comment_count,
                    "photos": photo_docs,
                }
            )
        documents = {
            "profile.json": profile,
            "posts.json": post_docs,
            "comments.json": comments,
            "likes.json": likes,
            "saves.json": saves,
            "following.json": following,
            "followers.json": followers,
        }
        return documents, photo_files


def _index_html(posts: list[dict], profile: dict) -> str:
    """A page to open in any browser: every post, newest first, with its photos."""
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>@{esc(profile['username'])}</title></head><body>",
        f"<h1>@{esc(profile['username'])}</h1>",
    ]
    for post in reversed(posts):
        parts.append(f"<section><h2>{esc(post['created_at'] or '')}</h2>")
        for photo in post["photos"]:
            if photo["file"]:
                parts.append(
                    f"<p><img src='{esc(photo['file'])}' alt='{esc(photo['alt_text'])}' "
                    f"width='{photo['width']}' height='{photo['height']}' "
                    f"style='max-width:100%;height:auto'></p>"
                )
        parts.append(f"<p>{esc(post['caption'])}</p></section>")
    parts.append("</body></html>")
    return "".join(parts)
