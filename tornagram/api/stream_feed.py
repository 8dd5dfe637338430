"""What one streaming connection is sent: the hub's frames, read back and turned into
Mastodon events for the streams it subscribed to.

Two channels feed it, both through the broker (so across processes with Redis):

- the person's user channel (``user:<id>``): each notification is read through the API's
  visibility rule and sent to ``user`` and ``user:notification``;
- the posts timeline (``timeline:posts``, photos/post_events.py): each post made, edited or
  deleted is matched against the streams (``user`` when it is the person's own or from someone
  they follow; ``public…`` when its author is public; ``hashtag…`` by tag), then read as this
  person, through the same rule: a post they may not see (blocked either way, a suspended or a
  private author they do not follow) is never sent. A ``delete`` carries only the id and goes
  where an ``update`` could have gone, to those who may see the author.

Events are handled one after another, so a post's ``update`` comes before its ``delete``.
"""

from __future__ import annotations

import asyncio
import json
import logging

from sqlalchemy import BigInteger, exists, literal, select

from tornagram.errors import NotFound
from tornagram.graph.models import Follow
from tornagram.graph.visibility import can_see_user_id
from tornagram.oauth.scopes import grants
from tornagram.photos.post_events import CREATED, DELETED, EDITED
from tornagram.realtime.channels import POSTS_CHANNEL
from tornagram.realtime.frames import text_frame_payload

log = logging.getLogger(__name__)

NOTIFICATION_STREAMS = ("user", "user:notification")
PUBLIC_STREAMS = ("public", "public:local", "public:media", "public:local:media")
TAG_STREAMS = ("hashtag", "hashtag:local")
# Streams that carry posts (and so listen to the posts timeline).
POST_STREAMS = ("user", *PUBLIC_STREAMS, *TAG_STREAMS)
STREAMS = (*NOTIFICATION_STREAMS, *PUBLIC_STREAMS, *TAG_STREAMS)
POST_EVENTS = {CREATED: "update", EDITED: "status.update", DELETED: "delete"}
# A connection's events waiting to be read and sent; past this it is closed (try again later).
MAX_QUEUED = 1000


def _compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class StreamFeed:
    """The hub's ``Subscriber`` for one connection. ``streams`` holds its subscriptions as
    the Mastodon ``stream`` arrays they are named by (``("user",)``, ``("hashtag", "cats")``)."""

    __slots__ = ("ctx", "deliver", "pending", "queue", "reads_notifications", "reads_statuses",
                 "streams", "token_use", "urls", "user", "worker")  # fmt: skip

    def __init__(self, ctx, token_use, deliver, pending) -> None:
        self.ctx = ctx
        self.token_use = token_use
        self.user = token_use.user
        # What the token may read: posts need read:statuses, notifications read:notifications
        # (the ``user`` stream carries both, each only when granted).
        scopes = token_use.token.scope_list
        self.reads_statuses = grants(scopes, "read:statuses")
        self.reads_notifications = grants(scopes, "read:notifications")
        self.deliver = deliver  # (event name, payload text, stream array) -> bool
        self.pending = pending  # () -> bytes not yet flushed
        self.streams: set[tuple[str, ...]] = set()
        self.urls = None  # set by the handler: where entity URLs point
        self.queue: asyncio.Queue = asyncio.Queue()
        self.worker: asyncio.Task | None = None

    # -- the hub's side ---------------------------------------------------------------------

    def send_frame(self, frame: bytes) -> bool:
        try:
            wire = json.loads(text_frame_payload(frame))
        except ValueError:
            return True
        for event in wire if isinstance(wire, list) else [wire]:
            if not isinstance(event, dict):
                continue
            if self.queue.qsize() >= MAX_QUEUED:
                self.close_for_backpressure()
                return False
            self.queue.put_nowait(event)
        if self.worker is None or self.worker.done():
            self.worker = asyncio.get_running_loop().create_task(self._work())
        return True

    def may_subscribe(self, name: str) -> bool:
        """Whether the token's scopes cover the stream (``user`` needs either)."""
        if name == "user":
            return self.reads_statuses or self.reads_notifications
        if name in NOTIFICATION_STREAMS:
            return self.reads_notifications
        return self.reads_statuses

    def pending_bytes(self) -> int:
        return self.pending()

    def close_for_backpressure(self) -> None:
        self.deliver(None, None, None)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
        self.streams.clear()

    # -- reading events back ----------------------------------------------------------------

    async def _work(self) -> None:
        while not self.queue.empty():
            event = self.queue.get_nowait()
            try:
                await self._handle(event)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad event never ends the stream
                log.exception("streaming event %s not delivered", event.get("event"))

    async def _handle(self, event: dict) -> None:
        data = event.get("data") or {}
        kind = event.get("event")
        if kind == "notification.created" and data.get("id"):
            await self._notification(data["id"])
        elif event.get("channel") == POSTS_CHANNEL and kind in POST_EVENTS:
            await self._post(kind, data)

    async def _notification(self, raw_id: str) -> None:
        targets = [s for s in sorted(self.streams) if s[0] in NOTIFICATION_STREAMS]
        if not targets or not self.reads_notifications:
            return
        reads = self.ctx.api_notifications
        try:
            row = await reads.one(self.user, int(raw_id))
        except NotFound:  # gone, or no longer visible: nothing to say
            return
        items = await reads.render(self.user, [row], self.urls)
        if items:
            payload = _compact(items[0])
            for stream in targets:
                self.deliver("notification", payload, list(stream))

    def _candidates(self, data: dict) -> list[tuple[str, ...]]:
        """The subscriptions an event could be for, from what it says (no reading yet)."""
        tags = set(data.get("tags") or ())
        found = []
        for stream in sorted(self.streams):
            name = stream[0]
            if (
                name == "user"
                or (name in PUBLIC_STREAMS and data.get("public"))
                or (name in TAG_STREAMS and stream[1] in tags)
            ):
                found.append(stream)
        return found

    async def _post(self, kind: str, data: dict) -> None:
        targets = self._candidates(data) if self.reads_statuses else []
        if not targets:
            return
        post_id, author_id = int(data["id"]), int(data["author_id"])
        if ("user",) in targets and not await self._in_home(author_id):
            targets.remove(("user",))
            if not targets:
                return
        if kind == DELETED:
            if not await self._sees_author(author_id):
                return
            payload = str(post_id)
        else:
            statuses = self.ctx.api_statuses
            try:
                found = await statuses.find(self.user, post_id)
            except NotFound:  # not for this person's eyes (or already gone)
                return
            if found.comment is not None:
                return
            payload = _compact(await statuses.render(self.user, found, self.urls))
        for stream in targets:
            self.deliver(POST_EVENTS[kind], payload, list(stream))

    async def _in_home(self, author_id: int) -> bool:
        """Whether the author's posts enter this person's home timeline: their own, or
        someone they follow (accepted)."""
        if author_id == self.user.id:
            return True
        async with self.ctx.db.read() as session:
            query = select(
                exists().where(Follow.follower_id == self.user.id, Follow.followee_id == author_id)
            )
            return bool(await session.scalar(query))

    async def _sees_author(self, author_id: int) -> bool:
        """The visibility rule on the author as it stands: a delete goes only to those who
        could have been sent the post (not blocked either way, not suspended, public or
        followed)."""
        async with self.ctx.db.read() as session:
            author = literal(author_id, BigInteger)
            return bool(await session.scalar(select(can_see_user_id(self.user.id, author))))
