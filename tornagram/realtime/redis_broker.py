"""Redis broker: live events across processes and hosts.

Storage and fan-out, per channel:

* ``<prefix>stream:<channel>``: a Redis stream that is the replay window
  (``XADD MAXLEN ~ 500``: approximate trimming keeps at least 500 entries;
  the key expires after the replay age plus a margin once the channel goes
  quiet). The stream id is the event id.
* ``<prefix>ch:<channel>``: the pub/sub subject carrying ``"<id> <type> <data json>"``.

On a Redis Cluster (``redis+cluster://`` URLs, tornagram/redis_client.py) the channel is a hash
tag in both names (``tg:stream:{post:42}``, ``tg:ch:{post:42}``), so they share a slot and the
publish script runs on the one master that owns them, and the subject is sharded pub/sub
(SPUBLISH/SSUBSCRIBE): channels spread over the masters instead of every node carrying all.

Per-channel subjects rather than one ``tg:events`` subject: Redis then sends a
process only the channels its viewers watch, instead of every process decoding
every comment on the site. The hub reference-counts viewers so each process
subscribes once per channel.

Publishing is one Lua script (XADD, PEXPIRE, PUBLISH), so every process sees a
channel's events in id order, whoever published them. While Redis is down,
``publish`` raises ``BrokerUnavailable`` within about a second rather than
holding up the request. The reader task reconnects with backoff of at most
one second, subscribes to every watched channel again and, from each
channel's last delivered id, replays what was published meanwhile, so viewers
miss nothing the window still holds. Events published *while* Redis was away
never reached a stream (their publish failed), so after an outage each
watched channel first gets a ``replay.incomplete`` marker: every socket that
stayed open reloads what its page shows instead of silently missing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from tornagram import redis_client

from .broker import (
    REPLAY_MAX_AGE_SECS,
    REPLAY_MAX_EVENTS,
    BrokerUnavailable,
    Listener,
    ReplayResult,
)
from .broker import replay_is_complete as _complete
from .channels import parse_channel
from .events import (
    REPLAY_INCOMPLETE,
    Event,
    EventIdKey,
    check_event_type,
    encode_data,
    event_id_key,
)

log = logging.getLogger(__name__)

# Short timeouts: a page that publishes must not hang because Redis is gone.
SOCKET_TIMEOUT_SECS = 1.0
RECONNECT_MIN_SECS = 0.05
RECONNECT_MAX_SECS = 1.0
# How long the reader waits for a message before pinging, to notice a dead link: a Redis that
# hangs is noticed after twice this without even a pong (as the cache change stream does).
IDLE_PING_SECS = 1.5
# The stream outlives the replay window a little so "no stream" reliably means
# "nothing published for longer than the window".
EXPIRE_MARGIN_SECS = 60

# PUBLISH_COMMAND is PUBLISH on one Redis, SPUBLISH (sharded) on a cluster.
_PUBLISH_LUA = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 't', ARGV[2], 'd', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH_COMMAND', KEYS[2], id .. ' ' .. ARGV[2] .. ' ' .. ARGV[3])
return id
"""

# Returns {now_ms, exists, dropped, first_id, entries}.
_REPLAY_LUA = """
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('EXISTS', KEYS[1]) == 0 then return {now_ms, 0} end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local added, length, first = 0, 0, ''
for i = 1, #info, 2 do
  if info[i] == 'entries-added' then added = info[i + 1]
  elseif info[i] == 'length' then length = info[i + 1]
  elseif info[i] == 'first-entry' and info[i + 1] then first = info[i + 1][1] end
end
return {now_ms, 1, added - length, first, redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+')}
"""


