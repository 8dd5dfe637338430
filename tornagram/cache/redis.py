"""Change stamps shared by every process through Redis pub/sub (see tornagram/cache)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterable
from typing import Any

from tornagram.cache.changes import Changes, LocalChanges, NoCaches

log = logging.getLogger(__name__)

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


def make_changes(redis_url: str | None, *, enabled: bool = True) -> Changes:
    """With Redis, changes are announced to the other processes whether or not this one caches
    (``enabled``): a writer with its caches off must not leave the others' stale."""
    if redis_url:
        return RedisChanges(redis_url, serve=enabled)
    return LocalChanges() if enabled else NoCaches()
