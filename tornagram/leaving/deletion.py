"""Deleting an account: everything the person made goes, and everyone else's counts stay right.

One write transaction, after the password (and a code, with two-factor sign-in on) is right:

1. Counters kept on other rows are brought down first, while the rows that say by how much
   still exist: the follower and following counts of the people on either side of a follow,
   the message counts of other people's rooms. The like and comment counts of other people's
   posts are counted again from their rows once the account's are gone (a comment's replies
   go with it, whoever wrote them).
2. Every session ends, announced after commit so that each process closes the live sockets
   and long polls opened with them.
3. The posts, then the account, are deleted; the foreign keys cascade to photos, tags, likes,
   comments, saves, follows, requests, blocks, notifications, rooms, tokens and exports.
4. Every media file that nothing points at any more is deleted, in the same transaction
   (photos/media_refs.py: bytes shared with someone else's photo or avatar stay).
5. The username is reserved for 30 days, so nobody can pass as the person who left.

Rows removed by cascades are invisible to the change topics (db/topics.py), so every cache is
told to forget everything after the commit: deletions are rare, and a stale page showing a
deleted person is worse than a few cold caches.
"""

from __future__ import annotations

import logging
import shutil
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update

from tornagram.accounts.models import DataExport, ReservedUsername, User
from tornagram.db.base import utcnow
from tornagram.db.engine import after_commit
from tornagram.errors import InvalidInput, UserError
from tornagram.graph.models import Comment, Follow, Like
from tornagram.interactions.counts import recount
from tornagram.photos.media_refs import delete_unreferenced
from tornagram.photos.models import MediaUpload, MediaUploadFile, Photo, Post, Rendition
from tornagram.realtime.channels import post_channel
from tornagram.rooms.models import Room, RoomMessage

log = logging.getLogger(__name__)

USERNAME_RESERVED_FOR = timedelta(days=30)
WRONG_PASSWORD_MESSAGE = "Your password is not right."  # noqa: S105 - a message
WRONG_CONFIRMATION_MESSAGE = "Type your username to confirm."


class DeletionService:
    def __init__(self, db, hasher, accounts, twofactor, storage, settings) -> None:
        self.db = db
        self.hasher = hasher
        self.accounts = accounts
        self.twofactor = twofactor
        self.storage = storage
        self.settings = settings
        # Told after commit which post channels closed (tornagram/realtime/control.py).
        self.live = None

    async def delete_account(
        self, user: User, *, password: str, code: str, typed_name: str, ip: str = ""
    ) -> None:
        errors: dict[str, UserError] = {}
        if (typed_name or "").strip().lstrip("@").lower() != user.username:
            errors["username"] = UserError(WRONG_CONFIRMATION_MESSAGE, "username")
        ok, _ = await self.hasher.verify(user.password_hash, (password or "")[:1024])
        if not ok:
            errors["password"] = UserError(WRONG_PASSWORD_MESSAGE, "password")
        if errors:
            raise InvalidInput(errors)
        if user.two_factor_enabled and not await self.twofactor.check_code(user, code, ip=ip):
            raise InvalidInput(UserError("That code is not right.", "code"))
        await self.remove(user)

    async def remove(self, user: User, *, also=None) -> None:
        """Delete the account and everything of it; ``also(session)`` runs in the same
        transaction (a moderator's audit entry)."""
        uid = user.id
        async with self.db.write() as session:
            if also is not None:
                also(session)
            post_ids = list(
                (await session.execute(select(Post.id).where(Post.author_id == uid))).scalars()
            )
            keys = set(
                (
                    await session.execute(
                        select(Rendition.key)
                        .join(Photo, Photo.id == Rendition.photo_id)
                        .join(Post, Post.id == Photo.post_id)
                        .where(Post.author_id == uid)
                    )
                ).scalars()
            )
            keys.update(k for k in (user.avatar_key, user.avatar_small_key) if k)
            # Other people's posts this account liked or commented on are counted again
            # once its rows are gone (interactions/counts.py): lowering them by its rows would
            # count twice for a suspended account, whose likes and comments were left out.
            touched = list(
                (
                    await session.execute(
                        select(Post.id).where(
                            Post.author_id != uid,
                            or_(
                                Post.id.in_(select(Like.post_id).where(Like.user_id == uid)),
                                Post.id.in_(
                                    select(Comment.post_id).where(Comment.author_id == uid)
                                ),
                            ),
                        )
                    )
                ).scalars()
            )
            # Photos uploaded through the app API that no post took yet: their rows go with
            # the account (foreign key), their files here.
            keys.update(
                (
                    await session.execute(
                        select(MediaUploadFile.key)
                        .join(MediaUpload, MediaUpload.id == MediaUploadFile.upload_id)
                        .where(MediaUpload.owner_id == uid)
                    )
                ).scalars()
            )
            await self._fix_counters(session, uid)
            # The app tokens too, whose streams close after the commit.
            await self.accounts.end_sessions_of(session, uid)
            await session.execute(delete(Post).where(Post.author_id == uid))
            await session.execute(delete(User).where(User.id == uid))
            if touched:
                await recount(session, touched)
            until = utcnow() + USERNAME_RESERVED_FOR
            stale = or_(
                ReservedUsername.username == user.username, ReservedUsername.until < utcnow()
            )
            await session.execute(delete(ReservedUsername).where(stale))
            session.add(ReservedUsername(username=user.username, until=until))
            await delete_unreferenced(session, self.storage, keys)
            live, db = self.live, self.db

            async def announce() -> None:
                await db.changes.everything_changed()
                if live is not None and post_ids:
                    await live.access_changed(channels=[post_channel(p) for p in post_ids])

            after_commit(session, announce)
        # The export files are this person's own; they go too (their rows went with the account).
        shutil.rmtree(self.settings.exports_dir / str(uid), ignore_errors=True)
        log.info("account %s deleted with %d posts", uid, len(post_ids))

    async def _fix_counters(self, session, uid: int) -> None:
        # Follows, both ways.
        await session.execute(
            update(User)
            .where(User.id.in_(select(Follow.followee_id).where(Follow.follower_id == uid)))
            .values(follower_count=User.follower_count - 1)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(User)
            .where(User.id.in_(select(Follow.follower_id).where(Follow.followee_id == uid)))
            .values(following_count=User.following_count - 1)
            .execution_options(synchronize_session=False)
        )
        # Messages in other people's rooms.
        said = (
            await session.execute(
                select(RoomMessage.room_id, func.count())
                .join(Room, Room.id == RoomMessage.room_id)
                .where(RoomMessage.author_id == uid, Room.owner_id != uid)
                .group_by(RoomMessage.room_id)
            )
        ).all()
        for room_id, count in said:
            await session.execute(
                update(Room)
                .where(Room.id == room_id)
                .values(message_count=Room.message_count - count)
                .execution_options(synchronize_session=False)
            )
        # Exports: their rows cascade; nothing else counts them.
        await session.execute(delete(DataExport).where(DataExport.user_id == uid))
