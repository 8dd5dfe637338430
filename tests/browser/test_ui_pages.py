"""What a person sees on the main pages: one dialog per action, nothing hidden showing, no
sideways scrolling on a phone, and every place reachable."""

from __future__ import annotations

import pytest

from tests.browser.support import need_fixture_images, sign_up

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def new_page(browser, viewport=None, **kwargs):
    page = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, **kwargs).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.errors = errors
    return page


def test_block_asks_once_and_each_module_loads_once(live_server, browser):
    other = new_page(browser)
    sign_up(other, live_server, "bertha")
    page = new_page(browser)
    sign_up(page, live_server, "annika")
    scripts: list[str] = []
    page.on("request", lambda req: scripts.append(req.url.split("?")[0]) if "/static/js/" in req.url else None)
    page.goto(live_server + "/@bertha")
    page.wait_for_load_state("networkidle")
    assert scripts and len(scripts) == len(set(scripts)), scripts

    dialogs: list[str] = []

    def dismiss(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.locator(".profile-menu summary").click()
    page.get_by_role("button", name="Block").click()
    page.wait_for_timeout(300)  # a second dialog would come straight after the first
    assert len(dialogs) == 1, dialogs
    assert page.url.endswith("/@bertha")
    assert page.errors == []


# Visible to a person: in the layout, not transparent, not clipped to a pixel.
VISIBLE_HIDDEN_JS = """() => [...document.querySelectorAll('[hidden]')].filter(el => {
  const box = el.getBoundingClientRect();
  return box.width > 1 && box.height > 1 && getComputedStyle(el).visibility !== 'hidden';
}).map(el => el.outerHTML.slice(0, 80))"""


def test_upload_page_shows_only_what_is_meant(live_server, browser):
    page = new_page(browser, PHONE)
    sign_up(page, live_server, "uma")
    page.goto(live_server + "/upload")
    page.wait_for_load_state("networkidle")
    # The empty progress bar waits, hidden, until there is an upload.
    assert page.evaluate(VISIBLE_HIDDEN_JS) == []
    assert page.locator("#upload-progress").is_hidden()
    # Nothing chosen yet: Share is disabled and looks it.
    share = page.locator("#upload-submit")
    assert share.is_disabled()
    assert float(share.evaluate("el => getComputedStyle(el).opacity")) < 0.7
    # The drop zone is the control; the native "Choose files" button is out of sight but
    # still there for the keyboard.
    box = page.locator("#f-photo").bounding_box()
    assert box is None or (box["width"] <= 1 and box["height"] <= 1)
    page.locator("#f-photo").focus()
    assert page.evaluate("document.activeElement.id") == "f-photo"

    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 2048
    page.set_input_files("#f-photo", [{"name": "IMG_0042.HEIC", "mimeType": "image/heic", "buffer": heic}])
    preview = page.locator(".upload-preview")
    assert preview.count() == 1
    # The browser cannot draw HEIC: a tile with the type, the file's name and size, no broken image.
    tile = preview.locator(".upload-tile")
    tile.wait_for()
    assert tile.inner_text() == "HEIC"
    assert preview.locator("img").count() == 0
    assert "IMG_0042.HEIC" in preview.locator(".upload-name").inner_text()
    assert preview.locator(".upload-size").inner_text() == "2 KB"
    assert share.is_enabled()
    assert float(share.evaluate("el => getComputedStyle(el).opacity")) == 1


def test_avatar_field_hides_the_native_file_control(live_server, browser):
    page = new_page(browser, PHONE)
    sign_up(page, live_server, "vera")
    page.goto(live_server + "/settings/profile")
    box = page.locator("#f-avatar").bounding_box()
    assert box is None or (box["width"] <= 1 and box["height"] <= 1)
    page.get_by_text("Choose a photo").wait_for()
    page.set_input_files("#f-avatar", [{"name": "me.png", "mimeType": "image/png", "buffer": b"x"}])
    assert page.locator("#avatar-file-name").inner_text() == "me.png"


def test_upload_without_script_shows_the_whole_alt_text_hint(live_server, browser):
    page = new_page(browser, PHONE)
    sign_up(page, live_server, "wanda")
    plain = new_page(browser, PHONE, java_script_enabled=False, storage_state=page.context.storage_state())
    plain.goto(live_server + "/upload")
    alt = plain.locator("#f-alt")
    assert alt.is_visible()
    # The hint fits: its text, laid out at the field's width, is no taller than the field.
    fits = plain.evaluate("""() => {
      const field = document.getElementById('f-alt');
      const probe = document.createElement('div');
      const style = getComputedStyle(field);
      probe.textContent = field.placeholder;
      probe.style.cssText = `position:absolute;visibility:hidden;font:${style.font};width:${field.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)}px;white-space:${field.tagName === 'TEXTAREA' ? 'pre-wrap' : 'nowrap'}`;
      document.body.append(probe);
      const fitsWide = probe.scrollWidth <= probe.clientWidth + 1;
      const fitsTall = probe.offsetHeight <= field.clientHeight;
      probe.remove();
      return fitsWide && fitsTall;
    }""")
    assert fits


def test_rooms_are_a_grid_and_an_empty_room_shows_no_message_box(live_server, browser):
    page = new_page(browser, PHONE)
    sign_up(page, live_server, "rosa")
    page.goto(live_server + "/rooms")
    # The address check runs in the browser: its pattern compiles under the `v` flag.
    pattern = page.locator("#f-slug").get_attribute("pattern")
    assert page.evaluate("p => { try { new RegExp(p, 'v'); return true; } catch { return false; } }", pattern)
    page.fill("#f-title", "Night walk")
    page.fill("#f-slug", "bad address!")
    assert page.locator("#f-slug").evaluate("el => el.validity.patternMismatch")
    page.fill("#f-slug", "night-walk")
    assert page.locator("#f-slug").evaluate("el => el.checkValidity()")
    page.get_by_role("button", name="Open room").click()
    page.wait_for_url(live_server + "/rooms/night-walk")
    assert page.locator("[data-message-list]").is_hidden()
    page.goto(live_server + "/rooms")
    card = page.locator(".room-grid .room-card")
    assert card.count() == 1
    assert card.locator(".room-cover").bounding_box()["width"] > 100
    assert page.errors == [], page.errors


def test_camera_details_of_each_photo_sit_beside_their_labels(live_server, browser):
    from tests.browser.support import FIXTURES

    need_fixture_images()
    page = new_page(browser)
    sign_up(page, live_server, "carmen")
    page.goto(live_server + "/upload")
    page.set_input_files("#f-photo", [str(FIXTURES / "camera-gps.jpg"), str(FIXTURES / "camera-gps.jpg")])
    with page.expect_navigation(url=lambda url: "/p/" in url):
        page.get_by_role("button", name="Share").click()
    page.get_by_text("Camera details").click()
    assert page.locator(".camera-photo").all_inner_texts() == ["Photo 1", "Photo 2"]
    pairs = page.evaluate("""() => [...document.querySelectorAll('.camera-list dt')].map(dt => {
      const dd = dt.nextElementSibling;
      return [dt.textContent, dd && dd.tagName, dd && dd.textContent,
              dd && Math.abs(dt.getBoundingClientRect().top - dd.getBoundingClientRect().top) < 2];
    })""")
    assert pairs and all(tag == "DD" and value and same_row for _, tag, value, same_row in pairs), pairs
    labels = [label for label, *_ in pairs]
    assert labels[0] == "Camera" and labels.count("Camera") == 2


def test_phone_pages_fit_and_read_well(live_server, browser):
    from tests.browser.support import FIXTURES

    need_fixture_images()
    other = new_page(browser, PHONE)
    sign_up(other, live_server, "pablo_with_a_long_name")
    page = new_page(browser, PHONE)
    sign_up(page, live_server, "lin")
    page.goto(live_server + "/upload")
    page.set_input_files("#f-photo", [str(FIXTURES / "grayscale.jpg"), str(FIXTURES / "icc-srgb.jpg")])
    page.fill("#f-caption", "周末 #上海 #上海外滩夜景 走走")
    with page.expect_navigation(url=lambda url: "/p/" in url):
        page.get_by_role("button", name="Share").click()
    post_url = page.url
    for path in ("/settings/profile", "/settings/sessions", "/@lin", "/@pablo_with_a_long_name",
                 "/upload", "/rooms", "/notifications", "/explore", "/search", "/", post_url):
        page.goto(path if path.startswith("http") else live_server + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        assert page.evaluate(VISIBLE_HIDDEN_JS) == [], path

    # Explore's tabs, Live rooms included, each on one line.
    page.goto(live_server + "/explore")
    for tab in page.locator(".tabs .tab").all():
        one_line = tab.evaluate("""el => { const s = getComputedStyle(el);
          const text = el.clientHeight - parseFloat(s.paddingTop) - parseFloat(s.paddingBottom);
          return text < 1.8 * parseFloat(s.fontSize); }""")
        assert one_line, tab.inner_text()

    # Sign out on one line.
    page.goto(live_server + "/settings/sessions")
    button = page.locator(".session-item button").first
    height = button.evaluate("el => el.getBoundingClientRect().height")
    line = button.evaluate("el => parseFloat(getComputedStyle(el).lineHeight) || 20")
    assert height < 2 * line

    # The "⋯" menu stays on the name's line.
    page.goto(live_server + "/@pablo_with_a_long_name")
    name = page.locator(".profile-username").bounding_box()
    menu = page.locator(".profile-menu summary").bounding_box()
    assert abs((name["y"] + name["height"] / 2) - (menu["y"] + menu["height"] / 2)) < 12

    # A hashtag is never split between its characters.
    page.goto(post_url)
    for tag in page.locator("a.hashtag").all():
        rects = tag.evaluate("el => el.getClientRects().length")
        assert rects == 1, tag.inner_text()

    # "Link copied" is news, not an error.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.locator("[data-share]").first.click()
    alert = page.locator("[data-action-alert]").first
    alert.wait_for()
    assert alert.inner_text() == "Link copied"
    danger = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--danger')").strip()
    colour = alert.evaluate("el => getComputedStyle(el).color")
    probe = page.evaluate("c => { const d = document.createElement('div'); d.style.color = c; document.body.append(d); const v = getComputedStyle(d).color; d.remove(); return v; }", danger)
    assert colour != probe

    # The multi-photo mark has a dark rim, so it shows on a white photo.
    page.goto(live_server + "/@lin")
    mark = page.locator(".grid-multi").first.evaluate("el => getComputedStyle(el).filter")
    assert mark.count("drop-shadow") >= 2

    # Signed out, the landing shows a real photo where the gradient was.
    visitor = new_page(browser, PHONE)
    visitor.goto(live_server + "/")
    hero = visitor.locator(".landing-photo img")
    assert hero.count() == 1
    assert visitor.locator(".landing-art").bounding_box()["height"] < 320
    assert hero.evaluate("img => img.complete && img.naturalWidth > 0")


def test_wide_photo_page_puts_comments_beside_the_photo(live_server, browser):
    from tests.browser.support import FIXTURES

    need_fixture_images()
    page = new_page(browser, {"width": 1440, "height": 900})
    sign_up(page, live_server, "portia")
    page.goto(live_server + "/upload")
    page.set_input_files("#f-photo", [str(FIXTURES / "orientation-6.jpg")])  # a portrait
    with page.expect_navigation(url=lambda url: "/p/" in url):
        page.get_by_role("button", name="Share").click()
    for i in range(8):
        page.fill("#comment-body", f"comment number {i} " + "words " * 40)
        page.locator("#comment-body").press("Enter")
        page.locator(".comment").nth(i).wait_for(state="attached")
    page.reload()
    photo = page.locator(".post-page .carousel").bounding_box()
    actions = page.locator(".post-page .post-actions").bounding_box()
    comments = page.locator(".post-page .comment-list").bounding_box()
    form = page.locator("#comment-form").bounding_box()
    # Side by side, all within the first screen.
    assert actions["x"] >= photo["x"] + photo["width"] - 1
    assert comments["x"] >= photo["x"] + photo["width"] - 1
    assert actions["y"] + actions["height"] <= 900 and form["y"] + form["height"] <= 900
    assert photo["height"] > 600
    # The comments scroll in their own pane, not the page.
    assert page.locator(".comment-list").evaluate("el => el.scrollHeight > el.clientHeight")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    # The photo is offered at the width it is drawn.
    sizes = page.locator(".post-page .photo-img").first.get_attribute("sizes")
    assert sizes.startswith("(min-width: 1000px)")

    # A narrow window keeps the one-column page.
    page.set_viewport_size({"width": 800, "height": 900})
    photo = page.locator(".post-page .carousel").bounding_box()
    actions = page.locator(".post-page .post-actions").bounding_box()
    assert actions["y"] >= photo["y"] + photo["height"] - 1
