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
from typing import Any, Protocol, runtime_checkable

log = logging.getLogger(__name__)

# How many topics keep their own stamp; older ones share one (see LocalChanges._forget_oldest).
MAX_TOPICS = 200_000
REDIS_CHANNEL = "tornagram:cache-changes"
RECONNECT_MAX_SECS = 5.0
# A command to Redis that takes longer than this has failed (Redis hung or unreachable).
SOCKET_TIMEOUT_SECS = 1.0
# The change-stream reader pings after this much silence, and calls a link that has answered
# nothing for DEAD_AFTER_SECS dead: caches stop answering within about four seconds of a hang.
PING_SECS = 1.0
DEAD_AFTER_SECS = 3.0
# Pooled connections idle longer than this are pinged before they carry a command.
HEALTH_CHECK_SECS = 10
# Topics waiting to be announced while Redis does not take them; past this, one reset.
MAX_OUTBOX_TOPICS = 10_000
# How long a write waits for its announcement to be published, while Redis answers: the person's
# next page may be served by another process, which should have heard by then. A publish that
# takes longer marks the link slow, and writes stop waiting at all until one succeeds again.
PUBLISH_WAIT_SECS = 0.05
# How long closing waits for the outbox to be published (a command run against a live site).
CLOSE_DRAIN_SECS = 3.0
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


