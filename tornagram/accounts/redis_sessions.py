"""Sessions in Redis or a Redis Cluster (``--session-store redis``, on ``--redis-url``).

Two kinds of key, each hashed to its own slot, so sessions spread over a cluster's masters by
the cluster's own slot hashing:

* ``tg:session:<token hash>``: a hash holding one session's fields, expiring with it.
* ``tg:sessions:{u<user id>}``: a hash of the user's session ids to their token hashes, the
  index that revoking one, or all, of someone's sessions reads.

A session is written index first, record second, and ended record first: a record the index
does not name cannot exist, so "end every session of this user" misses none.

**Acknowledged means replicated.** A write is acknowledged (the sign-in answered, the
revocation confirmed) only once a replica of the master that took it has it too: every write
is followed by ``WAIT 1 <timeout>`` on the same connection, and a WAIT that no replica answered
in time is an error (503, try again), not a success. A failover promotes a replica, and Redis
promotes one that has what it acknowledged to WAIT, so a session that was handed out survives
it, and a revoked one stays revoked. A master with no replica (a single Redis, a test cluster)
skips the WAIT: the guarantee is then that master's own (``appendonly yes``,
``appendfsync always`` for the same promise on one machine).

WAIT counts the writes of the connection it is sent on, so writes go through a connection of
their own per master (``_NodeLink``), one at a time; reads use the shared client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import (
    AskError,
    BusyLoadingError,
    ClusterDownError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TryAgainError,
)

from tornagram.accounts.models import User
from tornagram.accounts.sessions import Ended, SessionRecord
from tornagram.db.engine import Database
from tornagram.errors import ServiceUnavailable

log = logging.getLogger(__name__)

SOCKET_TIMEOUT_SECS = 2.0
# How long a write waits for a replica to confirm it before it counts as not done.
REPLICA_WAIT_MS = 1000
# A write that meets a failover (connection refused, MOVED, no replica yet) tries again this
# long, re-reading the cluster's slots each time, before the person is asked to retry.
RETRY_FOR_SECS = 6.0
RETRY_PAUSE_SECS = 0.25
UNAVAILABLE_MESSAGE = (
    "Signing in and out is not possible right now. Nothing was changed: please try again in a "
    "few seconds."
)
# What a master says while its slots move or it is being replaced: try again, elsewhere.
FAILING_OVER = (AskError, BusyLoadingError, ClusterDownError, ReadOnlyError, TryAgainError)
SEEN_FIELD = "seen"  # in the index: when any of the user's sessions was last seen (epoch ms)
FIELDS = ("id", "user_id", "created", "seen", "expires", "ua", "ip", "tfa")

# Only a session that still exists is touched: a touch racing a revocation must not bring
# back a record with nothing in it but a time.
TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'seen', ARGV[1])
  return 1
end
return 0
"""


def record_key(token_hash: str) -> str:
    return f"tg:session:{token_hash}"


def index_key(user_id: int) -> str:
    return f"tg:sessions:{{u{user_id}}}"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _at(ms: bytes | str | int) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, UTC)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _record(token_hash: str, fields: dict) -> SessionRecord | None:
    data = {_text(k): _text(v) for k, v in fields.items()}
    if not all(name in data for name in ("id", "user_id", "expires")):
        return None
    return SessionRecord(
        id=int(data["id"]),
        token_hash=token_hash,
        user_id=int(data["user_id"]),
        created_at=_at(data.get("created", data["expires"])),
        last_seen_at=_at(data.get("seen", data.get("created", data["expires"]))),
        expires_at=_at(data["expires"]),
        user_agent=data.get("ua", ""),
        ip=data.get("ip", ""),
        two_factor=data.get("tfa") == "1",
    )


