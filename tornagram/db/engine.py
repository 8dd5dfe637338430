"""URL → async engine, with the SQLite settings that make it a good embedded default."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session

from tornagram.cache import Changes, LocalChanges
from tornagram.db import topics as row_topics
from tornagram.db.sync_reads import SqliteReads
from tornagram.errors import database_busy

# Writers wait this long for the SQLite write lock instead of failing at once.
SQLITE_BUSY_TIMEOUT_MS = 5000
AFTER_COMMIT = "tornagram_after_commit"
CHANGED = row_topics.CHANGED
# A write answers at most this long after its commit for its after-commit work (live events);
# the rest carries on in the background, so a hung Redis never holds a request.
AFTER_COMMIT_WAIT_SECS = 0.1
# Closing waits this long for after-commit work still running.
AFTER_COMMIT_DRAIN_SECS = 3.0
# Execution option that asks for BEGIN IMMEDIATE (see Database.write).
_IMMEDIATE = "tornagram_begin_immediate"
# Connection info flag: this connection holds MySQL named locks (see _configure_mysql).
NAMED_LOCKS = "tornagram_named_locks"
# SQLite has one writer at a time. Rather than every write taking a pooled connection and
# contending for the lock at BEGIN IMMEDIATE (the losers fail after the busy timeout), writes in
# this process take turns, first come first served. A write that has waited this long, or that
# finds this many ahead of it, is refused with 503 and Retry-After rather than queued forever.
SQLITE_WRITE_WAIT_SECS = 10
SQLITE_MAX_QUEUED_WRITES = 500


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, pool_size=8, max_overflow=8)
        _configure_sqlite(engine)
        return engine
    if url.startswith("mysql"):
        engine = create_async_engine(
            mysql_url(url),
            echo=echo,
            pool_size=10,
            max_overflow=10,
            pool_pre_ping=True,
            # The server closes idle connections (wait_timeout); never hand one out that old.
            pool_recycle=3600,
            # As on PostgreSQL: each statement sees what committed before it, so a write that
            # reads a row another request just changed never works from an older snapshot.
            isolation_level="READ COMMITTED",
        )
        _configure_mysql(engine)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


def mysql_url(url: str) -> str:
    """``url`` with ``charset=utf8mb4`` unless it names a charset: MySQL's ``utf8`` is three
    bytes a character and cannot hold emoji."""
    if "charset=" in url:
        return url
    return url + ("&" if "?" in url else "?") + "charset=utf8mb4"


def _configure_mysql(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine.pool, "checkin")
    def _on_checkin(dbapi_connection, record) -> None:
        # Named locks (GET_LOCK, photos/media_refs.py) belong to the connection, not to the
        # transaction: they end here, once the transaction has ended, never in the next user's.
        if dbapi_connection is None or not record.info.pop(NAMED_LOCKS, False):
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("DO RELEASE_ALL_LOCKS()")
            cursor.close()
        except Exception:
            log.exception("could not release named locks; closing the connection")
            record.invalidate()


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets readers carry on while one writer commits.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn) -> None:
        # A deferred transaction that reads and then writes can fail with SQLITE_BUSY without
        # waiting when another writer got in first; BEGIN IMMEDIATE takes the write lock up front
        # (honouring busy_timeout), so write transactions queue instead of failing.
        if conn.get_execution_options().get(_IMMEDIATE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


log = logging.getLogger(__name__)
T = TypeVar("T")


def after_commit(session: AsyncSession, callback) -> None:
    """Run ``await callback()`` after the transaction of ``session`` commits (and not if it
    rolls back). Only for sessions from ``Database.write``."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


def changed(session: AsyncSession, *topics: str) -> None:
    """Say that this transaction changes ``topics`` (see tornagram/cache/): once it commits,
    cached answers built from them are stale in every process. Only for ``Database.write``, and
    only for what the rows written cannot name (db/topics.py derives the rest)."""
    session.info.setdefault(CHANGED, set()).update(topics)


class SharedReads:
    """One read session for every ``Database.read()`` of a request (see ``share_reads``).

    A page used to open a read session per service call: the session, the badge, the post,
    the viewer's marks, the comments, each a pooled connection taken and given back, a
    ``BEGIN`` and a ``ROLLBACK``, and on SQLite each of those a hop to the driver's thread.
    One session for the whole request pays for that once, and reads one snapshot.

    The session is opened on the first read and closed by ``close()``; what each read loads is
    detached from it when that read ends, exactly as if its own session had closed. A read
    nested inside another (or running beside it in a child task) gets a session of its own,
    since one session must not run two statements at once; so does every read after the
    request first writes, which must see its own commit rather than the snapshot before it.

    The caches take their change stamp just before they read, and an entry must hold nothing
    older than its stamp. So the session's snapshot is reused only while nothing has changed
    since it began (``stamp``); otherwise its transaction ends and the read starts a new one.
    """

    __slots__ = ("_db", "busy", "session", "stamp")

    def __init__(self, db: Database) -> None:
        self._db = db
        self.session: AsyncSession | None = None
        self.busy = False
        self.stamp = -1

    async def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            await session.close()


_SHARED_READS: ContextVar[SharedReads | None] = ContextVar("tornagram_shared_reads", default=None)


class WriteSession(Session):
    """The sessions of ``Database.write``: every row they write names its cache topics."""


row_topics.install(WriteSession)


