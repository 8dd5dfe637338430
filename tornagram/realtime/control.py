"""Cutting live connections when the right to them ends, on every process.

A socket or long poll is authorised when it opens (the session) and when it subscribes (the
channel). Rights can end later: a session is signed out, revoked or ended by a password
change; a post goes private, is deleted, or its author blocks the viewer. Whatever process
made that change publishes one event on the control channel (``CONTROL_CHANNEL``, never
open to browsers), and the ``LiveControl`` of every process, watching it from start-up, acts
on the connections it holds:

* ``session.ended`` ``{"user": id, "sessions": [id, ...]}``: every connection opened with one of
  those sessions is closed at once (sockets with ``CLOSE_SESSION_ENDED``).
* ``access.changed`` ``{"channels": [...], "author": id, "viewers": [id | null, ...]}``: the
  subscriptions to the listed channels, and to any post channel of ``author``, are checked
  again with the subscribe rule; with ``viewers`` only those viewers' (``null``: signed-out
  viewers). A connection that may no longer listen is unsubscribed and told why.

The control events travel through the ordinary broker, so they are replayed to a process
that lost Redis for a while, exactly like any channel's events.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

from tornagram.errors import UserError
from tornagram.realtime.broker import Broker, BrokerUnavailable
from tornagram.realtime.channels import CONTROL_CHANNEL
from tornagram.realtime.events import Event

log = logging.getLogger(__name__)

SESSION_ENDED = "session.ended"
ACCESS_CHANGED = "access.changed"
# WebSocket close code (the 4000–4999 range is the application's): the session behind this
# socket has ended; the page should not reconnect as the person.
CLOSE_SESSION_ENDED = 4001


class LiveConnection(Protocol):
    """A socket or long poll as ``LiveControl`` sees it."""

    live_user: Any  # the User it was opened as, or None
    live_session_id: int | None

    def end_for_session(self) -> None:
        """The session ended: close now."""
        ...

    def lose_channel(self, channel: str, error: UserError) -> None:
        """Stop listening to ``channel`` and tell the client why."""
        ...


# (user or None, channel) -> raises UserError if that viewer may not listen to that channel;
# returns the post's author id for post channels (None otherwise).
Authorize = Callable[[Any, str], Awaitable[int | None]]


class LiveControl:
    def __init__(self, broker: Broker, authorize: Authorize) -> None:
        self._broker = broker
        self._authorize = authorize
        self._by_session: dict[int, set[LiveConnection]] = {}
        self._by_channel: dict[str, set[LiveConnection]] = {}
        # Post channel -> its author, learnt at subscribe time, so "this author went private"
        # finds the channels to check without asking the database.
        self._author_of: dict[str, int] = {}
        self._channels_by_author: dict[int, set[str]] = {}
        self._background: set[asyncio.Future[None]] = set()
        # Marks this process's own announcements, which it acts on without the round trip.
        self._origin = secrets.token_hex(8)
        broker.add_listener(self._heard)

    async def start(self) -> None:
        """Watch the control channel (with Redis down, the broker subscribes on reconnect)."""
        try:
            await self._broker.watch(CONTROL_CHANNEL)
        except BrokerUnavailable:
            log.warning("control channel not watched yet: the broker is unavailable")

    async def close(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    # -- what connections tell us ------------------------------------------------------------

    def opened(self, conn: LiveConnection) -> None:
        if conn.live_session_id is not None:
            self._by_session.setdefault(conn.live_session_id, set()).add(conn)

    def joined(self, conn: LiveConnection, channel: str, author_id: int | None = None) -> None:
        self._by_channel.setdefault(channel, set()).add(conn)
        if author_id is not None:
            self._author_of[channel] = author_id
            self._channels_by_author.setdefault(author_id, set()).add(channel)

    def left(self, conn: LiveConnection, channel: str) -> None:
        conns = self._by_channel.get(channel)
        if conns is None:
            return
        conns.discard(conn)
        if not conns:
            del self._by_channel[channel]
            author_id = self._author_of.pop(channel, None)
            if author_id is not None:
                channels = self._channels_by_author.get(author_id)
                if channels is not None:
                    channels.discard(channel)
                    if not channels:
                        del self._channels_by_author[author_id]

    def closed(self, conn: LiveConnection, channels: Iterable[str]) -> None:
        for channel in tuple(channels):
            self.left(conn, channel)
        if conn.live_session_id is not None:
            conns = self._by_session.get(conn.live_session_id)
            if conns is not None:
                conns.discard(conn)
                if not conns:
                    del self._by_session[conn.live_session_id]

    # -- announcing (any process) -----------------------------------------------------------

    async def session_ended(self, user_id: int, session_ids: Iterable[int]) -> None:
        ids = sorted(set(session_ids))
        if ids:
            await self._publish(SESSION_ENDED, {"user": user_id, "sessions": ids})

    async def access_changed(
        self,
        *,
        channels: Iterable[str] = (),
        author_id: int | None = None,
        viewer_ids: Iterable[int | None] | None = None,
    ) -> None:
        data: dict[str, Any] = {"channels": sorted(set(channels))}
        if author_id is not None:
            data["author"] = author_id
        if viewer_ids is not None:
            data["viewers"] = sorted(set(viewer_ids), key=lambda v: -1 if v is None else v)
        await self._publish(ACCESS_CHANGED, data)

    async def _publish(self, type_: str, data: dict[str, Any]) -> None:
        # This process acts at once, without waiting for the broker (or needing it up);
        # the others hear it through the broker and skip nothing.
        self._act(type_, data)
        try:
            await self._broker.publish(CONTROL_CHANNEL, type_, {**data, "from": self._origin})
        except BrokerUnavailable:
            # Other processes still re-check the session on every send, and every
            # subscription is checked again when its socket reconnects.
            log.warning("%s not announced to other processes: the broker is unavailable", type_)

    # -- acting (every process) --------------------------------------------------------------

    def _heard(self, event: Event) -> None:
        if event.channel != CONTROL_CHANNEL or event.data.get("from") == self._origin:
            return  # another channel, or this process's own announcement (already acted on)
        try:
            self._act(event.type, event.data)
        except (KeyError, TypeError, ValueError):
            log.warning("ignoring malformed control event %r", event)

    def _act(self, type_: str, data: dict[str, Any]) -> None:
        if type_ == SESSION_ENDED:
            self._end_sessions(data["sessions"])
        elif type_ == ACCESS_CHANGED:
            task = asyncio.ensure_future(self._recheck(data))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def _end_sessions(self, session_ids: list[int]) -> None:
        for session_id in session_ids:
            for conn in tuple(self._by_session.pop(int(session_id), ())):
                try:
                    conn.end_for_session()
                except Exception:
                    log.exception("closing %r for its ended session failed", conn)

    async def _recheck(self, data: dict[str, Any]) -> None:
        channels = set(data.get("channels", ()))
        author_id = data.get("author")
        if author_id is not None:
            channels.update(self._channels_by_author.get(int(author_id), ()))
        viewers = data.get("viewers")
        only = None if viewers is None else {None if v is None else int(v) for v in viewers}
        for channel in sorted(channels):
            # Viewers of one channel share one answer per person (a popular post going
            # private costs one query per distinct viewer here, not one per socket).
            verdicts: dict[int | None, UserError | None] = {}
            for conn in tuple(self._by_channel.get(channel, ())):
                user = conn.live_user
                viewer_id = user.id if user is not None else None
                if only is not None and viewer_id not in only:
                    continue
                if viewer_id not in verdicts:
                    verdicts[viewer_id] = await self._verdict(user, channel)
                error = verdicts[viewer_id]
                if error is not None and conn in self._by_channel.get(channel, ()):
                    self.left(conn, channel)
                    try:
                        conn.lose_channel(channel, error)
                    except Exception:
                        log.exception("unsubscribing %r from %s failed", conn, channel)

    async def _verdict(self, user, channel: str) -> UserError | None:
        try:
            await self._authorize(user, channel)
        except UserError as exc:
            return exc
        return None
