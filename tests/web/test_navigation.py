"""Every place is reachable from a page a person is on: no dead ends."""

from __future__ import annotations

import re


async def test_saved_rooms_and_follow_requests_are_linked(site):
    owner = await site.user_client("nadia")
    await owner.post("/settings/profile", {"display_name": "", "bio": "", "private": "on"})
    fan = await site.user_client("nico")
    await fan.post("/@nadia/follow")
    await (await site.user_client("nora")).post("/@nadia/follow")

    notifications = (await owner.get("/notifications")).text
    assert '<a class="btn btn-small" href="/follow-requests">Follow requests (2)</a>' in notifications
    profile = (await owner.get("/@nadia")).text
    assert 'href="/follow-requests">Follow requests (2)</a>' in profile
    assert 'href="/saved">Saved</a>' in profile
    # Nobody else sees the owner's requests.
    assert "/follow-requests" not in (await fan.get("/@nadia")).text
    # Rooms: a tab of Explore (on phones too) and a place in the top bar.
    explore = (await fan.get("/explore")).text
    assert re.search(r'<a class="tab" href="/rooms">Live rooms</a>', explore)
    top = explore.split('class="nav nav-top"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/rooms"' in top and 'href="/saved"' in top
    # The phone's bottom bar can search and reach settings.
    bottom = explore.split('class="nav nav-bottom"', 1)[1].split("</nav>", 1)[0]
    for href in ("/search", "/settings/profile", "/", "/explore", "/upload", "/notifications", "/@nico"):
        assert f'href="{href}"' in bottom, href
    # And the answered requests leave no link behind.
    await owner.post("/settings/profile", {"display_name": "", "bio": ""})  # public: all let in
    assert "/follow-requests" not in (await owner.get("/notifications")).text
