"""TORNAGRAM_CACHES=0: the same pages, every answer read from the database, nothing kept."""

from __future__ import annotations

import dataclasses

import pytest

from tests.feeds.support import card_ids, share


@pytest.fixture
def settings(settings):
    return dataclasses.replace(settings, caches=False)


async def test_pages_are_right_and_nothing_is_kept(site):
    alice = await site.user_client("alice")
    bob = await site.user_client("bob")
    await alice.post("/@bob/follow")
    post = await share(bob, "hello")
    for _ in range(2):
        page = (await alice.get("/")).text
        assert card_ids(page) == [post] and "Be the first to like this" in page
    await bob.post(f"/p/{post}/like")
    assert "1 like" in (await alice.get("/")).text
    ctx = site.ctx
    assert not ctx.db.changes.usable
    assert all(len(store) == 0 for store in ctx.home_feed.stores)
    assert len(ctx.fragments) == 0 and len(ctx.pages) == 0
