"""The home page is served from caches (tornagram/cache/, feeds/cache.py); every change a
person can make must still show on the very next page, and cached cards must never leak one
response's XSRF token or one viewer's state into another's."""

from __future__ import annotations

import re

from tests.feeds.support import card_ids, grid_ids, share
from tornagram.feeds.cache import HomeFeed

_XSRF_FIELD = re.compile(r'name="_xsrf" value="([^"]+)"')


def card(html: str, post_id: int) -> str:
    start = html.index(f'id="post-{post_id}"')
    return html[start : html.index("</article>", start)]


def warm(site) -> HomeFeed:
    return site.ctx.home_feed


async def test_a_reload_shows_each_change_at_once(site):
    alice = await site.user_client("alice")
    bob = await site.user_client("bob")
    await alice.post("/@bob/follow")
    first = await share(bob, "first caption")
    assert card_ids((await alice.get("/")).text) == [first]
    hits_before = sum(s.hits for s in warm(site).stores)
    assert card_ids((await alice.get("/")).text) == [first]
    assert sum(s.hits for s in warm(site).stores) > hits_before, "the second page was not cached"

    # Someone else's like and comment.
    await bob.post(f"/p/{first}/like")
    await bob.post(f"/p/{first}/comments", {"body": "nice light"})
    shown = card((await alice.get("/")).text, first)
    assert "1 like" in shown and "nice light" in shown

    # Her own save and like, by plain form posts, each seen on the next page.
    await alice.post(f"/p/{first}/save")
    assert card((await alice.get("/")).text, first).count('aria-pressed="true"') == 1
    await alice.post(f"/p/{first}/like")
    shown = card((await alice.get("/")).text, first)
    assert "2 likes" in shown
    assert shown.count('aria-pressed="true"') == 2
    await alice.post(f"/p/{first}/unsave")
    assert card((await alice.get("/")).text, first).count('aria-pressed="true"') == 1

    # The author edits the caption, then posts again.
    r = await bob.post(f"/p/{first}/edit", {"caption": "edited caption", "alt": ""})
    assert r.status_code == 303, r.text
    second = await share(bob, "second")
    page = (await alice.get("/")).text
    assert card_ids(page) == [second, first] and "edited caption" in page

    # A deleted post goes; a deleted comment goes from the preview.
    r = await bob.post(f"/p/{second}/delete")
    assert r.status_code == 303
    assert card_ids((await alice.get("/")).text) == [first]

    # Unfollowing empties the feed of bob's posts.
    await alice.post("/@bob/unfollow")
    assert card_ids((await alice.get("/")).text) == []


async def test_a_block_takes_the_blockers_posts_away(site):
    alice = await site.user_client("alice")
    bob = await site.user_client("bob")
    await alice.post("/@bob/follow")
    post = await share(bob, "hello")
    assert card_ids((await alice.get("/")).text) == [post]
    await bob.post("/@alice/block")
    assert card_ids((await alice.get("/")).text) == []


async def test_a_commenter_blocked_by_the_viewer_leaves_the_preview(site):
    alice = await site.user_client("alice")
    mallory = await site.user_client("mallory")
    post = await share(alice, "mine")
    await mallory.post(f"/p/{post}/comments", {"body": "unwanted words"})
    assert "unwanted words" in card((await alice.get("/")).text, post)
    await alice.post("/@mallory/block")
    assert "unwanted words" not in card((await alice.get("/")).text, post)


async def test_each_response_carries_its_own_token_in_cached_cards(site):
    alice = await site.user_client("alice")
    post = await share(alice, "mine")
    # A second browser for the same person: another XSRF cookie, the same cached cards.
    other = site.client()
    r = await other.login("alice")
    assert r.status_code == 303
    for client in (alice, other, alice, other):
        page = (await client.get("/")).text
        tokens = set(_XSRF_FIELD.findall(card(page, post)))
        assert len(tokens) == 1 and "\x00" not in page
        # The card's token is the page's own, and the like form works with it.
        assert tokens <= set(_XSRF_FIELD.findall(page.split("<main", 1)[0]))
        liked = await client.http.post(
            f"/p/{post}/like", data={"_xsrf": tokens.pop(), "next": "/"}
        )
        assert liked.status_code == 303, liked.text
        await client.post(f"/p/{post}/unlike")


