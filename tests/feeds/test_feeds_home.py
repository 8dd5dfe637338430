"""The home feed through the real HTTP stack: whose posts, in what order, keyset pages, the
fragment that infinite scroll appends, the empty state and the signed-out landing page."""

from __future__ import annotations

import pytest

from tests.feeds.support import FRAGMENT, card_ids, grid_ids, next_link, share, walk
from tests.helpers import make_private
from tornagram.feeds import queries


async def test_home_shows_your_posts_and_those_you_follow_newest_first(site):
    alice = await site.user_client("alice")
    bob = await site.user_client("bob")
    carol = await site.user_client("carol")
    await alice.post("/@bob/follow")
    first = await share(bob, "bob one")
    mine = await share(alice, "mine")
    await share(carol, "carol is not followed")
    second = await share(bob, "bob two")
    page = await alice.get("/")
    assert page.status_code == 200
    assert card_ids(page.text) == [second, mine, first]
    assert "carol is not followed" not in page.text
    assert 'rel="next"' not in page.text and "all caught up" in page.text
    # Unfollowing takes bob's posts off the feed at once.
    await alice.post("/@bob/unfollow")
    assert card_ids((await alice.get("/")).text) == [mine]


async def test_keyset_pages_have_no_gaps_or_duplicates(site):
    alice = await site.user_client("alice")
    bob = await site.user_client("bob")
    await alice.post("/@bob/follow")
    made = []
    for i in range(15):
        made.append(await share(bob if i % 2 else alice, f"post {i}"))
    page = await alice.get("/")
    assert len(card_ids(page.text)) == 12
    older = next_link(page.text)
    assert older and older.startswith("/?max_id=")
    # A post arriving while someone reads does not shift the pages they have not seen yet.
    newcomer = await share(bob, "late")
    seen = await walk(alice, "/", card_ids)
    assert seen == sorted([*made, newcomer], reverse=True)
    page2 = await alice.get(older)
    assert card_ids(page2.text) == sorted(made, reverse=True)[12:]


async def test_the_fragment_is_only_the_new_cards_and_the_next_link(site):
    alice = await site.user_client("alice")
    made = [await share(alice, f"p{i}") for i in range(14)]
    page = await alice.get("/")
    older = next_link(page.text)
    fragment = await alice.get(older, headers=FRAGMENT)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "<main" not in fragment.text
    assert "data-items" in fragment.text
    assert card_ids(fragment.text) == sorted(made, reverse=True)[12:]
    assert next_link(fragment.text) is None
    assert "X-Requested-With" in fragment.headers.get("vary", "")
    # Walking by fragments reaches the same posts as walking by pages.
    assert await walk(alice, "/", card_ids, fragment=True) == sorted(made, reverse=True)


async def test_a_new_account_is_pointed_to_explore(site):
    newcomer = await site.user_client("newbie")
    page = await newcomer.get("/")
    assert page.status_code == 200
    assert "Hello, newbie" in page.text
    assert 'href="/explore"' in page.text and card_ids(page.text) == []


async def test_signed_out_home_is_the_landing_page_with_recent_public_photos(site):
    public = await site.user_client("pia")
    hidden = await site.user_client("quinn")
    await make_private(hidden)
    shown = await share(public, "hello world")
    secret = await share(hidden, "secret")
    page = await site.client().get("/")
    assert page.status_code == 200
    assert "Photos that come alive" in page.text and "Create an account" in page.text
    assert grid_ids(page.text) == [shown]
    assert f"/p/{secret}" not in page.text
    assert 'href="/explore"' in page.text


@pytest.mark.parametrize(
    "bad", ["abc", "-1", "1.5", "99999999999999999999", str(2**63), "12%2034", "%EF%BC%91"]
)
async def test_bad_max_id_is_a_400_never_a_500(site, bad):
    alice = await site.user_client("alice")
    response = await alice.get(f"/?max_id={bad}")
    assert response.status_code == 400
    assert "This page link is not valid" in response.text
    assert (await alice.get("/?max_id=")).status_code == 200  # empty: the first page
    # Control characters are dropped by Tornado, which leaves the first page.
    assert (await alice.get("/?max_id=%00")).status_code == 200


@pytest.mark.parametrize(("threshold", "window"), [(0, 4), (0, 10_000)])
async def test_the_window_first_path_gives_the_same_pages(site, monkeypatch, threshold, window):
    """People who follow very many accounts get their page from the newest posts first (and
    the per-author walk when that window holds too few); the pages must be the same."""
    monkeypatch.setattr(queries, "WINDOW_FIRST_FOLLOWING", threshold)
    monkeypatch.setattr(queries, "FEED_WINDOW_POSTS", window)
    alice = await site.user_client("alice")
    bob = await site.user_client("bob")
    carol = await site.user_client("carol")
    await alice.post("/@bob/follow")
    made = []
    for i in range(15):
        if i % 3 == 0:
            await share(carol, "not followed")  # fills the window with posts alice won't see
        made.append(await share(bob if i % 2 else alice, f"post {i}"))
    assert await walk(alice, "/", card_ids) == sorted(made, reverse=True)
    assert await walk(alice, "/", card_ids, fragment=True) == sorted(made, reverse=True)
