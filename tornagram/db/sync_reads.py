"""Whole reads as one synchronous function: ``Database.run_read(fn, *args)``.

A page's reads written the async way cost, on SQLite, four hops to aiosqlite's thread per
statement (cursor, execute, fetch, close) plus a BEGIN and a ROLLBACK, and the session and
statement machinery around each ``await``. Written as a plain function of a sync ``Session``,
the same read is one hop: on SQLite the function runs in a small thread pool on a pysqlite
engine over the same file (WAL, a read-only connection, its busy timeout spent in that thread,
never on the event loop); on PostgreSQL it runs through ``AsyncSession.run_sync`` on the
request's shared read session, where asyncpg needs no thread at all.

What the function returns has left its session, exactly as after ``async with db.read()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.orm import sessionmaker

T = TypeVar("T")

# Readers never wait for the writer under WAL; the timeout only covers the rare moments a
# reader must (a checkpoint resetting the log), and is spent in a worker thread.
READ_BUSY_TIMEOUT_MS = 5000
# A second thread keeps one slow read from holding up the rest; more only contend for the GIL.
READ_THREADS = 2


class SqliteReads:
    """The thread pool and the sync engine that run whole reads on SQLite."""

    def __init__(self, async_url: str, *, threads: int = READ_THREADS, echo: bool = False) -> None:
        url = async_url.replace("sqlite+aiosqlite", "sqlite+pysqlite", 1)
        self.engine = create_engine(
            url,
            echo=echo,
            pool_size=threads,
            max_overflow=0,
            connect_args={"check_same_thread": False},
        )

        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={READ_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            # These connections only read: a slip that writes fails loudly instead of
            # bypassing the write queue and its change topics.
            cursor.execute("PRAGMA query_only=ON")
            cursor.close()

        @event.listens_for(self.engine, "begin")
        def _on_begin(conn) -> None:
            conn.exec_driver_sql("BEGIN")

        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="tornagram-read")

    def _run(self, fn: Callable[..., T], args: tuple, kwargs: dict) -> T:
        with self._sessions() as session:
            return fn(session, *args, **kwargs)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run, fn, args, kwargs)

    def dispose(self) -> None:
        self._pool.shutdown(wait=True)
        self.engine.dispose()

