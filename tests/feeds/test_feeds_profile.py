"""The profile page: header, counts, the follow button in each state, the grid and its pages."""

from __future__ import annotations

import re

from tests.feeds.support import FRAGMENT, grid_ids, next_link, share, walk
from tests.helpers import make_private


def follow_form(html: str) -> str | None:
    """The action of the profile's follow/unfollow/unblock form, and its button text."""
    match = re.search(
        r'<form method="post" action="(/@[a-z0-9_.]+/(?:follow|unfollow|unblock))"[^>]*>.*?<button[^>]*>([^<]*)</button>',
        re.search(r'<div class="profile-title">(.*?)</div>\s*<ul', html, re.S).group(1),
        re.S,
    )
    return f"{match.group(1)} {match.group(2).strip()}" if match else None


async def test_header_counts_link_to_the_lists(site):
    star = await site.user_client("star")
    fans = [await site.user_client(f"fan{i}") for i in range(3)]
    for fan in fans:
        await fan.post("/@star/follow")
    await star.post("/@fan0/follow")
    for i in range(2):
        await share(star, f"p{i}")
    page = await site.client().get("/@star")
    assert page.status_code == 200
    text = page.text
    assert "<strong>2</strong> posts" in text
    assert '<a href="/@star/followers"><strong>3</strong> followers</a>' in text
    assert '<a href="/@star/following"><strong>1</strong> following</a>' in text


async def test_follow_button_in_every_state(site):
    me = await site.user_client("mina")
    pub = await site.user_client("pub")
    shy = await site.user_client("shy")
    await make_private(shy)
    # Signed out: a link to log in and come back.
    visitor = await site.client().get("/@pub")
    assert 'href="/login?next=%2F%40pub"' in visitor.text and follow_form(visitor.text) is None
    assert follow_form((await me.get("/@pub")).text) == "/@pub/follow Follow"
    await pub.post("/@mina/follow")
    page = (await me.get("/@pub")).text
    assert follow_form(page) == "/@pub/follow Follow back" and "Follows you" in page
    await me.post("/@pub/follow")
    assert follow_form((await me.get("/@pub")).text) == "/@pub/unfollow Following"
    await me.post("/@shy/follow")
    assert follow_form((await me.get("/@shy")).text) == "/@shy/unfollow Requested"
    await me.post("/@pub/block")
    assert follow_form((await me.get("/@pub")).text) == "/@pub/unblock Unblock"
    own = await me.get("/@mina")
    assert follow_form(own.text) is None and 'href="/settings/profile"' in own.text
    assert 'action="/@mina/block"' not in own.text


async def test_grid_pages_and_fragments(site):
    nora = await site.user_client("nora")
    made = [await share(nora, f"p{i}") for i in range(14)]
    expected = sorted(made, reverse=True)
    page = await site.client().get("/@nora")
    assert grid_ids(page.text) == expected[:12]
    assert next_link(page.text).startswith("/@nora?max_id=")
    assert await walk(site.client(), "/@nora", grid_ids) == expected
    assert await walk(site.client(), "/@nora", grid_ids, fragment=True) == expected
    fragment = await site.client().get(next_link(page.text), headers=FRAGMENT)
    assert "<html" not in fragment.text and 'class="profile-header"' not in fragment.text
    for bad in ("abc", "-3", str(2**63)):
        assert (await site.client().get(f"/@nora?max_id={bad}")).status_code == 400


async def test_own_empty_profile_invites_a_first_post(site):
    newbie = await site.user_client("newbie")
    page = await newbie.get("/@newbie")
    assert "No posts yet." in page.text and 'href="/upload"' in page.text
    assert 'href="/upload"' not in (await site.client().get("/@newbie")).text.split("<main", 1)[1]
