"""Read-through caches that every process keeps in memory, kept honest by change stamps.

A page such as the home feed needs the session, the unread badge, the feed's post ids, each
post's card data and the viewer's likes; read from the database each time, that is seven round
trips and most of the page's cost. The caches here keep those answers in memory, and every write
that could change one says so, after it commits, by naming *topics* (``post:42``, ``user:7``,
``posts-by:7``...). An entry lists the topics it was built from and remembers the stamp taken
before its database read began; it is served only while none of those topics has changed since.

* The stamp is taken *before* the read, so a change that commits while the read is in flight
  makes the entry stale at once, whichever of the two finishes first.
* Other processes hear of changes through Redis (``RedisChanges``), on a plain pub/sub channel
  of its own. While that link is down the caches answer nothing and every read goes to the
  database; when it comes back every entry made before is dropped, since changes may have
  been missed in between.
* Every entry also has a maximum age, a bound on staleness should a change ever go unheard.

The rendered HTML of a post card is cached too, but by *content*: its key holds every value the
card shows (counts, names, the viewer's like, the relative time...), so it never needs
invalidating (``FragmentCache``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

log = logging.getLogger(__name__)

# How many topics keep their own stamp; older ones share one (see Changes._forget_oldest).
MAX_TOPICS = 200_000
REDIS_CHANNEL = "tornagram:cache-changes"
RECONNECT_MAX_SECS = 5.0
# Everything that depends on who may see what (a user going private, a block) names this.
VISIBILITY = "visibility"
# Notifications removed with what they were about (a deleted post or comment): whose badge
# changed is not known without a query, so every badge is read again.
NOTICES_GONE = "notices-gone"


# -- topics: what a write changes and what an entry depends on ------------------------------


# Topic names are interned (lru_cache): a feed page's entry lists ~200 of them, and thousands
# of entries share the same few strings instead of each holding copies.


@lru_cache(maxsize=100_000)
def user_topic(user_id: int) -> str:
    """The user's own row: name, avatar, language, privacy."""
    return f"user:{user_id}"


@lru_cache(maxsize=100_000)
def sessions_topic(user_id: int) -> str:
    """The user's sessions: sign out, revoke, a new password."""
    return f"sessions:{user_id}"


@lru_cache(maxsize=100_000)
def graph_topic(user_id: int) -> str:
    """Whom the user follows or blocks, or is followed or blocked by."""
    return f"graph:{user_id}"


@lru_cache(maxsize=100_000)
def posts_by_topic(user_id: int) -> str:
    """A post by the user appeared or went away."""
    return f"posts-by:{user_id}"


@lru_cache(maxsize=100_000)
def post_topic(post_id: int) -> str:
    """A post's card changed: caption, counts, comments."""
    return f"post:{post_id}"


@lru_cache(maxsize=100_000)
def marks_topic(user_id: int) -> str:
    """The user's likes and saves."""
    return f"marks:{user_id}"


@lru_cache(maxsize=100_000)
def unread_topic(user_id: int) -> str:
    """The user's unread notifications."""
    return f"unread:{user_id}"


# -- change stamps ------------------------------------------------------------------------------


