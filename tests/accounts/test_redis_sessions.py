"""``--session-store redis``: sessions on one Redis or a Redis Cluster, with the database
store's guarantees (ending one ends it at once on every process), and, on a cluster with
replicas, no acknowledged session lost, or revoked one brought back, by a failover."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
import uuid

import pytest
import tornado.web
from sqlalchemy import func, select

from tests.helpers import (
    DEFAULT_PASSWORD,
    TEST_COOKIE_SECRET,
    LocalRedisCluster,
    site_settings,
)
from tornagram.accounts.models import Session
from tornagram.accounts.redis_sessions import RedisSessions, index_key, record_key
from tornagram.accounts.service import token_hash
from tornagram.config import default_database_url
from tornagram.db.base import utcnow
from tornagram.redis_client import connect


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template):
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    shutil.copy(sqlite_template, data_dir / "tornagram.db")
    return default_database_url(data_dir)


@pytest.fixture(params=["redis", "cluster"])
def store_url(request):
    if request.param == "redis":
        return request.getfixturevalue("redis_url")
    return request.getfixturevalue("redis_cluster_url")


async def wait_until(predicate, timeout_secs: float, what: str) -> None:
    deadline = time.monotonic() + timeout_secs
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def token_of(client) -> str:
    cookie = client.session_cookie().strip('"')
    value = tornado.web.decode_signed_value(TEST_COOKIE_SECRET, "session", cookie, max_age_days=31)
    assert value is not None
    return value.decode()


def signed_out(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers["location"]


async def two_hosts(tmp_path, sqlite_url, url, start_site):
    """Two sites on one database and one Redis, both keeping sessions in Redis."""
    settings = site_settings(tmp_path, sqlite_url, redis_url=url, session_store="redis")
    one = await start_site(settings)
    other = await start_site(settings)
    for site in (one, other):
        await site.ctx.start()
    return one, other


async def test_sessions_live_in_redis_and_end_everywhere_at_once(
    tmp_path, sqlite_url, store_url, start_site
):
    one, other = await two_hosts(tmp_path, sqlite_url, store_url, start_site)
    name = f"r{uuid.uuid4().hex[:10]}"
    first = await one.user_client(name)
    second, third = other.client(), other.client()
    for client in (second, third):
        assert (await client.login(name)).status_code == 303
    # Each host has each session cached now.
    for client in (first, second, third):
        assert (await client.get("/settings/profile")).status_code == 200
    user = await one.ctx.accounts.by_username(name)
    async with one.ctx.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Session)) == 0
    redis = connect(store_url)
    try:
        assert await redis.exists(record_key(token_hash(token_of(first)))) == 1
        assert len(await redis.hgetall(index_key(user.id))) == 3
    finally:
        await redis.aclose()
    page = (await first.get("/settings/sessions")).text
    assert page.count('class="session-item"') == 3

    # Revoking a device on host one ends it on host two, whose cache had it.
    mine = (await one.ctx.accounts.signed_in(token_of(first))).session.id
    theirs = (await other.ctx.accounts.signed_in(token_of(second))).session.id
    assert (await first.post(f"/settings/sessions/{theirs}/revoke")).status_code == 303
    assert signed_out(await second.get("/settings/profile"))
    assert (await third.get("/settings/profile")).status_code == 200

    # Signing out on host two ends the session on host one.
    leaving = token_of(third)
    assert await one.ctx.accounts.signed_in(leaving) is not None  # cached on host one
    assert (await third.post("/logout")).status_code in (302, 303)
    assert await one.ctx.accounts.signed_in(leaving) is None

    # A new password ends every other session and keeps this device signed in.
    fourth = other.client()
    assert (await fourth.login(name)).status_code == 303
    assert (await fourth.get("/settings/profile")).status_code == 200
    r = await first.post(
        "/settings/password",
        {
            "current_password": DEFAULT_PASSWORD,
            "new_password": "another long passphrase",
            "confirm_password": "another long passphrase",
        },
    )
    assert r.status_code == 303, r.text
    assert signed_out(await fourth.get("/settings/profile"))
    assert (await first.get("/settings/profile")).status_code == 200
    sessions = await one.ctx.accounts.sessions_of(user)
    assert len(sessions) == 1 and sessions[0].id != mine


async def test_suspension_and_deletion_end_redis_sessions(tmp_path, sqlite_url, redis_url, start_site):
    one, other = await two_hosts(tmp_path, sqlite_url, redis_url, start_site)
    boss_name, name = f"b{uuid.uuid4().hex[:10]}", f"m{uuid.uuid4().hex[:10]}"
    await one.user_client(boss_name)
    boss = await one.ctx.moderation.set_role(boss_name, "admin")
    member = await other.user_client(name)
    assert (await member.get("/settings/profile")).status_code == 200
    user = await one.ctx.accounts.by_username(name)
    await one.ctx.moderation.suspend(boss, user, "spam")
    assert signed_out(await member.get("/settings/profile"))
    await one.ctx.moderation.unsuspend(boss, user, "fine")
    again = other.client()
    assert (await again.login(name)).status_code == 303
    assert (await again.get("/settings/profile")).status_code == 200
    token = token_of(again)
    await one.ctx.moderation.delete_account(boss, user, "gone")
    assert (await again.get("/settings/profile")).status_code in (302, 403)
    assert await other.ctx.accounts.signed_in(token) is None
    redis = connect(redis_url)
    try:
        assert await redis.exists(index_key(user.id)) == 0
    finally:
        await redis.aclose()


# -- failover ------------------------------------------------------------------------------------


@pytest.fixture
def replicated_cluster(tmp_path, redis_cluster_url):
    """Three masters with a replica each, of this test's own (``redis_cluster_url`` says
    whether Redis 7 is here at all)."""
    cluster = LocalRedisCluster(tmp_path / "replicated", replicas=1)
    problem = cluster.start()
    assert problem is None, problem
    yield cluster
    cluster.stop()


def pid_of(cluster: LocalRedisCluster, port: int) -> int:
    return int((cluster.directory / str(port) / "redis.pid").read_text().strip())


async def masters_and_replicas(cluster: LocalRedisCluster) -> tuple[dict[int, int], list[int]]:
    """Each master's port -> its replica's port; and the replicas' ports."""
    import redis

    replica_of = {}
    for port in cluster.ports:
        node = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)
        info = node.info("replication")
        node.close()
        if info["role"] == "slave":
            replica_of[int(info["master_port"])] = port
    return replica_of, list(replica_of.values())


