"""A suspended account's likes and comments leave the counts other people read, on cards and
the photo page, and come back when the suspension is lifted; deleting a suspended account
does not take them off twice."""

from __future__ import annotations

import re

from tests.moderation.support import admin_client, share, staff_client


def like_count(html: str, post_id: int) -> int:
    """The count a post card or the photo page shows under the photo."""
    found = re.search(rf'href="/p/{post_id}/likes" data-like-count="([0-9]+)"', html)
    assert found, "no like count on the page"
    return int(found.group(1))


async def counts(site, post_id: int) -> tuple[int, int]:
    post = (await site.ctx.photos.get_post(post_id, None)).post
    return post.like_count, post.comment_count


async def test_counts_leave_out_a_suspended_account_and_come_back(site):
    cy = await site.user_client("cy")
    bo, ana = await site.user_client("bo"), await site.user_client("ana")
    mod = await staff_client(site, "mod")
    post_id = await share(cy, "my dog")
    for client in (bo, ana):
        assert (await client.post(f"/p/{post_id}/like")).status_code in (200, 303)
    await bo.post(f"/p/{post_id}/comments", {"body": "visit my shop"})
    await bo.post(f"/p/{post_id}/comments", {"body": "and again"})
    await ana.post(f"/p/{post_id}/comments", {"body": "lovely"})
    assert await counts(site, post_id) == (2, 3)
    page = (await ana.get(f"/p/{post_id}")).text
    assert like_count(page, post_id) == 2

    bo_id = (await site.ctx.accounts.by_username("bo")).id
    assert (await mod.post(f"/admin/users/{bo_id}/suspend", {"note": "spam"})).status_code == 303
    assert await counts(site, post_id) == (1, 1)
    assert like_count((await ana.get(f"/p/{post_id}")).text, post_id) == 1
    # The card in the home feed of someone who follows the post's author says the same.
    await ana.post("/@cy/follow")
    assert like_count((await ana.get("/")).text, post_id) == 1

    assert (await mod.post(f"/admin/users/{bo_id}/unsuspend", {"note": "ok"})).status_code == 303
    assert await counts(site, post_id) == (2, 3)
    assert like_count((await ana.get(f"/p/{post_id}")).text, post_id) == 2


async def test_removing_and_deleting_after_a_suspension_counts_once(site):
    cy = await site.user_client("cy")
    bo, ana = await site.user_client("bo"), await site.user_client("ana")
    root = await admin_client(site)
    post_id = await share(cy)
    await bo.post(f"/p/{post_id}/like")
    await ana.post(f"/p/{post_id}/like")
    await bo.post(f"/p/{post_id}/comments", {"body": "spam one"})
    await ana.post(f"/p/{post_id}/comments", {"body": "kind words"})
    bo_user = await site.ctx.accounts.by_username("bo")
    await root.post(f"/admin/users/{bo_user.id}/suspend", {"note": ""})
    assert await counts(site, post_id) == (1, 1)
    # The post's owner deletes ana's comment: the count is of what is left and visible.
    ana_comment = await _comment_id(site, post_id, "kind words")
    await cy.post(f"/comments/{ana_comment}/delete")
    assert await counts(site, post_id) == (1, 0)
    await root.post(f"/admin/users/{bo_user.id}/delete", {"note": "spam"})
    assert await counts(site, post_id) == (1, 0)


async def _comment_id(site, post_id: int, body: str) -> int:
    from sqlalchemy import select

    from tornagram.graph.models import Comment

    async with site.ctx.db.read() as session:
        return await session.scalar(
            select(Comment.id).where(Comment.post_id == post_id, Comment.body == body)
        )
