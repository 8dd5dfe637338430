"""The app API follows the site's own settings and its moderators: the instance entities show
the name, rules and registration mode set at /admin/settings, and suspending an account or asking
it for a new password ends its app tokens and their streams at once, as it ends its sessions."""

from __future__ import annotations

import asyncio

from tests.api.support import bearer, stream_connect, token_for
from tests.moderation.support import admin_client, save_site


async def test_the_instance_shows_the_sites_settings(site):
    anyone = site.client().http
    v1 = (await anyone.get("/api/v1/instance")).json()
    assert v1["title"] == "Tornagram" and v1["rules"] == [] and v1["registrations"] is True
    root = await admin_client(site)
    r = await save_site(
        root,
        name="Riverside 猫 Club",
        description="Photos from the riverside.",
        contact_email="club@example.org",
        registration="approval",
        approval_question="Who sent you?",
        rules=["Be kind.", "Only your own photos."],
    )
    assert r.status_code == 303
    v1 = (await anyone.get("/api/v1/instance")).json()
    assert v1["title"] == "Riverside 猫 Club"
    assert v1["short_description"] == v1["description"] == "Photos from the riverside."
    assert v1["email"] == "club@example.org"
    assert v1["registrations"] is True and v1["approval_required"] is True
    assert v1["rules"] == [
        {"id": "1", "text": "Be kind.", "hint": ""},
        {"id": "2", "text": "Only your own photos.", "hint": ""},
    ]
    v2 = (await anyone.get("/api/v2/instance")).json()
    assert v2["title"] == "Riverside 猫 Club"
    assert v2["registrations"] == {"enabled": True, "approval_required": True, "message": None}
    assert v2["contact"]["email"] == "club@example.org"
    assert [rule["text"] for rule in v2["rules"]] == ["Be kind.", "Only your own photos."]

    for mode, enabled in (("invite", False), ("closed", False), ("open", True)):
        assert (await save_site(root, registration=mode)).status_code == 303
        v2 = (await anyone.get("/api/v2/instance")).json()
        assert v2["registrations"]["enabled"] is enabled, mode
        assert v2["registrations"]["approval_required"] is False
        assert (await anyone.get("/nodeinfo/2.0")).json()["openRegistrations"] is enabled


async def test_suspension_ends_the_apps_tokens_and_streams(site):
    token = await token_for(site, "sam")
    http = bearer(site, token)
    assert (await http.get("/api/v1/accounts/verify_credentials")).status_code == 200
    stream = await stream_connect(site, token)
    await admin_client(site, "ada")
    accounts = site.ctx.accounts
    ada, sam = await accounts.by_username("ada"), await accounts.by_username("sam")
    await site.ctx.moderation.suspend(ada, sam, "spam wave")
    # The stream closes at once, without waiting for its next event...
    assert await asyncio.wait_for(stream.read_message(), 5) is None
    # ...and the token no longer works.
    r = await http.get("/api/v1/accounts/verify_credentials")
    assert r.status_code == 401 and "error" in r.json()
    await http.aclose()


async def test_a_forced_password_reset_ends_the_apps_tokens(site):
    token = await token_for(site, "pat")
    http = bearer(site, token)
    assert (await http.get("/api/v1/accounts/verify_credentials")).status_code == 200
    await admin_client(site, "ada")
    accounts = site.ctx.accounts
    ada, pat = await accounts.by_username("ada"), await accounts.by_username("pat")
    await site.ctx.moderation.require_password_reset(ada, pat, "leaked password")
    assert (await http.get("/api/v1/accounts/verify_credentials")).status_code == 401
    await http.aclose()