async def test_a_failover_keeps_acknowledged_sessions_and_revocations(
    tmp_path, sqlite_url, replicated_cluster, start_site
):
    url = replicated_cluster.url
    settings = site_settings(tmp_path, sqlite_url, redis_url=url, session_store="redis")
    site = await start_site(settings)
    await site.ctx.start()
    name = f"f{uuid.uuid4().hex[:10]}"
    await site.user_client(name)
    user = await site.ctx.accounts.by_username(name)

    # The master holding the user's index of sessions is the one to kill.
    client = connect(url)
    await client.initialize()
    victim = client.get_node_from_key(index_key(user.id)).port
    await client.aclose()
    replica_of, _ = await masters_and_replicas(replicated_cluster)
    assert victim in replica_of

    acknowledged: list[str] = []
    revoked: list[str] = []
    refused = 0
    stop = asyncio.Event()

    async def sign_in_steadily() -> None:
        nonlocal refused
        n = 0
        while not stop.is_set():
            n += 1
            browser = site.client()
            response = await browser.login(name)
            if response.status_code == 303:
                token = token_of(browser)
                acknowledged.append(token)
                if n % 4 == 0:
                    # Revoked as soon as it exists: it must stay revoked after the failover.
                    ended = await site.ctx.accounts.signed_in(token)
                    try:
                        await site.ctx.accounts.revoke_session(user, ended.session.id)
                        revoked.append(token)
                    except Exception:  # a refused revocation was not acknowledged
                        pass
            else:
                assert response.status_code == 503, response.text
                refused += 1
            await browser.aclose()
            site.clients.remove(browser)

    writer = asyncio.create_task(sign_in_steadily())
    await wait_until(lambda: len(acknowledged) >= 12, 30, "sessions before the failover")
    os.kill(pid_of(replicated_cluster, victim), signal.SIGKILL)
    before_kill = len(acknowledged)
    # The replica takes over after the cluster's node timeout (2 s); signing in carries on.
    await wait_until(lambda: len(acknowledged) >= before_kill + 8, 40, "sessions after it")
    stop.set()
    await writer

    # Read through a store of its own: no process cache, only what the cluster holds now.
    fresh = RedisSessions(site.ctx.db, url)
    try:
        await fresh.redis.initialize()
        assert fresh.redis.get_node_from_key(index_key(user.id)).port == replica_of[victim]
        now = utcnow()
        for token in acknowledged:
            found = await fresh.find(token_hash(token), now)
            if token in revoked:
                assert found is None, "a revoked session came back after the failover"
            else:
                assert found is not None, "an acknowledged session was lost in the failover"
        listed = {s.token_hash for s in await fresh.of_user(user.id, now)}
        live = {token_hash(t) for t in acknowledged if t not in revoked}
        assert live <= listed
        assert not listed & {token_hash(t) for t in revoked}
    finally:
        await fresh.close()
    assert revoked, "the test revoked nothing"


async def test_a_write_no_replica_confirms_is_not_acknowledged(
    tmp_path, sqlite_url, replicated_cluster, start_site
):
    settings = site_settings(
        tmp_path, sqlite_url, redis_url=replicated_cluster.url, session_store="redis"
    )
    site = await start_site(settings)
    name = f"w{uuid.uuid4().hex[:10]}"
    await site.user_client(name)
    site.ctx.accounts.sessions._retry_for = 1.0
    _, replicas = await masters_and_replicas(replicated_cluster)
    pids = [pid_of(replicated_cluster, port) for port in replicas]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        browser = site.client()
        response = await browser.login(name)
        assert response.status_code == 503
        assert "Nothing was changed" in response.text
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    browser = site.client()
    assert (await browser.login(name)).status_code == 303
    assert (await browser.get("/settings/profile")).status_code == 200
