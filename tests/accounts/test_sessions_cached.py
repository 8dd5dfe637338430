"""Sessions are cached in memory (tornagram/cache/); ending one must still end it at once."""

from __future__ import annotations

import re

from tests.helpers import DEFAULT_PASSWORD


async def two_browsers(site):
    first = await site.user_client("alice")
    second = site.client()
    assert (await second.login("alice")).status_code == 303
    # Both now have their session cached.
    for client in (first, second):
        assert (await client.get("/settings/profile")).status_code == 200
    return first, second


def signed_out(response) -> bool:
    return response.status_code == 302 and "/login" in response.headers["location"]


async def test_signing_out_the_other_devices_ends_their_cached_sessions(site):
    first, second = await two_browsers(site)
    assert (await first.post("/settings/sessions/revoke-others")).status_code == 303
    assert signed_out(await second.get("/settings/profile"))
    assert (await first.get("/settings/profile")).status_code == 200


async def test_revoking_one_device_ends_its_cached_session(site):
    first, second = await two_browsers(site)
    page = (await first.get("/settings/sessions")).text
    items = page.split('class="session-item"')[1:]
    revoke = [
        re.search(r"/settings/sessions/([0-9]+)/revoke", item).group(1)
        for item in items
        if "This device" not in item
    ]
    assert len(revoke) == 1  # the other browser
    assert (await first.post(f"/settings/sessions/{revoke[0]}/revoke")).status_code == 303
    assert signed_out(await second.get("/settings/profile"))


async def test_a_new_password_ends_every_other_cached_session(site):
    first, second = await two_browsers(site)
    r = await first.post(
        "/settings/password",
        {
            "current_password": DEFAULT_PASSWORD,
            "new_password": "a brand new passphrase",
            "confirm_password": "a brand new passphrase",
        },
    )
    assert r.status_code == 303, r.text
    assert signed_out(await second.get("/settings/profile"))
    assert (await first.get("/settings/profile")).status_code == 200
