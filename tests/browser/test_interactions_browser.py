"""A person likes, saves and comments in a real browser: instant, and put back on failure."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import FIXTURES, need_fixture_images, sign_up, watched_pages

pytestmark = pytest.mark.browser


def post_a_photo(page, base: str) -> str:
    page.goto(base + "/upload")
    page.set_input_files("#f-photo", [str(FIXTURES / "camera-gps.jpg")])
    page.fill("#f-caption", "Morning light #sun")
    page.get_by_role("button", name="Share").click()
    page.wait_for_url(re.compile(r".*/p/[0-9]+$"))
    return page.url


def test_like_save_comment_reply_and_delete_without_reloading(live_server, browser, screenshot):
    need_fixture_images()
    [page], failures = watched_pages(browser, 1, 1000, 1100)
    page.on("dialog", lambda dialog: dialog.accept())
    sign_up(page, live_server, "nadia")
    url = post_a_photo(page, live_server)
    loads = []
    page.on("load", lambda _page: loads.append(1))

    like = page.locator("form[data-toggle=like] button")
    expect(like).to_have_attribute("aria-label", "Like")
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".like-count")).to_have_text("1 like")
    save = page.locator("form[data-toggle=save] button")
    save.click()
    expect(save).to_have_attribute("aria-label", "Remove from saved")

    box = page.locator("#comment-body")
    box.fill("So <b>warm</b> @nadia")
    box.press("Enter")
    first = page.locator(".comment-list > li.comment").first
    expect(first).to_contain_text("So <b>warm</b>")
    expect(first.locator("a.mention")).to_have_text("@nadia")
    first.locator("a[data-reply-to]").click()
    expect(page.locator("[data-replying-to]")).to_be_visible()
    expect(box).to_have_value("@nadia ")
    box.type("thanks")
    page.get_by_role("button", name="Post").click()
    expect(first.locator(".replies li.reply")).to_contain_text("@nadia thanks")
    expect(page.locator("[data-replying-to]")).to_be_hidden()

    # A refused comment keeps the text and says why.
    box.fill("   ")
    box.press("Enter")
    expect(page.locator("[data-comment-error]")).to_have_text(
        "Write something before posting your comment."
    )
    screenshot(page, "social-post-page")
    assert loads == []  # all of it without leaving the page

    # The server failing puts the heart back.
    page.route("**/unlike", lambda route: route.abort())
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".like-count")).to_have_text("1 like")
    page.unroute("**/unlike")

    first.locator("form[data-comment-delete] button").first.click()
    expect(page.locator(".comment-list > li.comment")).to_have_count(0)

    page.goto(url)  # and it all stuck
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(save).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".comment-list > li.comment")).to_have_count(0)
    page.goto(live_server + "/saved")
    expect(page.locator(".grid-item")).to_have_count(1)
    assert failures == []
