"""/admin/users: finding people, what is known about them, and acting on their accounts."""

from __future__ import annotations

from tests.helpers import DEFAULT_PASSWORD
from tests.moderation.support import report, share, staff_client


async def test_search_and_what_the_list_says(site, image_bytes):
    mod = await staff_client(site, "mod")
    bo = await site.user_client("bobcat")
    ana = await site.user_client("ana")
    await site.user_client("carla")
    post_id = await share(bo)
    await report(ana, "post", post_id)
    page = (await mod.get("/admin/users?q=bob")).text
    assert "@bobcat" in page and "@carla" not in page
    assert "1 posts" in page and "1 open reports" in page and "last seen" in page
    assert "@carla" in (await mod.get("/admin/users?q=CARLA@example")).text  # by email
    assert "No one matches" in (await mod.get("/admin/users?q=%25")).text  # % is not a wildcard
    assert (await mod.get("/admin/users?before=abc")).status_code == 400
    bo_id = (await site.ctx.accounts.by_username("bobcat")).id
    detail = await mod.get(f"/admin/users/{bo_id}")
    assert "bobcat@example.org" in detail.text and "Suspend" in detail.text
    assert "Delete the account" not in detail.text  # only admins see it
    assert (await mod.get("/admin/users/99999")).status_code == 404


async def test_requiring_a_new_password(site):
    mod = await staff_client(site, "mod")
    bo = await site.user_client("bo")
    bo_id = (await site.ctx.accounts.by_username("bo")).id
    r = await mod.post(f"/admin/users/{bo_id}/reset-password", {"note": "leaked"})
    assert r.status_code == 303
    r = await bo.get("/settings/profile")
    assert r.headers["location"].startswith("/login")  # signed out
    assert (await bo.login("bo")).status_code == 303
    r = await bo.get("/")
    assert r.headers["location"] == "/settings/password"
    assert "choose a new password" in (await bo.get("/settings/password")).text
    new = "a brand new password"
    r = await bo.post(
        "/settings/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": new, "confirm_password": new},
    )
    assert r.status_code == 303
    assert (await bo.get("/")).status_code == 200


async def test_an_admin_deletes_an_account_and_the_counts_follow(site, image_bytes):
    admin = await staff_client(site, "ruth", "admin")
    bo, cy = await site.user_client("bo"), await site.user_client("cy")
    await bo.post("/@cy/follow")
    cy_post = await share(cy)
    await bo.post(f"/p/{cy_post}/like")
    await bo.post(f"/p/{cy_post}/comments", {"body": "hi"})
    bo_post = await share(bo)
    bo_id = (await site.ctx.accounts.by_username("bo")).id
    r = await admin.post(f"/admin/users/{bo_id}/delete", {"note": "spam bot"})
    assert r.status_code == 303 and r.headers["location"] == "/admin/users"
    assert (await site.client().get("/@bo")).status_code == 404
    assert (await cy.get(f"/p/{bo_post}")).status_code == 404
    cy_user = await site.ctx.accounts.by_username("cy")
    assert cy_user.follower_count == 0
    view = await site.ctx.photos.get_post(cy_post, cy_user)
    assert (view.post.like_count, view.post.comment_count) == (0, 0)
    entries, _ = await site.ctx.moderation.log()
    assert (entries[0].action, entries[0].subject_name, entries[0].note) == (
        "user.delete", "bo", "spam bot",
    )  # fmt: skip
    assert "spam bot" in (await admin.get("/admin/log")).text
