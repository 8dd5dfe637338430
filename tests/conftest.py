"""Fixtures: a migrated database per test (SQLite always, PostgreSQL when reachable), a live
Tornagram on a free port, and an HTTP client that keeps cookies and knows about XSRF."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers import Site, fixture_bytes, require, serving, shared_redis, site_settings
from tornagram.config import Settings, default_database_url
from tornagram.db import migrate
from tornagram.db.models import metadata

PG_ADMIN_DSN = os.environ.get(
    "TORNAGRAM_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test"
)
# One database per test run, so concurrent runs on one machine never truncate each other's rows.
PG_TEST_DB = f"tornagram_test_{os.getpid()}"


# -- databases ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """Migrate once; every test gets a copy of the file."""
    data_dir = tmp_path_factory.mktemp("sqlite-template")
    migrate.upgrade(default_database_url(data_dir))
    return data_dir / "tornagram.db"


async def _pg_prepare() -> str | None:
    import asyncpg

    try:
        admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{PG_ADMIN_DSN}: {exc}"
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", PG_TEST_DB)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{PG_TEST_DB}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(_pg_dsn())
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    return None


def _pg_dsn() -> str:
    return PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + PG_TEST_DB


def pg_url() -> str:
    return _pg_dsn().replace("postgresql://", "postgresql+asyncpg://", 1)


async def _pg_drop() -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{PG_TEST_DB}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def pg_database():
    problem = asyncio.run(_pg_prepare())
    require(problem is None, "PostgreSQL", problem or "")
    migrate.upgrade(pg_url())
    yield pg_url()
    asyncio.run(_pg_drop())


async def _pg_truncate() -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_dsn())
    try:
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        await conn.execute(f"TRUNCATE {tables} CASCADE")
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), data_dir / "tornagram.db")
        return default_database_url(data_dir)
    url = request.getfixturevalue("pg_database")
    asyncio.run(_pg_truncate())
    return url


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return site_settings(tmp_path, database_url)


# -- a live site ---------------------------------------------------------------------------------


@pytest.fixture
async def site(settings) -> AsyncIterator[Site]:
    async with serving(settings) as result:
        yield result


@pytest.fixture
def image_bytes():
    """``image_bytes("tiny.png")``: one of the shared image files."""
    return fixture_bytes


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The machine's Redis (tests keep apart by channel and key prefix)."""
    return shared_redis()
