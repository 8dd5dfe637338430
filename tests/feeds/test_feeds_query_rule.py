"""The rule inside the queries themselves, below the pages: even where a page would already
hide something (a private profile's grid, a block that also removed the follow), the query
that lists posts must not return it."""

from __future__ import annotations

from tests.feeds.support import share
from tests.helpers import make_private
from tornagram.feeds import queries
from tornagram.graph.models import Block


async def test_profile_query_hides_a_private_authors_posts_from_strangers(site):
    owner = await site.user_client("owner")
    await site.user_client("stranger")
    await make_private(owner)
    post_id = await share(owner, "hidden")
    author = await site.ctx.accounts.by_username("owner")
    stranger = await site.ctx.accounts.by_username("stranger")
    db = site.ctx.db
    assert (await queries.profile_page(db, stranger, author, None)).rows == []
    assert (await queries.profile_page(db, None, author, None)).rows == []
    assert [p.id for p in (await queries.profile_page(db, author, author, None)).posts] == [post_id]


async def test_a_block_hides_a_followees_posts_even_if_the_follow_remains(site, monkeypatch):
    """Blocking removes follows, so this takes rows written by hand: the feed must still obey
    the block rather than trust that the follow is gone."""
    reader = await site.user_client("reader")
    writer = await site.user_client("writer")
    await reader.post("/@writer/follow")
    post_id = await share(writer, "hello")
    me = await site.ctx.accounts.by_username("reader")
    them = await site.ctx.accounts.by_username("writer")
    db = site.ctx.db
    assert (await queries.home_page(db, me, None)).posts[0].id == post_id
    async with db.write() as session:
        session.add(Block(blocker_id=them.id, blocked_id=me.id))
    for threshold in (10**9, 0):  # per-author walk, and the window-first path
        monkeypatch.setattr(queries, "WINDOW_FIRST_FOLLOWING", threshold)
        assert (await queries.home_page(db, me, None)).rows == []
    assert (await queries.profile_page(db, me, them, None)).rows == []
    assert (await queries.tag_post_count(db, me, "anything")) == 0