class Changes:
    """A counter that goes up on every change, and for each topic the value at its last one.

    ``stamp()`` before reading; ``fresh(stamp, topics)`` later says whether anything the read
    depended on has changed since. In-process only; ``RedisChanges`` adds the other processes.
    """

    def __init__(self, *, max_topics: int = MAX_TOPICS) -> None:
        self._counter = 0
        self._changed: OrderedDict[str, int] = OrderedDict()
        # Entries stamped before this are stale: a reset, or a forgotten topic's last change.
        self._floor = 0
        self._max_topics = max_topics
        self._listeners: list[Callable[[], None]] = []

    @property
    def usable(self) -> bool:
        """Whether changes made anywhere reach this process (caches answer only then)."""
        return True

    def stamp(self) -> int:
        return self._counter

    def fresh(self, stamp: int, topics: Iterable[str]) -> bool:
        if stamp < self._floor:
            return False
        changed = self._changed
        for topic in topics:
            last = changed.get(topic)
            if last is not None and last > stamp:
                return False
        return True

    def apply(self, topics: Iterable[str]) -> None:
        """Mark topics changed here, now (a change heard from elsewhere, or made here)."""
        for topic in topics:
            self._counter += 1
            self._changed[topic] = self._counter
            self._changed.move_to_end(topic)
        while len(self._changed) > self._max_topics:
            self._forget_oldest()

    def _forget_oldest(self) -> None:
        # Its stamp moves into the floor: entries older than it are dropped with it, which errs
        # towards reading the database again, never towards serving a stale answer.
        _topic, last = self._changed.popitem(last=False)
        self._floor = max(self._floor, last)

    def reset(self) -> None:
        """Forget everything: every entry made before now is stale."""
        self._counter += 1
        self._floor = self._counter
        self._changed.clear()
        for listener in self._listeners:
            listener()

    def on_reset(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    async def changed(self, topics: Iterable[str]) -> None:
        """A write committed: stale here at once, and everywhere else as soon as they hear."""
        self.apply(list(topics))

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisChanges(Changes):
    """Changes shared by every process through one Redis pub/sub channel."""

    def __init__(self, url: str, *, channel: str = REDIS_CHANNEL, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        import redis.asyncio as aioredis

        self._channel = channel
        self._redis = aioredis.from_url(url, socket_connect_timeout=2, socket_timeout=None)
        self._origin = f"{os.getpid()}-{os.urandom(4).hex()}"
        self._subscribed = False
        self._reader: asyncio.Task | None = None

    @property
    def usable(self) -> bool:
        return self._subscribed

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read_forever())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        self._subscribed = False
        await self._redis.aclose()

    async def changed(self, topics: Iterable[str]) -> None:
        topics = list(topics)
        self.apply(topics)
        message = json.dumps({"from": self._origin, "topics": topics})
        try:
            await self._redis.publish(self._channel, message)
        except Exception as exc:  # Redis down: our reader sees it too and stops the caches
            log.warning("could not announce a change (%s): %s", ", ".join(topics), exc)

    async def _read_forever(self) -> None:
        delay = 0.1
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                # Changes may have been missed while unsubscribed: nothing cached before counts.
                self.reset()
                self._subscribed = True
                delay = 0.1
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=30)
                    if message is not None:
                        self._heard(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Nothing is served while unsubscribed (usable is False), and the next subscribe
                # resets: no entry from before the outage is trusted again.
                if self._subscribed:
                    log.warning("cache changes from other processes unheard: %s", exc)
                self._subscribed = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_SECS)
            finally:
                self._subscribed = False
                try:
                    await pubsub.aclose()
                except Exception as exc:  # the connection is already gone; nothing to undo
                    log.debug("closing the cache pub/sub: %s", exc)

    def _heard(self, data: bytes | str) -> None:
        try:
            message = json.loads(data)
            if message.get("from") == self._origin:
                return
            self.apply(str(topic) for topic in message["topics"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring a malformed cache message: %r", data[:200])


# -- read-through stores -------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    value: Any
    stamp: int
    topics: tuple[str, ...]
    born: float


class Store:
    """One kind of cached answer: a bounded LRU of entries, each with its topics and stamp."""

    def __init__(
        self,
        changes: Changes,
        name: str,
        *,
        max_entries: int,
        max_age_secs: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.changes = changes
        self.name = name
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._max_entries = max_entries
        self._max_age = max_age_secs
        self._clock = clock
        self.hits = 0
        self.misses = 0
        changes.on_reset(self._entries.clear)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any | None:
        """The cached value, or None when absent, stale or the caches cannot be trusted."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        if (
            not self.changes.usable
            or self._clock() - entry.born > self._max_age
            or not self.changes.fresh(entry.stamp, entry.topics)
        ):
            del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry.value

    def put(self, key: Hashable, value: Any, stamp: int, topics: Iterable[str]) -> None:
        """Keep ``value``, read after ``stamp`` was taken, unless it is already stale."""
        topics = tuple(topics)
        if not self.changes.usable or not self.changes.fresh(stamp, topics):
            return
        self._entries[key] = _Entry(value, stamp, topics, self._clock())
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def discard(self, key: Hashable) -> None:
        self._entries.pop(key, None)


class FragmentCache:
    """Rendered HTML by a key that holds everything it shows: never stale, only evicted."""

    def __init__(self, max_entries: int) -> None:
        self._entries: OrderedDict[Hashable, str] = OrderedDict()
        self._max_entries = max_entries
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> str | None:
        html = self._entries.get(key)
        if html is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return html

    def put(self, key: Hashable, html: str) -> None:
        self._entries[key] = html
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class NoCaches(Changes):
    """Caches switched off (TORNAGRAM_CACHES=0): every store answers nothing."""

    @property
    def usable(self) -> bool:
        return False


def make_changes(redis_url: str | None, *, enabled: bool = True) -> Changes:
    if not enabled:
        return NoCaches()
    return RedisChanges(redis_url) if redis_url else Changes()
