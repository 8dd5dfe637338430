"""Two people, two browsers: one follows, sees the other's photo in their feed, likes and
comments on it; the other is told at once, without reloading."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import need_fixture_images, share_photo, sign_up, watched_pages

pytestmark = pytest.mark.browser


def test_follow_feed_like_comment_and_live_notification(live_server, browser, screenshot):
    need_fixture_images()
    (owner, fan), failures = watched_pages(browser, 2, 1100, 900)
    sign_up(owner, live_server, "wren")
    share_photo(owner, live_server, "progressive.jpg", "Morning light #dawn")
    owner.goto(live_server + "/")  # the owner waits on their home page

    sign_up(fan, live_server, "finch")
    fan.goto(live_server + "/@wren")
    fan.get_by_role("button", name="Follow").first.click()
    expect(fan.locator("[data-follow-state='following']")).to_have_count(1)
    # The follow is announced live on the owner's page: the badge counts it.
    badge = owner.locator("nav.nav-top [data-unread-badge]")
    expect(badge).to_have_text("1", timeout=10_000)

    fan.goto(live_server + "/")
    card = fan.locator("[data-post-card]").first
    expect(card).to_contain_text("Morning light")
    card.locator("form[data-toggle='like'] button").click()
    expect(card.locator("form[data-toggle='like'] button")).to_have_attribute("aria-pressed", "true")
    expect(badge).to_have_text("2", timeout=10_000)

    fan.goto(live_server + card.locator("a.like-count").get_attribute("href").rsplit("/likes", 1)[0])
    fan.fill("#comment-body", "Beautiful, @wren!")
    fan.locator("#comment-form button[type=submit]").click()
    expect(fan.locator("[data-comment-list] .comment", has_text="Beautiful")).to_have_count(1)
    expect(badge).to_have_text(re.compile(r"^[34]$"), timeout=10_000)  # the comment (and mention)
    expect(owner.locator("[role=status]", has_text="finch")).not_to_have_count(0)
    screenshot(owner, "owner-live-toast")
    assert owner.url == live_server + "/"  # never reloaded

    # A second tab of the owner's, watching the photo: opening the notifications in the first
    # clears its badge, and the fan taking the like back changes its count, both live.
    watcher = owner.context.new_page()
    watcher.on("pageerror", lambda exc: failures.append(str(exc)))
    post_url = fan.url.split("#")[0]
    watcher.goto(post_url)
    expect(watcher.locator("html[data-live=open]")).to_have_count(1, timeout=10_000)
    watcher.wait_for_timeout(300)  # its subscribes reach the server
    watcher_badge = watcher.locator("nav.nav-top [data-unread-badge]")
    expect(watcher_badge).to_be_visible()
    expect(watcher.locator("[data-like-count]")).to_have_text("1 like")

    owner.goto(live_server + "/notifications")
    text = owner.locator("main").inner_text()
    assert "finch started following you." in text
    assert "finch liked your photo." in text
    assert "finch commented" in text
    expect(watcher_badge).to_be_hidden(timeout=10_000)

    fan.locator("form[data-toggle='like'] button").click()
    expect(watcher.locator("[data-like-count]")).to_have_text(
        "Be the first to like this", timeout=10_000
    )
    assert watcher.url == post_url  # never reloaded
    assert failures == []