class Database:
    """Sessions for reading and for writing. Services use ``read()`` and ``write()`` only."""

    def __init__(self, url: str, *, changes: Changes | None = None, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        self.is_sqlite = url.startswith("sqlite")
        # "sqlite", "postgresql" or "mysql" (MariaDB included): for the few queries that differ.
        self.dialect = self.engine.dialect.name
        # Where committed changes are announced (RedisChanges when processes share Redis); the
        # caches built on this database read the same object, so it is fixed here, for good.
        self.changes: Changes = changes if changes is not None else LocalChanges()
        self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        write_engine = (
            self.engine.execution_options(**{_IMMEDIATE: True}) if self.is_sqlite else self.engine
        )
        self._write_sessions = async_sessionmaker(
            write_engine, expire_on_commit=False, sync_session_class=WriteSession
        )
        self._after_commit_tasks: set[asyncio.Future[None]] = set()
        self._write_turn = _WriteTurns() if self.is_sqlite else None
        self._sqlite_reads = SqliteReads(url, echo=echo) if self.is_sqlite else None

    def share_reads(self) -> SharedReads:
        """From here on in this task (a request), reads share one session until it writes.
        The caller closes the returned ``SharedReads`` when the request ends."""
        shared = SharedReads(self)
        _SHARED_READS.set(shared)
        return shared

    async def run_read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(session, *args, **kwargs)`` as one read, ``session`` a sync ``Session``: on
        SQLite in a worker thread (one hop for the whole read, see db/sync_reads.py), on
        PostgreSQL on the request's shared read session. What it returns is detached, as
        after ``read()``."""
        if self._sqlite_reads is not None:
            return await self._sqlite_reads.run(fn, *args, **kwargs)
        async with self.read() as session:
            return await session.run_sync(fn, *args, **kwargs)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        shared = _SHARED_READS.get()
        if shared is None or shared.busy or shared._db is not self:
            async with self._read_sessions() as session:
                yield session
            return
        stamp = self.changes.stamp()
        if shared.session is None:
            shared.session = self._read_sessions()
        elif shared.stamp != stamp:
            # Something committed since this snapshot began: read a newer one.
            await shared.session.rollback()
        shared.stamp = stamp
        shared.busy = True
        try:
            yield shared.session
        except BaseException:
            # The transaction may be unusable (PostgreSQL refuses everything after an error):
            # the next read starts a new session.
            await shared.close()
            raise
        else:
            # What this read loaded leaves the session, as it would with a session of its own:
            # callers keep and cache those objects, and a later rollback must not expire them.
            shared.session.expunge_all()
        finally:
            shared.busy = False

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises.

        Callbacks registered with ``after_commit`` run once the commit has succeeded (live
        events must never announce a row that was rolled back).
        """
        # Reads after a write see it: they leave the request's shared snapshot behind. Its
        # connection goes back to the pool first, so a request never holds two: a pool full of
        # requests each waiting for a second connection would wait for good.
        shared = _SHARED_READS.get()
        if shared is not None:
            _SHARED_READS.set(None)
            if not shared.busy:
                await shared.close()
        async with self._write_sessions() as session:
            async with self._turn(), session.begin():
                yield session
            # Caches first: an after-commit callback that reads (the live toast's unread count)
            # must not be answered from a cache this commit has just made stale.
            topics = session.info.pop(CHANGED, None)
            if topics:
                await self.changes.changed(topics)
            callbacks = session.info.pop(AFTER_COMMIT, None)
            if callbacks:
                await self._after_commit(callbacks)

    async def _after_commit(self, callbacks: list) -> None:
        # In order, in a task of their own: the request waits for them only briefly (a healthy
        # broker takes an event in about a millisecond), never for a broker that hangs.
        task = asyncio.ensure_future(_run_in_order(callbacks))
        self._after_commit_tasks.add(task)
        task.add_done_callback(self._after_commit_tasks.discard)
        try:
            await asyncio.wait_for(asyncio.shield(task), AFTER_COMMIT_WAIT_SECS)
        except TimeoutError:
            log.warning("after-commit work still running; answering without waiting for it")

    async def finish_after_commit(self) -> None:
        """Wait (a bounded time) for after-commit work still running: before closing the broker."""
        if self._after_commit_tasks:
            await asyncio.wait(set(self._after_commit_tasks), timeout=AFTER_COMMIT_DRAIN_SECS)

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        # Held for the transaction only: publishing and after-commit callbacks (which may
        # write again) run after the next writer has its turn.
        if self._write_turn is None:
            yield
            return
        async with self._write_turn:
            yield

    async def dispose(self) -> None:
        await self.finish_after_commit()
        if self._sqlite_reads is not None:
            await asyncio.to_thread(self._sqlite_reads.dispose)
        await self.engine.dispose()


async def _run_in_order(callbacks: list) -> None:
    for callback in callbacks:
        try:
            await callback()
        except Exception:
            log.exception("after-commit callback failed")


class _WriteTurns:
    """One writer at a time, in arrival order, with a bounded queue and a bounded wait."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()  # FIFO: waiters are woken in the order they came
        self.waiting = 0

    async def __aenter__(self) -> None:
        if self.waiting >= SQLITE_MAX_QUEUED_WRITES:
            raise database_busy()
        self.waiting += 1
        try:
            await asyncio.wait_for(self._lock.acquire(), SQLITE_WRITE_WAIT_SECS)
        except TimeoutError:
            raise database_busy() from None
        finally:
            self.waiting -= 1

    async def __aexit__(self, *exc_info) -> None:
        self._lock.release()
