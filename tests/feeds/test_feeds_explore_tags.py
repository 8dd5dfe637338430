"""Explore (recent and popular this week) and tag pages: contents, order, keyset pages."""

from __future__ import annotations

import pytest

from tests.feeds.support import FRAGMENT, grid_ids, next_link, set_likes, share, walk
from tornagram.feeds import queries


async def test_explore_lists_recent_public_posts_newest_first_in_keyset_pages(site):
    ann = await site.user_client("ann")
    ben = await site.user_client("ben")
    made = [await share(ann if i % 3 else ben, f"p{i}") for i in range(14)]
    page = await site.client().get("/explore")
    assert page.status_code == 200
    assert 'class="grid"' in page.text and 'aria-current="page"' in page.text
    assert grid_ids(page.text) == sorted(made, reverse=True)[:12]
    assert next_link(page.text).startswith("/explore?max_id=")
    assert await walk(site.client(), "/explore", grid_ids) == sorted(made, reverse=True)
    assert await walk(site.client(), "/explore", grid_ids, fragment=True) == sorted(
        made, reverse=True
    )
    fragment = await site.client().get(next_link(page.text), headers=FRAGMENT)
    assert (
        "<html" not in fragment.text and grid_ids(fragment.text) == sorted(made, reverse=True)[12:]
    )


async def test_popular_this_week_ranks_by_likes_then_newest_with_keyset_pages(site, monkeypatch):
    ann = await site.user_client("ann")
    made = [await share(ann, f"p{i}") for i in range(16)]
    likes = {}
    for i, post_id in enumerate(made):
        likes[post_id] = [5, 3, 3, 0, 7, 3][i % 6]  # ties on purpose: the cursor is (likes, id)
        await set_likes(site, post_id, likes[post_id])
    # The week starts after the first two posts: they are too old for "this week".
    monkeypatch.setattr(queries, "popular_since_id", lambda now_ms=None: made[2])
    expected = sorted(made[2:], key=lambda p: (likes[p], p), reverse=True)
    page = await site.client().get("/explore?tab=popular")
    assert page.status_code == 200
    assert grid_ids(page.text) == expected[:12]
    older = next_link(page.text)
    assert older.startswith("/explore?tab=popular&cursor=")
    assert await walk(site.client(), "/explore?tab=popular", grid_ids) == expected
    assert await walk(site.client(), "/explore?tab=popular", grid_ids, fragment=True) == expected


@pytest.mark.parametrize(
    "query",
    [
        "max_id=abc",
        "max_id=-5",
        f"max_id={2**64}",
        "tab=popular&cursor=abc",
        "tab=popular&cursor=1.2.3",
        "tab=popular&cursor=-1.5",
        f"tab=popular&cursor=1.{2**63}",
        f"tab=popular&cursor={2**40}.5",
    ],
)
async def test_bad_explore_cursors_are_400(site, query):
    response = await site.client().get(f"/explore?{query}")
    assert response.status_code == 400


async def test_unknown_tab_is_the_recent_tab(site):
    assert (await site.client().get("/explore?tab=nonsense")).status_code == 200


async def test_tag_pages_unicode_case_and_counts(site):
    ann = await site.user_client("ann")
    cat = await share(ann, "Look #Cat and #猫")
    dog = await share(ann, "#dog")
    both = await share(ann, "#CAT again")
    page = await site.client().get("/tags/cat")
    assert page.status_code == 200
    assert grid_ids(page.text) == [both, cat]
    assert "#cat" in page.text and "2 posts" in page.text
    chinese = await site.client().get("/tags/%E7%8C%AB")
    assert (
        chinese.status_code == 200 and grid_ids(chinese.text) == [cat] and "1 post" in chinese.text
    )
    # The caption links there.
    post_page = await site.client().get(f"/p/{cat}")
    assert 'href="/tags/%E7%8C%AB"' in post_page.text and 'href="/tags/cat"' in post_page.text
    # One address per tag.
    upper = await site.client().get("/tags/CAT?max_id=5")
    assert upper.status_code == 301 and upper.headers["location"] == "/tags/cat?max_id=5"
    assert grid_ids((await site.client().get("/tags/dog")).text) == [dog]
    empty = await site.client().get("/tags/nothing_here")
    assert (
        empty.status_code == 200
        and "0 posts" in empty.text
        and "No posts with this tag yet." in empty.text
    )
    for bad in ("/tags/%21%21", "/tags/a-b", "/tags/123", "/tags/" + "x" * 101):
        assert (await site.client().get(bad)).status_code == 404, bad
    assert (await site.client().get("/tags/cat?max_id=x1")).status_code == 400


async def test_tag_pages_keyset_pages(site):
    ann = await site.user_client("ann")
    ben = await site.user_client("ben")
    made = []
    for i in range(14):
        made.append(await share(ann if i % 2 else ben, f"#sunset {i}"))
        if i % 4 == 0:
            await share(ann, "#other")
    expected = sorted(made, reverse=True)
    page = await site.client().get("/tags/sunset")
    assert grid_ids(page.text) == expected[:12] and "14 posts" in page.text
    assert await walk(site.client(), "/tags/sunset", grid_ids) == expected
    assert await walk(site.client(), "/tags/sunset", grid_ids, fragment=True) == expected
