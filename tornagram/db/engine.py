"""URL → async engine, with the SQLite settings that make it a good embedded default."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from tornagram.cache import Changes
from tornagram.errors import database_busy

# Writers wait this long for the SQLite write lock instead of failing at once.
SQLITE_BUSY_TIMEOUT_MS = 5000
AFTER_COMMIT = "tornagram_after_commit"
CHANGED = "tornagram_changed"
# Execution option that asks for BEGIN IMMEDIATE (see Database.write).
_IMMEDIATE = "tornagram_begin_immediate"
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
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


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


def after_commit(session: AsyncSession, callback) -> None:
    """Run ``await callback()`` after the transaction of ``session`` commits (and not if it
    rolls back). Only for sessions from ``Database.write``."""
    session.info.setdefault(AFTER_COMMIT, []).append(callback)


def changed(session: AsyncSession, *topics: str) -> None:
    """Say that this transaction changes ``topics`` (see tornagram/cache.py): once it commits,
    cached answers built from them are stale in every process. Only for ``Database.write``."""
    session.info.setdefault(CHANGED, set()).update(topics)


class Database:
    """Sessions for reading and for writing. Services use ``read()`` and ``write()`` only."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        self.is_sqlite = url.startswith("sqlite")
        # Where committed changes are announced; the app swaps in RedisChanges when processes
        # share Redis (context.build_context).
        self.changes: Changes = Changes()
        self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        write_engine = (
            self.engine.execution_options(**{_IMMEDIATE: True}) if self.is_sqlite else self.engine
        )
        self._write_sessions = async_sessionmaker(write_engine, expire_on_commit=False)
        self._write_turn = _WriteTurns() if self.is_sqlite else None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back if it raises.

        Callbacks registered with ``after_commit`` run once the commit has succeeded (live
        events must never announce a row that was rolled back).
        """
        async with self._write_sessions() as session:
            async with self._turn(), session.begin():
                yield session
            # Caches first: an after-commit callback that reads (the live toast's unread count)
            # must not be answered from a cache this commit has just made stale.
            topics = session.info.pop(CHANGED, None)
            if topics:
                await self.changes.changed(topics)
            for callback in session.info.pop(AFTER_COMMIT, []):
                try:
                    await callback()
                except Exception:
                    log.exception("after-commit callback failed")

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
        await self.engine.dispose()


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
