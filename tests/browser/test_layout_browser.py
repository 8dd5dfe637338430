"""Boxes a person sees line up: one content width under the top bar on every page, round
avatars, a phone profile whose buttons and counts share their rows, dates kept whole."""

from __future__ import annotations

import io

import pytest

from tests.browser.support import sign_up

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


def photo(width: int, height: int) -> dict:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 60)).save(buf, "JPEG")
    return {"name": "walk.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()}


def share(page, base: str, *files: dict) -> str:
    page.goto(base + "/upload")
    page.set_input_files("#f-photo", list(files))
    with page.expect_navigation(url=lambda url: "/p/" in url):
        page.get_by_role("button", name="Share").click()
    return page.url


def edges(page, selector: str) -> tuple[float, float]:
    """The left and right of an element's content box (inside its padding)."""
    return tuple(page.locator(selector).first.evaluate("""el => {
      const box = el.getBoundingClientRect(), s = getComputedStyle(el);
      return [box.left + parseFloat(s.paddingLeft), box.right - parseFloat(s.paddingRight)];
    }"""))


def test_every_desktop_page_is_as_wide_as_the_top_bar(live_server, browser):
    page = browser.new_context(viewport=DESKTOP).new_page()
    sign_up(page, live_server, "wilma")
    post_url = share(page, live_server, photo(1200, 1500))
    page.goto(live_server + "/rooms")
    page.fill("#f-title", "Evening")
    page.fill("#f-slug", "evening")
    page.get_by_role("button", name="Open room").click()
    page.wait_for_url(live_server + "/rooms/evening")
    for path in ("/", "/explore", post_url, "/@wilma", "/notifications", "/rooms",
                 "/settings/profile", "/upload"):
        page.goto(path if path.startswith("http") else live_server + path)
        bar = edges(page, ".topbar-inner")
        content = edges(page, "main.page")
        footer = edges(page, ".site-footer")
        assert abs(bar[0] - content[0]) <= 1 and abs(bar[1] - content[1]) <= 1, (path, bar, content)
        assert abs(bar[0] - footer[0]) <= 1 and abs(bar[1] - footer[1]) <= 1, (path, bar, footer)

    # The photo page's frame fills that width and fits a portrait photo on the first screen.
    page.goto(post_url)
    frame = page.locator(".post-page").bounding_box()
    content = edges(page, "main.page")
    assert abs(frame["x"] - content[0]) <= 1 and abs(frame["x"] + frame["width"] - content[1]) <= 1
    assert frame["y"] + frame["height"] <= DESKTOP["height"]
    # The frame takes the photo's shape: no band of black above and below a 4:5 photo.
    img = page.locator(".post-page .photo-img").first
    img.evaluate("el => el.complete || new Promise(ok => el.addEventListener('load', ok))")
    drawn = img.evaluate("""el => { const box = el.getBoundingClientRect();
      const scale = Math.min(box.width / el.naturalWidth, box.height / el.naturalHeight);
      return [box.height, el.naturalHeight * scale]; }""")
    assert drawn[0] - drawn[1] <= 4, drawn

    # A wide photo leaves the comments a pane to read in, not a sliver.
    wide_url = share(page, live_server, photo(1800, 900))
    page.fill("#comment-body", "A first comment")
    page.locator("#comment-body").press("Enter")
    page.locator(".comment").first.wait_for()
    page.goto(wide_url)
    pane = page.locator(".post-page .comment-list").bounding_box()
    assert pane["height"] >= 150, pane
    comment = page.locator(".post-page .comment").first.bounding_box()
    assert comment["y"] + comment["height"] <= pane["y"] + pane["height"]

    # The rooms form starts at the heading's left edge.
    page.goto(live_server + "/rooms")
    heading = page.locator(".rooms h1").bounding_box()
    form = page.locator(".room-open").bounding_box()
    assert abs(heading["x"] - form["x"]) <= 1


def test_phone_profile_and_settings_keep_their_shapes(live_server, browser):
    page = browser.new_context(viewport=PHONE, is_mobile=True).new_page()
    sign_up(page, live_server, "maximiliana")
    page.goto(live_server + "/settings/profile")
    avatar = page.locator(".avatar-edit .avatar").bounding_box()
    assert abs(avatar["width"] - avatar["height"]) <= 1, avatar  # round, not an oval

    page.goto(live_server + "/@maximiliana")
    buttons = [b.bounding_box() for b in page.locator(".profile-title > .btn").all()]
    assert len(buttons) == 2
    assert abs(buttons[0]["y"] - buttons[1]["y"]) <= 1  # Edit profile and Saved on one row
    assert abs(buttons[0]["width"] - buttons[1]["width"]) <= 1
    counts = [c.bounding_box() for c in page.locator(".profile-stats li").all()]
    assert len(counts) == 3 and len({round(c["y"]) for c in counts}) == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The sign-in date and "last active" each stay on one line.
    page.goto(live_server + "/settings/sessions")
    for part in page.locator(".session-item .nowrap").all():
        lines = part.evaluate("el => new Set([...el.getClientRects()].map(r => Math.round(r.top))).size")
        assert lines == 1, part.inner_text()


def test_landing_danmaku_has_the_outline_of_the_real_one(live_server, browser):
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(live_server + "/")
    shadows = page.locator(".danmaku-demo").first.evaluate("el => getComputedStyle(el).textShadow")
    # An outline is four offset shadows; a single soft glow is lost on a light photo.
    assert shadows.count("rgba(0, 0, 0, 0.75)") >= 4, shadows


def test_phone_photo_page_danmaku_bar_lines_up_in_any_language(live_server, browser):
    page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    page.goto(live_server + "/signup")
    page.fill("#f-username", "lan")
    page.fill("#f-email", "lan@example.org")
    page.fill("#f-password", "long enough password")
    page.locator("#f-password").evaluate("el => el.form.requestSubmit()")
    page.wait_for_url(live_server + "/")
    page.goto(live_server + "/upload")
    page.set_input_files("#f-photo", [photo(1200, 1200)])
    with page.expect_navigation(url=lambda url: "/p/" in url):
        page.locator("#upload-submit").click()
    bar = page.locator(".danmaku-bar").bounding_box()
    card = page.locator(".post-page > .post-card").bounding_box()
    # A short (Chinese) hint must not shrink the bar into the middle of the page.
    assert abs(bar["x"] - card["x"]) <= 1 and abs(bar["width"] - card["width"]) <= 1, (bar, card)