async def test_cards_show_each_viewer_their_own_state(site):
    alice = await site.user_client("alice")
    bob = await site.user_client("bob")
    await bob.post("/@alice/follow")
    post = await share(alice, "shared card")
    await bob.post(f"/p/{post}/like")
    alice_card = card((await alice.get("/")).text, post)
    bob_card = card((await bob.get("/")).text, post)
    # The owner's menu is alice's alone; the filled heart is bob's alone.
    assert "post-menu" in alice_card and "post-menu" not in bob_card
    assert 'aria-pressed="true"' in bob_card and 'aria-pressed="true"' not in alice_card


async def test_the_badge_follows_notifications_and_opening_them(site):
    alice = await site.user_client("alice")
    bob = await site.user_client("bob")
    post = await share(alice, "mine")

    def badge(html: str) -> str:
        match = re.search(r"data-unread-badge[^>]*>([^<]*)<", html)
        return match.group(1).strip() if match else ""

    assert badge((await alice.get("/")).text) == ""
    await bob.post(f"/p/{post}/like")
    assert badge((await alice.get("/")).text) == "1"
    await alice.get("/notifications")
    assert badge((await alice.get("/")).text) == ""
    await bob.post(f"/p/{post}/comments", {"body": "hi"})
    assert badge((await alice.get("/")).text) == "1"


async def test_an_empty_older_page_is_not_mistaken_for_an_empty_feed(site):
    alice = await site.user_client("alice")
    first = (await alice.get("/")).text
    assert "Hello, alice" in first  # the welcome, cached now
    older = (await alice.get("/?max_id=1")).text
    assert "Hello, alice" not in older and "all caught up" in older


async def test_grids_and_the_photo_page_come_from_the_caches_and_change_at_once(site):
    alice = await site.user_client("alice")
    bob = await site.user_client("bob")
    first = await share(bob, "first #lake")
    paths = ("/explore", "/tags/lake", "/@bob", f"/p/{first}")
    for path in paths:
        assert (await alice.get(path)).status_code == 200
    stores = [*site.ctx.grids.stores, *site.ctx.post_pages.stores]
    hits = sum(s.hits for s in stores)
    for path in paths:
        await alice.get(path)
    # Explore, the tag's grid and its count, the profile's grid, the photo's threads.
    assert sum(s.hits for s in stores) >= hits + 5, "the second views were not cached"

    second = await share(bob, "second #lake")
    for path in ("/explore", "/tags/lake", "/@bob"):
        assert grid_ids((await alice.get(path)).text)[:2] == [second, first], path
    await bob.post(f"/p/{first}/comments", {"body": "fresh words"})
    assert "fresh words" in (await alice.get(f"/p/{first}")).text
    await bob.post(f"/p/{second}/edit", {"caption": "no tag now", "alt": ""})
    assert grid_ids((await alice.get("/tags/lake")).text) == [first]
    await bob.post("/@alice/block")
    assert (await alice.get(f"/p/{first}")).status_code == 404
    for path in ("/explore", "/tags/lake"):
        assert grid_ids((await alice.get(path)).text) == [], path


async def test_comment_threads_shared_by_readers_without_blocks_leave_out_a_blocked_one(site):
    alice = await site.user_client("alice")
    bob = await site.user_client("bob")
    carol = await site.user_client("carol")
    post = await share(bob, "shared threads")
    await carol.post(f"/p/{post}/comments", {"body": "carol was here"})
    # Bob and alice read the same entry; then alice blocks carol, and only her page changes.
    assert "carol was here" in (await bob.get(f"/p/{post}")).text
    assert "carol was here" in (await alice.get(f"/p/{post}")).text
    await alice.post("/@carol/block")
    assert "carol was here" not in (await alice.get(f"/p/{post}")).text
    assert "carol was here" in (await bob.get(f"/p/{post}")).text
    await alice.post("/@carol/unblock")
    assert "carol was here" in (await alice.get(f"/p/{post}")).text