class _NodeLink:
    """One connection to one master, for writes followed by WAIT."""

    def __init__(self, client) -> None:
        self.client = client
        self.lock = asyncio.Lock()
        self.replicas: int | None = None  # connected replicas, read when the link opens

    async def run(self, commands: list[tuple]) -> list:
        async with self.lock:
            if self.replicas is None:
                info = await self.client.info("replication")
                self.replicas = int(info.get("connected_slaves", 0))
            results = [await self.client.execute_command(*command) for command in commands]
            if self.replicas:
                acked = await self.client.execute_command("WAIT", 1, REPLICA_WAIT_MS)
                if int(acked) < 1:
                    self.replicas = None  # read again: the replica may be gone for good
                    raise _NotReplicated()
            return results

    async def close(self) -> None:
        await self.client.aclose()


class _NotReplicated(Exception):
    pass


class RedisSessions:
    def __init__(self, db: Database, url: str, *, retry_for_secs: float = RETRY_FOR_SECS) -> None:
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        from tornagram.redis_client import connect, is_cluster

        self.db = db
        self._url = url
        self._cluster = is_cluster(url)
        self._retry_for = retry_for_secs
        self._kwargs = {
            "socket_connect_timeout": SOCKET_TIMEOUT_SECS,
            "socket_timeout": SOCKET_TIMEOUT_SECS,
            "retry": Retry(NoBackoff(), 0),
        }
        self.redis = connect(url, **self._kwargs)
        self._links: dict[tuple[str, int] | None, _NodeLink] = {}
        self._scripts: dict[str, Any] = {}

    # -- writing ------------------------------------------------------------------------------

    async def _link_for(self, key: str) -> tuple[tuple[str, int] | None, _NodeLink]:
        import redis.asyncio as aioredis

        if not self._cluster:
            where = None
            if where not in self._links:
                self._links[where] = _NodeLink(
                    aioredis.from_url(self._url, single_connection_client=True, **self._kwargs)
                )
            return where, self._links[where]
        await self.redis.initialize()
        node = self.redis.get_node_from_key(key)
        where = (node.host, node.port)
        if where not in self._links:
            self._links[where] = _NodeLink(
                aioredis.Redis(
                    host=node.host,
                    port=node.port,
                    single_connection_client=True,
                    **self.redis.node_kwargs,
                )
            )
        return where, self._links[where]

    async def _write(self, key: str, commands: list[tuple]) -> list:
        """Run ``commands`` (all on ``key``'s slot) on its master and wait for a replica."""
        deadline = asyncio.get_running_loop().time() + self._retry_for
        while True:
            where = None
            try:
                where, link = await self._link_for(key)
                return await link.run(commands)
            except (RedisError, OSError, _NotReplicated) as exc:
                if isinstance(exc, ResponseError) and not isinstance(exc, FAILING_OVER):
                    raise
                stale = self._links.pop(where, None)
                if stale is not None:
                    await _quietly(stale.close())
                if self._cluster:
                    # Where the slots are now: after a failover, the promoted replica.
                    await _quietly(self.redis.nodes_manager.initialize())
                if asyncio.get_running_loop().time() >= deadline:
                    log.warning("session write not done: %s", exc)
                    raise ServiceUnavailable(UNAVAILABLE_MESSAGE, 5) from exc
                await asyncio.sleep(RETRY_PAUSE_SECS)

    async def add(self, tx, record: SessionRecord) -> None:
        index = index_key(record.user_id)
        expires = _ms(record.expires_at)
        await self._write(
            index,
            [
                ("HSET", index, str(record.id), record.token_hash),
                ("PEXPIREAT", index, expires, "GT"),
                ("PEXPIREAT", index, expires, "NX"),
            ],
        )
        key = record_key(record.token_hash)
        await self._write(
            key,
            [
                (
                    "HSET", key,
                    "id", record.id,
                    "user_id", record.user_id,
                    "created", _ms(record.created_at),
                    "seen", _ms(record.last_seen_at),
                    "expires", expires,
                    "ua", record.user_agent,
                    "ip", record.ip,
                    "tfa", int(record.two_factor),
                ),
                ("PEXPIREAT", key, expires),
            ],
        )

    async def end(
        self,
        tx,
        *,
        user_id: int | None = None,
        session_id: int | None = None,
        token_hash: str | None = None,
        keep_session_id: int | None = None,
    ) -> list[Ended]:
        if token_hash is not None:
            found = await self._read(self.redis.hmget(record_key(token_hash), "id", "user_id"))
            if found[0] is None:
                return []
            sid, uid = int(found[0]), int(found[1])
            if (user_id is not None and uid != user_id) or (
                session_id is not None and sid != session_id
            ):
                return []
            pairs = [(sid, token_hash)]
            user_id = uid
        elif user_id is not None:
            index = await self._read(self.redis.hgetall(index_key(user_id)))
            pairs = [
                (int(_text(k)), _text(v)) for k, v in index.items() if _text(k) != SEEN_FIELD
            ]
            if session_id is not None:
                pairs = [p for p in pairs if p[0] == session_id]
        else:
            raise ValueError("ending sessions needs a user or a token")
        if keep_session_id is not None:
            pairs = [p for p in pairs if p[0] != keep_session_id]
        ended = []
        for sid, digest in pairs:
            gone = await self._write(record_key(digest), [("DEL", record_key(digest))])
            await self._write(index_key(user_id), [("HDEL", index_key(user_id), str(sid))])
            if gone[0]:
                ended.append(Ended(sid, user_id))
        return ended

    async def touch(self, session, now: datetime) -> None:
        # Not waited for: a last-seen time lost in a failover is only a little older.
        script = self._scripts.get("touch")
        if script is None:
            script = self._scripts["touch"] = self.redis.register_script(TOUCH)
        try:
            await script(keys=[record_key(session.token_hash)], args=[_ms(now)])
            await self.redis.hset(index_key(session.user_id), SEEN_FIELD, _ms(now))
        except (RedisError, OSError) as exc:
            log.warning("session last-seen time not updated: %s", exc)

    async def mark_two_factor(self, tx, user_id: int, session_id: int) -> None:
        digest = await self._read(self.redis.hget(index_key(user_id), str(session_id)))
        if digest is not None:
            key = record_key(_text(digest))
            await self._write(key, [("EVAL", TOUCH.replace("'seen'", "'tfa'"), 1, key, 1)])

    # -- reading ------------------------------------------------------------------------------

    async def _read(self, pending):
        try:
            return await pending
        except (RedisError, OSError) as exc:
            log.warning("session store unreachable: %s", exc)
            raise ServiceUnavailable(UNAVAILABLE_MESSAGE, 5) from exc

    async def find(self, token_hash: str, now: datetime):
        fields = await self._read(self.redis.hgetall(record_key(token_hash)))
        record = _record(token_hash, fields) if fields else None
        if record is None or record.expires_at <= now:
            return None
        async with self.db.read() as session:
            user = await session.get(User, record.user_id)
        return None if user is None else (record, user)

    async def of_user(self, user_id: int, now: datetime) -> list:
        index = await self._read(self.redis.hgetall(index_key(user_id)))
        records = []
        for k, v in index.items():
            if _text(k) == SEEN_FIELD:
                continue
            fields = await self._read(self.redis.hgetall(record_key(_text(v))))
            record = _record(_text(v), fields) if fields else None
            if record is not None and record.expires_at > now:
                records.append(record)
        records.sort(key=lambda r: r.last_seen_at, reverse=True)
        return records

    async def last_seen(self, user_ids: list[int]) -> dict[int, datetime]:
        seen = {}
        for uid in user_ids:
            value = await self._read(self.redis.hget(index_key(uid), SEEN_FIELD))
            if value is not None:
                seen[uid] = _at(_text(value))
        return seen

    async def close(self) -> None:
        for link in self._links.values():
            await _quietly(link.close())
        self._links.clear()
        await _quietly(self.redis.aclose())


async def _quietly(pending) -> None:
    with contextlib.suppress(RedisError, OSError, RuntimeError):
        await pending
