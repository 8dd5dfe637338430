"""Fixtures: a migrated database per test (SQLite always, PostgreSQL when reachable), a live
Tornagram on a free port, and an HTTP client that keeps cookies and knows about XSRF."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import tornado.testing

from tests.helpers import Site, require, start_s3_server
from tornagram.config import FAST_TEST_HASH_PARAMS, Settings, build_settings, default_database_url
from tornagram.context import build_context
from tornagram.db import migrate
from tornagram.db.models import metadata
from tornagram.server import start_http_server

PG_ADMIN_DSN = os.environ.get(
    "TORNAGRAM_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test"
)
# One database per test run, so concurrent runs on one machine never truncate each other's rows.
PG_TEST_DB = f"tornagram_test_{os.getpid()}"
TEST_COOKIE_SECRET = "test-cookie-secret-" + "x" * 40


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
    return build_settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        cookie_secret=TEST_COOKIE_SECRET,
        password_hash=FAST_TEST_HASH_PARAMS,
        allow_loopback_fetch=True,
    )


# -- an S3 server ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server for the whole run; each test makes its own bucket."""
    server = start_s3_server()
    yield server
    server.stop()


@pytest.fixture
def own_s3_server():
    """A server of this test's own, which the test may stop (an outage mid-upload)."""
    server = start_s3_server()
    yield server
    server.stop()


# -- a live site ---------------------------------------------------------------------------------


@pytest.fixture
async def start_site():
    """start(settings) -> Site: more live sites in one test (two servers on one bucket, say),
    each stopped at the end."""
    started: list[tuple] = []

    async def start(settings: Settings) -> Site:
        ctx = build_context(settings)
        sock, port = tornado.testing.bind_unused_port()
        server = start_http_server(ctx, [sock])
        ctx.ready = True
        result = Site(ctx, f"http://127.0.0.1:{port}", [], server.request_callback)
        started.append((result, server))
        return result

    yield start
    for result, server in reversed(started):
        for client in result.clients:
            await client.aclose()
        server.stop()
        await server.close_all_connections()
        await result.ctx.close()


@pytest.fixture
async def site(settings) -> AsyncIterator[Site]:
    ctx = build_context(settings)
    sock, port = tornado.testing.bind_unused_port()
    server = start_http_server(ctx, [sock])
    ctx.ready = True
    result = Site(ctx, f"http://127.0.0.1:{port}", [], server.request_callback)
    try:
        yield result
    finally:
        for client in result.clients:
            await client.aclose()
        server.stop()
        await server.close_all_connections()
        await ctx.close()
