"""/admin/approvals: approving lets a waiting account in and mails it; turning it down deletes
it; both are in the audit log."""

from __future__ import annotations

import pytest

from tests.helpers import DEFAULT_PASSWORD, SmtpSink, mail_text, site_settings
from tests.moderation.support import admin_client, save_site, sign_up_form, staff_client


@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def settings(tmp_path, database_url, smtp_sink):
    return site_settings(
        tmp_path, database_url, smtp_url=smtp_sink.url, site_url="https://club.example.org"
    )


async def waiting_site(site):
    """The staff, and a member, made first; then sign-up asks for approval."""
    root = await admin_client(site)
    mod = await staff_client(site, "mod")
    member = await site.user_client("mia")
    await save_site(root, name="Rowing Club", registration="approval", approval_question="Who?")
    return mod, member


async def test_approving_lets_the_person_in_and_mails_them(site, smtp_sink):
    mod, _member = await waiting_site(site)
    wanda = site.client()
    assert (await sign_up_form(wanda, "wanda", answer="Bo's sister")).status_code == 303
    user = await site.ctx.accounts.by_username("wanda")
    r = await mod.post(f"/admin/approvals/{user.id}/approve", {"note": ""})
    assert r.status_code == 303
    assert 'data-pending="wanda"' not in (await mod.get("/admin/approvals")).text
    # In at once, on the same session.
    assert (await wanda.get("/")).status_code == 200
    assert (await wanda.get("/waiting")).headers["location"] == "/"
    (message,) = await smtp_sink.wait_for("wanda@example.org", about="approved")
    assert message["Subject"] == "Your account on Rowing Club is ready"
    assert "https://club.example.org/login" in mail_text(message)
    log = (await mod.get("/admin/log")).text
    assert 'data-action="user.approve"' in log and "@wanda" in log
    # A second decision is refused.
    r = await mod.post(f"/admin/approvals/{user.id}/approve")
    assert r.status_code == 409


async def test_turning_down_deletes_the_waiting_account(site):
    mod, _member = await waiting_site(site)
    assert (await sign_up_form(site.client(), "spammy", answer="buy now")).status_code == 303
    user = await site.ctx.accounts.by_username("spammy")
    r = await mod.post(f"/admin/approvals/{user.id}/reject", {"note": "spam"})
    assert r.status_code == 303
    with pytest.raises(Exception, match="No one here"):
        await site.ctx.accounts.by_username("spammy")
    assert (await site.client().login("spammy", DEFAULT_PASSWORD)).status_code == 400
    log = (await mod.get("/admin/log")).text
    assert 'data-action="user.reject"' in log and "spam" in log


async def test_only_waiting_accounts_can_be_approved_and_members_cannot(site):
    mod, member = await waiting_site(site)
    member_id = (await site.ctx.accounts.by_username("ada")).id
    assert (await mod.post(f"/admin/approvals/{member_id}/reject")).status_code == 409
    assert (await site.ctx.accounts.by_username("ada")) is not None
    await sign_up_form(site.client(), "wanda", answer="me")
    wanda = await site.ctx.accounts.by_username("wanda")
    assert (await member.post(f"/admin/approvals/{wanda.id}/approve")).status_code == 403
    assert (await site.ctx.accounts.by_username("wanda")).is_pending


async def test_a_waiting_account_is_seen_by_nobody_until_approved(site):
    mod, member = await waiting_site(site)
    assert (await sign_up_form(site.client(), "wanda", answer="me")).status_code == 303
    assert (await member.get("/@wanda")).status_code == 404
    assert "@wanda" not in (await member.get("/search?q=wanda")).text
    user = await site.ctx.accounts.by_username("wanda")
    await mod.post(f"/admin/approvals/{user.id}/approve")
    assert (await member.get("/@wanda")).status_code == 200
    assert "@wanda" in (await member.get("/search?q=wanda")).text
