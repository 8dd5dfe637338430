"""Login throttling: per account and per IP, with Retry-After, the same for unknown users."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from tests.helpers import DEFAULT_PASSWORD
from tornagram.accounts import throttle
from tornagram.accounts.models import LoginFailure
from tornagram.db.base import utcnow


async def test_account_locked_after_ten_failures_even_with_right_password(site):
    c = site.client()
    await c.signup("kate")
    attacker = site.client()
    for _ in range(throttle.MAX_FAILURES_PER_ACCOUNT):
        r = await attacker.login("kate", "wrong password")
        assert r.status_code == 400
    r = await attacker.login("kate", DEFAULT_PASSWORD)
    assert r.status_code == 429
    retry_after = int(r.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60 + 1
    assert "Too many failed sign-in attempts" in r.text
    assert attacker.session_cookie() is None


async def test_unknown_accounts_are_throttled_the_same_way(site):
    c = site.client()
    for _ in range(throttle.MAX_FAILURES_PER_ACCOUNT):
        assert (await c.login("ghost", "whatever pw")).status_code == 400
    r = await c.login("ghost", "whatever pw")
    assert r.status_code == 429 and "Retry-After" in r.headers


async def test_failures_expire_after_the_window(site):
    await site.client().signup("liam")
    c = site.client()
    for _ in range(throttle.MAX_FAILURES_PER_ACCOUNT):
        await c.login("liam", "wrong password")
    assert (await c.login("liam", DEFAULT_PASSWORD)).status_code == 429
    async with site.ctx.db.write() as s:
        await s.execute(update(LoginFailure).values(created_at=utcnow() - throttle.FAILURE_WINDOW - timedelta(seconds=1)))
    assert (await c.login("liam", DEFAULT_PASSWORD)).status_code == 303


async def test_ip_limit_covers_many_accounts(site):
    c = site.client()
    # Spread over many names so no single account hits its own limit first.
    for i in range(throttle.MAX_FAILURES_PER_IP):
        assert (await c.login(f"user{i}", "wrong password")).status_code == 400
    r = await c.login("someone_new", "wrong password")
    assert r.status_code == 429


async def test_success_clears_account_failures(site):
    await site.client().signup("mona")
    c = site.client()
    for _ in range(throttle.MAX_FAILURES_PER_ACCOUNT - 1):
        await c.login("mona", "wrong password")
    assert (await c.login("mona", DEFAULT_PASSWORD)).status_code == 303
    await c.post("/logout")
    for _ in range(throttle.MAX_FAILURES_PER_ACCOUNT - 1):
        assert (await c.login("mona", "wrong password")).status_code == 400


async def test_every_spelling_of_an_account_shares_its_limit(site):
    """The lookup strips "@" and matches the email too; the limit must see the same account."""
    await site.client().signup("alice", email="Alice@Example.org")
    attacker = site.client()
    for _ in range(throttle.MAX_FAILURES_PER_ACCOUNT):
        assert (await attacker.login("alice", "wrong password")).status_code == 400
    for spelling in (
        "@alice",
        "@@alice",
        "ALICE",
        " alice ",
        "alice@example.org",
        "ALICE@example.ORG",
    ):
        r = await attacker.login(spelling, "wrong password")
        assert r.status_code == 429, spelling
    # Unknown logins: "@ghost" and "ghost" are one name to the lookup, and to the limit.
    for i in range(throttle.MAX_FAILURES_PER_ACCOUNT):
        await attacker.login("@" * (i % 3) + "ghost", "whatever pw")
    assert (await attacker.login("ghost", "whatever pw")).status_code == 429


async def test_a_login_longer_than_any_account_is_refused_not_a_500(site):
    c = site.client()
    r = await c.login("x" * 5000, "wrong password")
    assert r.status_code == 400
