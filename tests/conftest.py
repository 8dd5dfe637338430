"""Fixtures: a migrated database per test (SQLite always, PostgreSQL and MariaDB when
reachable), a live Tornagram on a free port, and an HTTP client that keeps cookies and knows
about XSRF."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers import (
    LocalRedisCluster,
    Site,
    fixture_bytes,
    require,
    serving,
    shared_redis,
    site_settings,
    start_s3_server,
)
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


MARIADB_ADMIN_URL = os.environ.get("TORNAGRAM_TEST_MARIADB_ADMIN", "mysql://root@127.0.0.1:3306/test")
MARIADB_TEST_DB = f"tornagram_test_{os.getpid()}"


def _mariadb_args(database: str) -> dict:
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(MARIADB_ADMIN_URL)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": unquote(parts.username or "root"),
        "password": unquote(parts.password or ""),
        "db": database,
        "charset": "utf8mb4",
        "connect_timeout": 3,
    }


def mariadb_url() -> str:
    args = _mariadb_args(MARIADB_TEST_DB)
    auth = args["user"] + (f":{args['password']}" if args["password"] else "")
    return f"mysql+asyncmy://{auth}@{args['host']}:{args['port']}/{MARIADB_TEST_DB}"


async def _mariadb_admin(*statements: str) -> str | None:
    import asyncmy

    try:
        conn = await asyncmy.connect(**_mariadb_args(MARIADB_ADMIN_URL.rsplit("/", 1)[1]))
    except (OSError, asyncmy.errors.Error, TimeoutError) as exc:
        return f"{MARIADB_ADMIN_URL}: {exc}"
    try:
        async with conn.cursor() as cursor:
            for statement in statements:
                await cursor.execute(statement)
    finally:
        conn.close()
    return None


@pytest.fixture(scope="session")
def mariadb_database():
    problem = asyncio.run(
        _mariadb_admin(
            f"DROP DATABASE IF EXISTS `{MARIADB_TEST_DB}`",
            f"CREATE DATABASE `{MARIADB_TEST_DB}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
        )
    )
    require(problem is None, "MariaDB (or MySQL)", problem or "")
    migrate.upgrade(mariadb_url())
    yield mariadb_url()
    asyncio.run(_mariadb_admin(f"DROP DATABASE IF EXISTS `{MARIADB_TEST_DB}`"))


async def _mariadb_truncate() -> None:
    import asyncmy

    conn = await asyncmy.connect(**_mariadb_args(MARIADB_TEST_DB))
    try:
        async with conn.cursor() as cursor:
            # DELETE, not TRUNCATE: TRUNCATE recreates each table (slow for ~40 tables, and
            # refused on a table that foreign keys point at).
            await cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            for table in metadata.sorted_tables:
                await cursor.execute(f"DELETE FROM `{table.name}`")
            await cursor.execute("SET FOREIGN_KEY_CHECKS = 1")
        await conn.commit()
    finally:
        conn.close()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database_url(request, tmp_path) -> str:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), data_dir / "tornagram.db")
        return default_database_url(data_dir)
    if request.param == "mariadb":
        url = request.getfixturevalue("mariadb_database")
        asyncio.run(_mariadb_truncate())
        return url
    url = request.getfixturevalue("pg_database")
    asyncio.run(_pg_truncate())
    return url


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return site_settings(tmp_path, database_url)


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
    async with contextlib.AsyncExitStack() as stack:

        async def start(settings: Settings) -> Site:
            return await stack.enter_async_context(serving(settings))

        yield start


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


# -- a Redis Cluster ----------------------------------------------------------------------------

REDIS_CLUSTER_URL = os.environ.get("TORNAGRAM_TEST_REDIS_CLUSTER_URL", "")


def _cluster_answers(url: str) -> str | None:
    """None when every node of ``url`` says cluster_state:ok, else why not."""
    import redis

    from tornagram.redis_client import cluster_nodes

    for host, port in cluster_nodes(url)[0]:
        try:
            client = redis.Redis(host=host, port=port, socket_timeout=2, socket_connect_timeout=2)
            state = client.cluster("info").get("cluster_state")
            client.close()
        except (redis.RedisError, OSError) as exc:
            return f"{host}:{port}: {exc}"
        if state != "ok":
            return f"{host}:{port}: cluster_state is {state}"
    return None


def _redis_server_version() -> tuple[int, ...] | None:
    import re
    import subprocess

    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        return None
    out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    match = re.search(r"v=(\d+)\.(\d+)", out)
    return tuple(int(n) for n in match.groups()) if match else None


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory):
    """A three-master Redis Cluster: the one .ci/run started (TORNAGRAM_TEST_REDIS_CLUSTER_URL),
    else one started here on free ports, and stopped when the session ends."""
    if REDIS_CLUSTER_URL:
        problem = _cluster_answers(REDIS_CLUSTER_URL)
        require(problem is None, f"Redis Cluster at {REDIS_CLUSTER_URL}", problem or "")
        yield REDIS_CLUSTER_URL
        return
    version = _redis_server_version()
    require(version is not None, "redis-server and redis-cli", "not on PATH")
    require(version >= (7, 0), "Redis 7 (sharded pub/sub)", f"redis-server is {version}")
    cluster = LocalRedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        problem = cluster.start()
        require(problem is None, "a local Redis Cluster", problem or "")
        yield cluster.url
    finally:
        cluster.stop()