class RedisBroker:
    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "tg:",
        max_events: int = REPLAY_MAX_EVENTS,
        max_age_secs: float = REPLAY_MAX_AGE_SECS,
        socket_timeout_secs: float = SOCKET_TIMEOUT_SECS,
    ) -> None:
        self._url = url
        self._prefix = prefix
        self._max_events = max_events
        self._max_age_ms = int(max_age_secs * 1000)
        self._ttl_ms = int((max_age_secs + EXPIRE_MARGIN_SECS) * 1000)
        self._timeout = socket_timeout_secs
        self._redis: aioredis.Redis | redis_client.Cluster | None = None
        self._listeners: list[Listener] = []
        self._watched: set[str] = set()
        # Newest event id delivered per watched channel: where to resume after an outage.
        self._last_seen: dict[str, EventIdKey] = {}
        self._pubsub: Any = None
        self._sub_lock = asyncio.Lock()
        self._sub_waiters: dict[str, asyncio.Future[None]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._healthy = False
        self._connected = asyncio.Event()
        self._closed = False
        # Set once connected: every later connection follows an outage.
        self._ever_connected = False

    # -- lifecycle -----------------------------------------------------------

    @property
    def healthy(self) -> bool:
        return self._healthy

    async def start(self) -> None:
        """Connect; if Redis is down, keep trying in the background and return."""
        self._redis = redis_client.connect(
            self._url,
            decode_responses=True,
            socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout,
            retry=Retry(NoBackoff(), 0),
        )
        publish = "SPUBLISH" if redis_client.is_cluster(self._url) else "PUBLISH"
        self._publish_script = self._redis.register_script(
            _PUBLISH_LUA.replace("PUBLISH_COMMAND", publish)
        )
        self._replay_script = self._redis.register_script(_REPLAY_LUA)
        self._reader = asyncio.create_task(self._read_forever(), name="redis-broker-reader")
        try:
            await asyncio.wait_for(self._connected.wait(), self._timeout * 2)
        except TimeoutError:
            log.warning(
                "Redis at %s not reachable yet; live events wait for it",
                redis_client.safe_url(self._url),
            )

    async def close(self) -> None:
        self._closed = True
        if self._reader is not None:
            self._reader.cancel()
            # Bounded: a reader stuck in a half-closed socket must not hold up shutdown.
            done, _ = await asyncio.wait({self._reader}, timeout=self._timeout * 2)
            if not done:
                log.warning("Redis broker reader did not stop in time; leaving it")
            self._reader = None
        if self._redis is not None:
            try:
                await asyncio.wait_for(self._redis.aclose(), self._timeout * 2)
            except (TimeoutError, RedisError, OSError) as exc:
                log.warning("closing the Redis connection pool failed: %r", exc)
            self._redis = None
        self._healthy = False

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    # -- keys ----------------------------------------------------------------

    # On a cluster the channel is a hash tag, so its stream and subject share a slot (the
    # publish script touches both) and channels spread over the masters.

    def _stream_key(self, channel: str) -> str:
        return f"{self._prefix}stream:{self._tag(channel)}"

    def _subject(self, channel: str) -> str:
        return f"{self._prefix}ch:{self._tag(channel)}"

    def _tag(self, channel: str) -> str:
        return f"{{{channel}}}" if redis_client.is_cluster(self._url) else channel

    def _channel_of(self, subject: str) -> str:
        return subject[len(self._prefix) + 3 :].strip("{}")

    # -- publishing and replay ---------------------------------------------

    def _client(self) -> aioredis.Redis | redis_client.Cluster:
        if self._redis is None:
            raise BrokerUnavailable("Redis broker is not started")
        return self._redis

    async def publish(self, channel: str, type: str, data: dict[str, Any]) -> Event:
        parse_channel(channel)
        check_event_type(type)
        data_json = encode_data(data)
        client = self._client()
        try:
            event_id = await self._publish_script(
                keys=[self._stream_key(channel), self._subject(channel)],
                args=[self._max_events, type, data_json, self._ttl_ms],
                client=client,
            )
        except (RedisError, OSError) as exc:
            raise BrokerUnavailable(f"cannot publish to {channel}: {exc}") from exc
        return Event(channel, type, json.loads(data_json), event_id)

    async def replay(self, channel: str, since: str) -> ReplayResult:
        parse_channel(channel)
        since_key = event_id_key(since)
        client = self._client()
        try:
            reply = await self._replay_script(
                keys=[self._stream_key(channel)], args=[since], client=client
            )
        except (RedisError, OSError) as exc:
            raise BrokerUnavailable(f"cannot replay {channel}: {exc}") from exc
        now_ms = int(reply[0])
        if not int(reply[1]):
            return ReplayResult([], _complete(since_key, None, False, now_ms, self._max_age_ms))
        dropped, first_id, entries = int(reply[2]), reply[3], reply[4]
        first = event_id_key(first_id) if first_id else None
        events = [self._entry_event(channel, entry) for entry in entries]
        complete = _complete(since_key, first, dropped > 0, now_ms, self._max_age_ms)
        return ReplayResult(events, complete)

    @staticmethod
    def _entry_event(channel: str, entry: list[Any]) -> Event:
        event_id, fields = entry
        if not isinstance(fields, dict):  # Lua replies are flat [k, v, ...] lists
            fields = dict(zip(fields[::2], fields[1::2], strict=True))
        return Event(channel, fields["t"], json.loads(fields["d"]), event_id)

    # -- watching --------------------------------------------------------------

    async def watch(self, channel: str) -> None:
        """Subscribe; returns once Redis confirmed, so later publishes reach us.

        While Redis is down the channel is only recorded: the reader subscribes
        it on reconnect and replays whatever was published in between.
        """
        parse_channel(channel)
        async with self._sub_lock:
            if channel in self._watched:
                return
            self._watched.add(channel)
            pubsub = self._pubsub
            if pubsub is None:
                return
            subject = self._subject(channel)
            waiter = asyncio.get_running_loop().create_future()
            self._sub_waiters[subject] = waiter
            try:
                # The tail first: events after it are delivered live or, after an
                # outage, replayed.
                self._last_seen[channel] = await self._tail(channel)
                await pubsub.subscribe(subject)
                await asyncio.wait_for(waiter, self._timeout * 2)
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("subscribing to %s failed (%s); reconnecting", channel, exc)
                self._restart_reader()
            finally:
                self._sub_waiters.pop(subject, None)

    async def unwatch(self, channel: str) -> None:
        async with self._sub_lock:
            if channel not in self._watched:
                return
            self._watched.discard(channel)
            self._last_seen.pop(channel, None)
            if self._pubsub is not None:
                try:
                    await self._pubsub.unsubscribe(self._subject(channel))
                except (RedisError, OSError) as exc:
                    log.info("unsubscribe from %s failed: %s", channel, exc)

    async def _tail(self, channel: str) -> EventIdKey:
        newest = await self._client().xrevrange(self._stream_key(channel), count=1)
        return event_id_key(newest[0][0]) if newest else (0, 0)

    def _restart_reader(self) -> None:
        if self._closed:
            return
        if self._reader is not None:
            self._reader.cancel()
        self._reader = asyncio.create_task(self._read_forever(), name="redis-broker-reader")

    # -- the reader ------------------------------------------------------------

    async def _read_forever(self) -> None:
        delay = RECONNECT_MIN_SECS
        while not self._closed:
            pubsub = self._client().pubsub()
            try:
                async with self._sub_lock:
                    await self._resubscribe(pubsub)
                    self._pubsub = pubsub
                if not self._healthy:
                    log.info("Redis broker connected to %s", redis_client.safe_url(self._url))
                self._healthy = True
                self._connected.set()
                delay = RECONNECT_MIN_SECS
                loop = asyncio.get_running_loop()
                heard_at = loop.time()
                while True:
                    message = await pubsub.get_message(timeout=IDLE_PING_SECS)
                    if message is not None:
                        heard_at = loop.time()
                        self._handle(message)
                    elif loop.time() - heard_at > 2 * IDLE_PING_SECS:
                        # Not even a pong: the host vanished without closing the socket.
                        raise TimeoutError("Redis stopped answering pings")
                    else:
                        await pubsub.ping()
            except (RedisError, OSError, TimeoutError) as exc:
                if self._healthy:
                    log.warning("Redis broker lost %s: %s", redis_client.safe_url(self._url), exc)
            except Exception:
                # A bug must not silence every channel of this process for good.
                log.exception("Redis broker reader failed; reconnecting")
            finally:
                self._pubsub = None
                self._healthy = False
                self._connected.clear()
                for waiter in self._sub_waiters.values():
                    if not waiter.done():
                        waiter.set_exception(TimeoutError("connection lost"))
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECS)

    async def _resubscribe(self, pubsub: Any) -> None:
        """Subscribe everything watched, then replay what the outage hid."""
        channels = list(self._watched)
        for channel in channels:
            if channel not in self._last_seen:
                self._last_seen[channel] = await self._tail(channel)
        subjects = {self._subject(c) for c in channels}
        # A subject of our own keeps the connection in subscribed mode even
        # when no channel is watched.
        control = f"{self._prefix}control"
        await pubsub.subscribe(control, *subjects)
        awaiting, held = {control, *subjects}, []
        while awaiting:
            message = await pubsub.get_message(timeout=self._timeout * 2)
            if message is None:
                raise TimeoutError("no subscribe confirmation from Redis")
            if message["type"] == "subscribe":
                awaiting.discard(message["channel"])
            elif message["type"] == "message":
                held.append(message)
        # Read everything first: a marker goes out only once, for a reconnection that worked.
        missed = {channel: await self._missed(channel) for channel in channels}
        after_outage = self._ever_connected
        self._ever_connected = True
        for channel in channels:
            if after_outage:
                self._mark_gap(channel)
            entries = missed[channel]
            if entries:
                log.info("replaying %d events on %s after reconnect", len(entries), channel)
            for entry in entries:
                self._dispatch(self._entry_event(channel, entry))
        for message in held:
            self._handle(message)

    async def _missed(self, channel: str) -> list[Any]:
        last = self._last_seen[channel]
        return await self._client().xrange(
            self._stream_key(channel), min=f"({last[0]}-{last[1]}", max="+"
        )

    def _mark_gap(self, channel: str) -> None:
        # Publishes that failed during the outage left no trace to replay: say so.
        last = self._last_seen.get(channel, (0, 0))
        marker = Event(channel, REPLAY_INCOMPLETE, {"since": f"{last[0]}-{last[1]}"})
        for listener in self._listeners:
            try:
                listener(marker)
            except Exception:
                log.exception("broker listener failed on %s", channel)

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "message":
            subject: str = message["channel"]
            channel = self._channel_of(subject)
            event_id, type_, data = message["data"].split(" ", 2)
            self._dispatch(Event(channel, type_, json.loads(data), event_id))
        elif kind == "subscribe":
            waiter = self._sub_waiters.get(message["channel"])
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    def _dispatch(self, event: Event) -> None:
        channel = event.channel
        if channel not in self._watched:
            return
        key = event_id_key(event.id)
        if key <= self._last_seen.get(channel, (-1, -1)):
            return  # already delivered before a reconnect
        self._last_seen[channel] = key
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                log.exception("broker listener failed on %s", channel)
