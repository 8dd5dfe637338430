"""Ids are 64-bit and time-ordered; the migrations build exactly the schema the models declare."""

from __future__ import annotations

import asyncio
import time

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tornagram.db.engine import create_engine
from tornagram.db.ids import MAX_WORKER_ID, IdGenerator, id_time_ms, lowest_id_at
from tornagram.db.migrate import head_revision
from tornagram.db.models import metadata
from tornagram.db.unmanaged import include_name


def test_ids_are_unique_increasing_and_fit_64_bits():
    gen = IdGenerator(worker_id=7)
    ids = [gen.next_id() for _ in range(20000)]  # more than 4096 per millisecond
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(0 < i < 2**63 for i in ids)


def test_ids_carry_their_time():
    now_ms = int(time.time() * 1000)
    i = IdGenerator(worker_id=MAX_WORKER_ID).next_id()
    assert abs(id_time_ms(i) - now_ms) < 1000
    assert lowest_id_at(now_ms - 1000) < i


def test_two_workers_never_collide():
    a, b = IdGenerator(1), IdGenerator(2)
    assert not {a.next_id() for _ in range(5000)} & {b.next_id() for _ in range(5000)}


async def test_migrated_schema_matches_models(database_url):
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:

            def diff(sync_conn):
                # Search objects the models cannot describe are made by hand (db/unmanaged.py).
                opts = {"compare_type": True, "include_name": include_name}
                mc = MigrationContext.configure(sync_conn, opts=opts)
                return mc.get_current_revision(), compare_metadata(mc, metadata)

            revision, differences = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert revision == head_revision()
    assert differences == [], "models changed without a migration: " + repr(differences)


async def test_sqlite_pragmas(tmp_path):
    from tornagram.config import default_database_url
    from tornagram.db import migrate

    url = default_database_url(tmp_path)
    await asyncio.to_thread(migrate.upgrade, url)
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() >= 1000
    finally:
        await engine.dispose()
