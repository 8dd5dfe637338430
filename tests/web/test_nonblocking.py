"""The event loop is never blocked: /healthz answers while logins are being hashed."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from tornagram.accounts.passwords import PasswordHasher
from tornagram.config import PasswordHashParams

# Real-world cost, so each verification takes long enough to matter (tens of milliseconds).
REAL_COST = PasswordHashParams(time_cost=3, memory_cost_kib=65536, parallelism=4)
CONCURRENT_LOGINS = 6


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_healthz_answers_while_logins_hash(site):
    ctx = site.ctx
    ctx.hasher.close()
    ctx.hasher = PasswordHasher(REAL_COST, max_threads=2)
    ctx.accounts.hasher = ctx.hasher
    ctx.settings = replace(ctx.settings, password_hash=REAL_COST)
    await site.client().signup("hasher")

    order: list[str] = []

    async def login(i: int) -> None:
        c = site.client()
        r = await c.login("hasher", "wrong password" if i % 2 else "correct horse battery")
        assert r.status_code in (303, 400)
        order.append(f"login{i}")

    logins = [asyncio.create_task(login(i)) for i in range(CONCURRENT_LOGINS)]
    # Wait until the server is actually hashing (not merely until we sent the requests).
    while ctx.hasher.in_flight < 2:
        await asyncio.sleep(0.001)
    r = await site.client().get("/healthz")
    assert r.status_code == 200
    order.append("healthz")
    await asyncio.gather(*logins)
    # Six argon2 verifications on two threads take three rounds; had any of them run on the
    # loop, /healthz would have queued behind it and finished after at least one login.
    assert order[0] == "healthz", order
