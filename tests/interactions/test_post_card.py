"""The post card: decorate() in a constant number of queries, and the card's markup on the
photo page and in a feed (works without JavaScript, accessible, no inline script)."""

from __future__ import annotations

import re

from tests.helpers import counting_statements, fixture_bytes, new_post, user
from tornagram.photos.service import PhotoUpload
from tornagram.ratelimit import Rate
from tornagram.web.base import BaseHandler


async def posts_with_activity(site, count: int):
    """``count`` posts by 'author', each liked, saved and commented on by 'viewer'."""
    author = await site.ctx.accounts.by_username("author")
    viewer = await site.ctx.accounts.by_username("viewer")
    pairs = []
    for _ in range(count):
        post = await site.ctx.photos.create_post(
            author, [PhotoUpload(data=fixture_bytes("tiny.png"))], ""
        )
        pairs.append((post, author))
    return author, viewer, pairs


async def test_decorate_uses_a_constant_number_of_queries(site):
    await site.user_client("author")
    await site.user_client("viewer")
    _author, viewer, pairs = await posts_with_activity(site, 20)
    # Setting up 60 comments quickly is not what the limits are for.
    site.ctx.rate_limits.rates = {k: Rate(1000, 0.001) for k in site.ctx.rate_limits.rates}
    for post, _ in pairs:
        await site.ctx.interactions.like(viewer, post.id)
        await site.ctx.interactions.save(viewer, post.id)
        for i in range(3):
            await site.ctx.interactions.add_comment(viewer, post.id, f"comment {i}")
    with counting_statements(site) as one:
        [item] = await site.ctx.interactions.decorate(viewer, pairs[:1])
    with counting_statements(site) as twenty:
        items = await site.ctx.interactions.decorate(viewer, pairs)
    assert len(one) == len(twenty) <= 5, twenty
    assert all(i.liked and i.saved for i in items)
    assert [c.body for c, _ in items[7].comments] == ["comment 1", "comment 2"]
    assert item.comments[0][1].username == "viewer"
    with counting_statements(site) as anonymous:
        items = await site.ctx.interactions.decorate(None, pairs)
    assert len(anonymous) <= len(one)
    assert not any(i.liked or i.saved for i in items) and len(items[0].comments) == 2
    with counting_statements(site) as empty:
        assert await site.ctx.interactions.decorate(viewer, []) == []
    assert empty == []


async def test_preview_is_top_level_latest_two_and_skips_blocked_people(site, image_bytes):
    owner = await site.user_client("pat")
    a = await site.user_client("quill")
    b = await site.user_client("roy")
    post_id = await new_post(owner, image_bytes)
    await a.post(f"/p/{post_id}/comments", {"body": "from quill"})
    r = await b.post(f"/p/{post_id}/comments", {"body": "from roy"})
    top = r.headers["location"].rsplit("#c", 1)[1]
    await a.post(f"/p/{post_id}/comments", {"body": "a reply", "parent_id": top})
    view = await site.ctx.photos.get_post(post_id, None)
    [item] = await site.ctx.interactions.decorate(None, [(view.post, view.author)])
    assert [c.body for c, _ in item.comments] == ["from quill", "from roy"]
    await owner.post("/@roy/block")
    pat = await user(site, "pat")
    [item] = await site.ctx.interactions.decorate(pat, [(view.post, view.author)])
    assert [c.body for c, _ in item.comments] == ["from quill"]


async def test_photo_page_card_for_owner_member_and_visitor(site, image_bytes):
    owner = await site.user_client("sal")
    member = await site.user_client("tim")
    post_id = await new_post(owner, image_bytes, caption="hello #world")
    await member.post(f"/p/{post_id}/like")
    page = (await member.get(f"/p/{post_id}")).text
    for label in ("Unlike", "Comment", "Share", "Save"):
        assert f'aria-label="{label}"' in page, label
    assert f'action="/p/{post_id}/unlike"' in page and 'aria-pressed="true"' in page
    assert "#icon-heart-filled" in page and "#icon-bookmark" in page
    assert f'<a class="like-count" href="/p/{post_id}/likes"' in page and ">1 like</a>" in page
    assert '<script type="module" src="/static/js/social.js' in page
    assert 'id="comment-form"' in page and 'name="_xsrf"' in page
    assert "post_edit" not in page and f"/p/{post_id}/edit" not in page  # not the owner
    assert not re.search(r'<script(?![^>]*\bsrc=)(?! type="importmap">)', page) and " style=" not in page
    assert not re.search(r"\son[a-z]+=", page)
    owner_page = (await owner.get(f"/p/{post_id}")).text
    assert f"/p/{post_id}/edit" in owner_page and 'aria-label="Like"' in owner_page
    visitor = (await site.client().get(f"/p/{post_id}")).text
    assert 'aria-label="Log in to like this"' in visitor and 'id="comment-form"' not in visitor
    assert "Log in to like or comment." in visitor
    assert "{{" not in visitor and "{%" not in visitor


class _FeedProbe(BaseHandler):
    """A stand-in for a feed page: cards rendered with the module, as the home feed will."""

    async def get(self, post_id: str) -> None:
        view = await self.ctx.photos.get_post(int(post_id), self.current_user)
        items = await self.ctx.interactions.decorate(self.current_user, [(view.post, view.author)])
        self.write("".join(self.ui["_tt_modules"].PostCard(item) for item in items))


async def test_card_in_a_feed_shows_a_comment_preview_and_comes_back_here(site, image_bytes):
    site.app.add_handlers(r".*", [(r"/feed-probe/([0-9]+)", _FeedProbe, dict(ctx=site.ctx))])
    owner = await site.user_client("uma")
    post_id = await new_post(owner, image_bytes)
    for body in ("oldest <i>", "second", "third @uma"):
        await owner.post(f"/p/{post_id}/comments", {"body": body})
    card = (await owner.get(f"/feed-probe/{post_id}?page=2")).text
    assert "View all 3 comments" in card and f'href="/p/{post_id}#comments"' in card
    assert (
        "oldest" not in card
        and "second" in card
        and '<a class="mention" href="/@uma">@uma</a>' in card
    )
    assert f'name="next" value="/feed-probe/{post_id}?page=2#post-{post_id}"' in card
    assert 'loading="lazy"' in card and 'id="comment-form"' not in card
    r = await owner.post(
        f"/p/{post_id}/save", {"next": f"/feed-probe/{post_id}?page=2#post-{post_id}"}
    )
    assert r.headers["location"] == f"/feed-probe/{post_id}?page=2#post-{post_id}"