@runtime_checkable
class Changes(Protocol):
    """What the caches need to know about changes (contract: tests/cache/test_changes_contract.py).

    ``stamp()`` before a read; ``fresh(stamp, topics)`` later says whether anything the read
    depended on has changed since, here or, once heard, in another process. Three
    implementations: ``LocalChanges`` (one process), ``RedisChanges`` (every process sharing a
    Redis) and ``NoCaches`` (caches off).
    """

    @property
    def usable(self) -> bool:
        """Whether changes made anywhere reach this process (caches answer only then)."""
        ...

    def stamp(self) -> int:
        """Never goes down; goes up with every change made or heard."""
        ...

    def fresh(self, stamp: int, topics: Iterable[str]) -> bool:
        """False once any of ``topics`` changed (or everything was reset) after ``stamp``."""
        ...

    def on_reset(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever everything is forgotten (stores empty themselves)."""
        ...

    async def changed(self, topics: Iterable[str]) -> None:
        """A write committed: stale here at once, elsewhere as soon as they hear. Waits on
        nothing outside the process beyond a short bound (RedisChanges: PUBLISH_WAIT_SECS)."""
        ...

    async def everything_changed(self) -> None:
        """Every cached answer is stale, here and elsewhere (bulk writes such as ``seed``)."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class LocalChanges:
    """A counter that goes up on every change, and for each topic the value at its last one.

    In-process only; ``RedisChanges`` adds the other processes.
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

    async def everything_changed(self) -> None:
        """Every cached answer is stale, here and elsewhere (bulk writes such as ``seed``)."""
        self.reset()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisChanges(LocalChanges):
    """Changes shared by every process through one Redis pub/sub channel.

    Announcing never hangs on Redis: ``changed`` applies the topics here at once and leaves
    them in an outbox that a background task publishes, merged, as soon as Redis takes them.
    While Redis answers, ``changed`` waits for that publish (a millisecond or so), so other
    processes hear before the request is answered; it never waits more than
    ``PUBLISH_WAIT_SECS``, and not at all once a publish has been slow or failed, until one
    succeeds again. Only the other processes hear of a change late, and they stop serving from
    their caches meanwhile (below).

    The reader pings over its subscription every ``ping_secs`` of silence; a link that has not
    answered anything for ``dead_after_secs`` is treated exactly like Redis being down:
    ``usable`` turns False, so every store answers nothing, until a new subscription is
    confirmed, which resets everything cached before it.

    ``serve=False`` announces without caching (a process with its caches off, a command run
    against a live site): it never subscribes and is never usable.
    """

    def __init__(
        self,
        url: str,
        *,
        channel: str = REDIS_CHANNEL,
        serve: bool = True,
        socket_timeout_secs: float = SOCKET_TIMEOUT_SECS,
        ping_secs: float = PING_SECS,
        dead_after_secs: float = DEAD_AFTER_SECS,
        max_outbox_topics: int = MAX_OUTBOX_TOPICS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self._channel = channel
        self._serve = serve
        self._timeout = socket_timeout_secs
        self._ping_secs = ping_secs
        self._dead_after = dead_after_secs
        self._max_outbox = max_outbox_topics
        # No retries inside redis-py: our loops retry with backoff, and a retry hidden in a
        # command would double how long a hung Redis holds it.
        # One Redis or a cluster (tornagram/redis_client.py): the same calls either way.
        from tornagram.redis_client import connect

        self._redis = connect(
            url,
            socket_connect_timeout=socket_timeout_secs,
            socket_timeout=socket_timeout_secs,
            health_check_interval=HEALTH_CHECK_SECS,
            retry=Retry(NoBackoff(), 0),
        )
        self._origin = f"{os.getpid()}-{os.urandom(4).hex()}"
        self._subscribed = False
        self._reader: asyncio.Task | None = None
        # Topics changed here and not yet published, merged; past the bound, a reset instead.
        self._outbox: set[str] = set()
        self._outbox_reset = False
        self._outbox_ready = asyncio.Event()
        self._publisher: asyncio.Task | None = None
        # Set when a publish was slow or failed: writes stop waiting for publishes until one works.
        self._link_slow = False
        self._drained = asyncio.Event()  # set while the outbox is empty and nothing is in flight
        self._drained.set()
        self.published = 0  # messages Redis took (for tests and the curious)

    @property
    def usable(self) -> bool:
        return self._serve and self._subscribed

    async def start(self) -> None:
        if self._serve and self._reader is None:
            self._reader = asyncio.create_task(self._read_forever(), name="cache-changes-reader")
        self._start_publisher()

    def _start_publisher(self) -> None:
        if self._publisher is None:
            self._publisher = asyncio.create_task(
                self._publish_forever(), name="cache-changes-publisher"
            )

    async def close(self, *, drain_secs: float = CLOSE_DRAIN_SECS) -> None:
        """Publish what is still in the outbox (for up to ``drain_secs``), then disconnect."""
        if self._publisher is not None:
            try:
                await asyncio.wait_for(self.flushed(), drain_secs)
            except TimeoutError:
                log.warning("cache changes not announced before closing: Redis did not take them")
        for task in (self._reader, self._publisher):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._reader = self._publisher = None
        self._subscribed = False
        await self._redis.aclose()

    async def flushed(self) -> None:
        """Wait until everything changed here so far has been published."""
        await self._drained.wait()

    async def changed(self, topics: Iterable[str]) -> None:
        topics = list(topics)
        self.apply(topics)
        self._queue(topics, reset=False)
        await self._wait_published()

    async def everything_changed(self) -> None:
        self.reset()
        self._queue((), reset=True)
        await self._wait_published()

    async def _wait_published(self) -> None:
        if self._link_slow:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._drained.wait()), PUBLISH_WAIT_SECS)
        except TimeoutError:
            self._link_slow = True
            log.warning("Redis slow to take cache changes; writes no longer wait for it")

    def _queue(self, topics: Iterable[str], *, reset: bool) -> None:
        if reset or self._outbox_reset:
            self._outbox.clear()
            self._outbox_reset = True
        else:
            self._outbox.update(topics)
            if len(self._outbox) > self._max_outbox:
                # Redis has been away a while: one "forget everything" says it all, in bounded
                # memory.
                log.warning("cache change outbox full; announcing a reset instead")
                self._outbox.clear()
                self._outbox_reset = True
        self._drained.clear()
        self._outbox_ready.set()
        self._start_publisher()

    async def _publish_forever(self) -> None:
        delay = 0.1
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            while self._outbox or self._outbox_reset:
                topics, reset = self._outbox, self._outbox_reset
                self._outbox, self._outbox_reset = set(), False
                body: dict[str, Any] = {"from": self._origin}
                if reset:
                    body["reset"] = True
                else:
                    body["topics"] = sorted(topics)
                try:
                    await asyncio.wait_for(
                        self._redis.publish(self._channel, json.dumps(body)), self._timeout
                    )
                    self.published += 1
                    self._link_slow = False
                    delay = 0.1
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Kept for the next try: a process still subscribed must hear it, late.
                    log.warning("could not announce cache changes yet: %s", exc)
                    self._link_slow = True
                    self._queue(topics, reset=reset)
                    self._outbox_ready.clear()
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RECONNECT_MAX_SECS)
            self._drained.set()

    async def _read_forever(self) -> None:
        delay = 0.1
        loop = asyncio.get_running_loop()
        while True:
            pubsub = self._redis.pubsub()
            try:
                await asyncio.wait_for(pubsub.subscribe(self._channel), self._timeout)
                await self._confirmed(pubsub)
                # Changes may have been missed while unsubscribed: nothing cached before counts.
                self.reset()
                self._subscribed = True
                delay = 0.1
                heard_at = loop.time()
                while True:
                    message = await pubsub.get_message(timeout=self._ping_secs)
                    now = loop.time()
                    if message is not None:
                        heard_at = now
                        if message["type"] == "message":
                            self._heard(message["data"])
                    elif now - heard_at > self._dead_after:
                        # Not even a pong: Redis is hung or the host vanished without closing
                        # the socket. Treated as down, so no cache serves what it cannot check.
                        raise TimeoutError(f"Redis silent for {now - heard_at:.1f} s")
                    else:
                        await asyncio.wait_for(pubsub.ping(), self._timeout)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Nothing is served while unsubscribed (usable is False), and the next subscribe
                # resets: no entry from before the outage is trusted again.
                if self._subscribed:
                    log.warning("cache changes from other processes unheard: %s", exc)
                self._subscribed = False
            finally:
                self._subscribed = False
                try:
                    await asyncio.wait_for(pubsub.aclose(), self._timeout)
                except Exception as exc:  # the connection is already gone; nothing to undo
                    log.debug("closing the cache pub/sub: %s", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECS)

    async def _confirmed(self, pubsub: Any) -> None:
        """Wait for Redis to confirm the subscription: only then are its changes heard."""
        deadline = asyncio.get_running_loop().time() + self._timeout * 2
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError("no subscribe confirmation from Redis")
            message = await pubsub.get_message(timeout=left)
            if message is not None and message["type"] == "subscribe":
                return
            if message is not None and message["type"] == "message":
                self._heard(message["data"])

    def _heard(self, data: bytes | str) -> None:
        try:
            message = json.loads(data)
            if message.get("from") == self._origin:
                return
            if message.get("reset"):
                self.reset()
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


class NoCaches(LocalChanges):
    """Caches switched off (TORNAGRAM_CACHES=0): every store answers nothing."""

    @property
    def usable(self) -> bool:
        return False


def make_changes(redis_url: str | None, *, enabled: bool = True) -> Changes:
    """With Redis, changes are announced to the other processes whether or not this one caches
    (``enabled``): a writer with its caches off must not leave the others' stale."""
    if redis_url:
        return RedisChanges(redis_url, serve=enabled)
    return LocalChanges() if enabled else NoCaches()
