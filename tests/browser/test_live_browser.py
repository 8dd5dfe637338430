"""Two people in one live room: what one types flies across the other's screen at once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import FIXTURES, need_fixture_images, share_photo, sign_up, watched_pages

pytestmark = pytest.mark.browser


def test_two_browsers_in_one_room(live_server, browser, screenshot):
    (host, guest), failures = watched_pages(browser, 2, 1000, 900)
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
    need_fixture_images()
    (author, viewer), failures = watched_pages(browser, 2, 1000, 1000)
    sign_up(author, live_server, "painter")
    sign_up(viewer, live_server, "critic")
    post_url = share_photo(author, live_server, "panorama.jpg")

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


# The shape of a comment row: every element's tag, classes and attribute names, in order, plus
# the attribute values that carry meaning (links, actions, ids). The time's tooltip and the
# words "just now" vs "1 minute ago" may differ between a live row and a reloaded one.
ROW_SHAPE_JS = """(row) => {
  const keep = ["href", "action", "id", "data-reply-to", "data-reply-name", "src", "data-hue", "datetime"];
  const walk = (el) => [el.tagName, [...el.classList].sort().join(" "),
    [...el.attributes].map((a) => a.name).filter((n) => n !== "value").sort().join(" "),
    keep.filter((n) => el.hasAttribute(n)).map((n) => n + "=" + el.getAttribute(n)).join(" "),
    [...el.children].map(walk)];
  return walk(row);
}"""


def test_a_live_comment_is_drawn_like_a_listed_one(live_server, browser):
    need_fixture_images()
    (owner, fan, onlooker), failures = watched_pages(browser, 3, 1000, 1000)
    sign_up(owner, live_server, "potter")
    sign_up(fan, live_server, "fanny")
    sign_up(onlooker, live_server, "olly")
    # The commenter has a profile photo (the live row must show it as an <img>, like the list).
    fan.goto(live_server + "/settings/profile")
    fan.set_input_files("#f-avatar", [str(FIXTURES / "panorama.jpg")])
    fan.get_by_role("button", name="Save").click()
    fan.wait_for_url(re.compile(r".*saved=1$"))
    post_url = share_photo(owner, live_server, "panorama.jpg")
    onlooker.goto(post_url)
    fan.goto(post_url)
    owner.wait_for_timeout(500)  # let the sockets subscribe before the comment is written

    fan.fill("#comment-body", "lovely light @potter #dusk <i>x</i>")
    fan.locator("#comment-form button[type=submit]").click()

    live_rows = {}
    for who, page in (("owner", owner), ("onlooker", onlooker)):
        row = page.locator("[data-comment-list] > li.comment", has_text="lovely light")
        expect(row).to_have_count(1, timeout=10_000)
        # Avatar, name, text with its links, time, Reply: drawn, not a bare "name text" line.
        expect(row.locator("img.avatar[src^='/media/']")).to_have_count(1)
        expect(row.locator(".comment-text .post-author")).to_have_text("fanny")
        expect(row.locator(".comment-text a[href='/tags/dusk']")).to_have_count(1)
        expect(row.locator(".comment-text a[href='/@potter']")).to_have_count(1)
        assert "<i>x</i>" in row.locator(".comment-text").inner_text()  # text, never markup
        expect(row.locator("time")).to_have_count(1)
        expect(row.locator("a.comment-reply")).to_have_count(1)
        live_rows[who] = row.evaluate(ROW_SHAPE_JS)
        assert page.url == post_url  # no reload so far
    # Delete exactly where the reader could use it: the post's owner may, a third person not.
    expect(owner.locator("li.comment", has_text="lovely light").locator("[data-comment-delete]")).to_have_count(1)
    expect(onlooker.locator("li.comment", has_text="lovely light").locator("[data-comment-delete]")).to_have_count(0)

    # Someone without a profile photo: the letter stands in, as in the list.
    onlooker.fill("#comment-body", "second look")
    onlooker.locator("#comment-form button[type=submit]").click()
    plain = owner.locator("[data-comment-list] > li.comment", has_text="second look")
    expect(plain.locator(".avatar-initial")).to_have_text("O", timeout=10_000)
    live_rows["plain"] = plain.evaluate(ROW_SHAPE_JS)

    # Replying to the live row works like replying to a listed one.
    onlooker.locator("li.comment", has_text="lovely light").locator("a.comment-reply").click()
    expect(onlooker.locator("#comment-body")).to_have_value(re.compile(r"^@fanny "))

    for who, page in (("owner", owner), ("onlooker", onlooker)):
        page.reload()
        row = page.locator("[data-comment-list] > li.comment", has_text="lovely light")
        expect(row).to_have_count(1)
        assert row.evaluate(ROW_SHAPE_JS) == live_rows[who], who
    plain = owner.locator("[data-comment-list] > li.comment", has_text="second look")
    assert plain.evaluate(ROW_SHAPE_JS) == live_rows["plain"]
    assert failures == []


def test_danmaku_toggle_and_toasts_on_and_off_the_photo(live_server, browser):
    need_fixture_images()
    (owner, fan), failures = watched_pages(browser, 2, 1000, 1000)
    sign_up(owner, live_server, "mira")
    sign_up(fan, live_server, "nico")
    post_url = share_photo(owner, live_server, "panorama.jpg")

    # The toggle says whether it is on, to the eye and to screen readers.
    toggle = owner.locator("[data-danmaku-toggle]")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    on_look = toggle.evaluate("(b) => [getComputedStyle(b).backgroundColor, getComputedStyle(b).textDecorationLine]")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    off_look = toggle.evaluate("(b) => [getComputedStyle(b).backgroundColor, getComputedStyle(b).textDecorationLine]")
    assert on_look != off_look and off_look[1] == "line-through", (on_look, off_look)
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")

    # Without JavaScript the toggle could do nothing, so it is not shown.
    no_js = browser.new_context(java_script_enabled=False).new_page()
    no_js.goto(post_url)
    expect(no_js.locator("[data-danmaku-toggle]")).to_be_hidden()
    expect(no_js.locator(".danmaku-bar")).to_be_hidden()

    # Watching her own photo: the comments appear in the list; no toast repeats them.
    owner.wait_for_timeout(500)  # let the sockets subscribe
    fan.goto(post_url)
    for body in ("first!", "second!"):
        fan.fill("#comment-body", body)
        fan.locator("#comment-form button[type=submit]").click()
        expect(owner.locator("[data-comment-list] .comment", has_text=body)).to_have_count(1, timeout=10_000)
    # News that is not on screen still toasts; it comes after the comments' on the same channel.
    fan.goto(live_server + "/@mira")
    fan.get_by_role("button", name="Follow").first.click()
    expect(owner.locator(".live-toast")).to_have_count(1, timeout=10_000)
    expect(owner.locator(".live-toast")).to_contain_text("nico started following you.")

    # Elsewhere, comments on her photo toast once, grouped, quoting the latest comment.
    owner.goto(live_server + "/")
    owner.wait_for_timeout(500)
    fan.goto(post_url)
    for body in ("third one", "and a fourth"):
        fan.fill("#comment-body", body)
        fan.locator("#comment-form button[type=submit]").click()
        expect(fan.locator("[data-comment-list] .comment", has_text=body)).to_have_count(1, timeout=10_000)
    toast = owner.locator(".live-toast", has_text="commented on your photo")
    expect(toast).to_have_count(1, timeout=10_000)
    expect(toast.locator(".live-toast-count")).to_have_text("×2", timeout=10_000)
    expect(toast.locator(".live-toast-quote")).to_have_text("and a fourth")
    assert failures == []
