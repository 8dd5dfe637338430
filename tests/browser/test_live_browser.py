"""Two people in one live room: what one types flies across the other's screen at once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import FIXTURES, sign_up

pytestmark = pytest.mark.browser


def test_two_browsers_in_one_room(live_server, browser, screenshot):
    host = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
    guest = browser.new_context(viewport={"width": 1000, "height": 900}).new_page()
    failures: list[str] = []
    for page in (host, guest):
        page.on("pageerror", lambda exc: failures.append(str(exc)))
    sign_up(host, live_server, "hostess")
    sign_up(guest, live_server, "guest")

    host.goto(live_server + "/rooms")
    host.fill("#f-title", "Sunset watch")
    host.fill("#f-slug", "sunset")
    host.get_by_role("button", name="Open room").click()
    host.wait_for_url(live_server + "/rooms/sunset")

    guest.goto(live_server + "/rooms/sunset")
    # Both pages are connected: the presence count reaches 2 on the host's page.
    expect(host.locator("[data-presence]")).to_have_text(re.compile(r"^2 watching$"), timeout=10_000)

    host.fill("#f-body", "look at that sky <script>x</script>")
    host.get_by_role("button", name="Send").click()
    # No reload on the guest's side: the message is listed and flies across the stage.
    message = guest.locator("[data-message-list] .message", has_text="look at that sky")
    expect(message).to_have_count(1, timeout=10_000)
    expect(guest.locator("[data-room-stage] .danmaku-item", has_text="look at that sky")).to_have_count(1)
    assert "<script>x</script>" in message.inner_text()  # shown as text, never as markup
    screenshot(guest, "room-danmaku")
    # The sender's own form was cleared, and nobody reloaded (still the same page).
    assert host.input_value("#f-body") == ""
    assert guest.url == live_server + "/rooms/sunset"

    guest.fill("#f-body", "gorgeous")
    guest.get_by_role("button", name="Send").click()
    expect(host.locator("[data-message-list] .message", has_text="gorgeous")).to_have_count(1, timeout=10_000)
    assert failures == []


def test_two_browsers_watch_one_photo(live_server, browser, screenshot):

    if not FIXTURES.is_dir():
        pytest.skip(f"fixture images not found at {FIXTURES}")
    author = browser.new_context(viewport={"width": 1000, "height": 1000}).new_page()
    viewer = browser.new_context(viewport={"width": 1000, "height": 1000}).new_page()
    failures: list[str] = []
    for page in (author, viewer):
        page.on("pageerror", lambda exc: failures.append(str(exc)))
    sign_up(author, live_server, "painter")
    sign_up(viewer, live_server, "critic")
    author.goto(live_server + "/upload")
    author.set_input_files("#f-photo", [str(FIXTURES / "panorama.jpg")])
    author.get_by_role("button", name="Share").click()
    author.wait_for_url(re.compile(r".*/p/[0-9]+$"))
    post_url = author.url

    viewer.goto(post_url)
    expect(viewer.locator("[data-danmaku-toggle]")).to_have_attribute("aria-pressed", "true")
    # Let the viewer's socket subscribe before the comment is written.
    viewer.wait_for_timeout(500)
    author.fill("#comment-body", "what a panorama! <b>wow</b>")
    author.locator("#comment-form button[type=submit]").click()

    comment = viewer.locator("[data-comment-list] .comment", has_text="what a panorama!")
    expect(comment).to_have_count(1, timeout=10_000)
    flying = viewer.locator("[data-danmaku-stage] .danmaku-item", has_text="what a panorama!")
    expect(flying).to_have_count(1)
    assert "<b>wow</b>" in comment.inner_text()  # escaped, never markup
    screenshot(viewer, "post-danmaku")
    assert viewer.url == post_url  # no reload
    # The author's page shows the comment once, not once from the form and once from the channel.
    expect(author.locator("[data-comment-list] .comment", has_text="what a panorama!")).to_have_count(1)
    assert failures == []
