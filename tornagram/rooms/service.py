"""What people do in rooms: open one, talk in it, read what was said."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tornagram.accounts.models import User
from tornagram.db.engine import Database
from tornagram.db.ids import IdGenerator
from tornagram.errors import InvalidInput, NotFound, UserError
from tornagram.photos.models import Post
from tornagram.ratelimit import DEFAULT_RATES, RateLimiter
from tornagram.realtime.channels import room_channel
from tornagram.realtime.publish import EventPublisher
from tornagram.rooms.models import Room, RoomMessage
from tornagram.storage.urls import media_url

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
TITLE_MAX_CHARS = 80
# Danmaku must stay short enough to read while it flies by.
MESSAGE_MAX_CHARS = 500
HISTORY_PAGE_SIZE = 50


@dataclass(slots=True)
class RoomView:
    room: Room
    owner: User
    cover: Post | None  # with photos and renditions loaded


def author_json(user: User) -> dict:
    return {
        "username": user.username,
        "name": user.name,
        "avatar": media_url(user.avatar_small_key),
    }


def message_json(message: RoomMessage, author: User, slug: str) -> dict:
    return {
        "id": str(message.id),
        "room": slug,
        "body": message.body,
        "author": author_json(author),
        "created_at": message.created_at.isoformat(),
    }


class RoomsService:
    def __init__(
        self,
        db: Database,
        ids: IdGenerator,
        events: EventPublisher,
        photos,
        *,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.db = db
        self.ids = ids
        self.events = events
        self.photos = photos
        # The "send" bucket, shared with live comments (InteractionsService.add_comment).
        self.limiter = limiter if limiter is not None else RateLimiter(DEFAULT_RATES)

    async def open_room(
        self, owner: User, slug: str, title: str, cover_post_id: int | None
    ) -> Room:
        slug = (slug or "").strip().lower()
        title = " ".join((title or "").split())
        errors: dict[str, UserError] = {}
        if not SLUG_RE.match(slug):
            errors["slug"] = UserError(
                "Room addresses use 1–40 letters a–z, digits and hyphens, not at either end.",
                "slug",
            )
        if not title:
            errors["title"] = UserError("Give the room a title.", "title")
        elif len(title) > TITLE_MAX_CHARS:
            errors["title"] = UserError(
                "Titles can be at most %(max)d characters.", "title", max=TITLE_MAX_CHARS
            )
        if cover_post_id is not None:
            try:
                view = await self.photos.get_post(cover_post_id, owner)
            except NotFound:
                view = None
            if view is None or view.post.author_id != owner.id:
                errors["cover"] = UserError("Choose one of your own posts as the cover.", "cover")
        if errors:
            raise InvalidInput(errors)
        room = Room(
            id=self.ids.next_id(),
            slug=slug,
            title=title,
            owner_id=owner.id,
            cover_post_id=cover_post_id,
        )
        try:
            async with self.db.write() as session:
                session.add(room)
        except IntegrityError:
            raise InvalidInput(UserError("That room address is taken.", "slug")) from None
        return room

    async def rooms(self, *, before: int | None = None, limit: int = 30) -> list[tuple[Room, User]]:
        query = select(Room, User).join(User, User.id == Room.owner_id)
        if before is not None:
            query = query.where(Room.id < before)
        async with self.db.read() as session:
            rows = await session.execute(query.order_by(Room.id.desc()).limit(limit))
            return [(room, owner) for room, owner in rows]

    async def covers(self, rooms, viewer: User | None = None) -> dict[int, Post]:
        """Room id -> its cover post, for the covers ``viewer`` may see (a private or deleted
        cover leaves the room without one, as on the room page). One query for the page."""
        posts = await self.photos.visible_posts([room.cover_post_id for room, _ in rooms], viewer)
        return {
            room.id: posts[room.cover_post_id]
            for room, _owner in rooms
            if room.cover_post_id in posts
        }

    async def room(self, slug: str, viewer: User | None = None) -> RoomView:
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(Room, User).join(User, User.id == Room.owner_id).where(Room.slug == slug)
                )
            ).one_or_none()
        if row is None:
            raise NotFound("There is no room at this address.")
        room, owner = row
        cover = None
        if room.cover_post_id is not None:
            try:
                cover = (await self.photos.get_post(room.cover_post_id, viewer)).post
            except NotFound:
                cover = None  # the cover went private or was deleted; the room goes on
        return RoomView(room, owner, cover)

    async def say(self, author: User, slug: str, body: str) -> RoomMessage:
        """Store the message, then publish ``message.created`` to everyone in the room."""
        self.limiter.check("send", author.id)
        body = " ".join((body or "").split())
        if not body:
            raise InvalidInput(UserError("Write something first.", "body"))
        if len(body) > MESSAGE_MAX_CHARS:
            raise InvalidInput(
                UserError(
                    "Messages can be at most %(max)d characters.", "body", max=MESSAGE_MAX_CHARS
                )
            )
        view = await self.room(slug)
        message = RoomMessage(
            id=self.ids.next_id(), room_id=view.room.id, author_id=author.id, body=body
        )
        async with self.db.write() as session:
            session.add(message)
            await session.execute(
                update(Room)
                .where(Room.id == view.room.id)
                .values(message_count=Room.message_count + 1)
            )
            self.events.on_commit(
                session, room_channel(slug), "message.created", message_json(message, author, slug)
            )
        return message

    async def history(
        self, room: Room, *, before: int | None = None, limit: int = HISTORY_PAGE_SIZE
    ) -> list[tuple[RoomMessage, User]]:
        """The latest messages (or those before an id), oldest first for reading."""
        query = (
            select(RoomMessage, User)
            .join(User, User.id == RoomMessage.author_id)
            .where(RoomMessage.room_id == room.id)
        )
        if before is not None:
            query = query.where(RoomMessage.id < before)
        async with self.db.read() as session:
            rows = list(await session.execute(query.order_by(RoomMessage.id.desc()).limit(limit)))
        return [(m, u) for m, u in reversed(rows)]

    async def my_posts_for_cover(self, owner: User) -> list[Post]:
        posts, _ = await self.photos.posts_by(owner.id, limit=30)
        return posts
