"""In a real browser: the bell's badge on a phone, the grouped page, and search."""

from __future__ import annotations

import pytest

from tests.browser.support import need_fixture_images, share_photo, sign_up

pytestmark = pytest.mark.browser


def test_a_phone_shows_the_badge_and_the_grouped_page(live_server, browser, screenshot):
    need_fixture_images()
    desk = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    sign_up(desk, live_server, "olive")
    post_url = share_photo(desk, live_server, "camera-gps.jpg", "Harbour at dawn with @fan1 #harbour")
    for name in ("fan1", "fan2", "fan3"):
        fan = browser.new_context().new_page()
        sign_up(fan, live_server, name)
        fan.goto(post_url)
        fan.locator("form[action$='/like'] button").first.click()
        fan.wait_for_load_state("load")
        fan.goto(live_server + "/@olive")
        fan.get_by_role("button", name="Follow").first.click()
        fan.wait_for_load_state("load")
        fan.context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = phone.new_page()
    page.goto(live_server + "/login")
    page.fill("#f-login", "olive")
    page.fill("#f-password", "long enough password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server + "/")
    badge = page.locator("nav.nav-bottom .nav-badge")
    assert badge.is_visible() and badge.inner_text() == "6"
    bell = page.locator("nav.nav-bottom a[data-nav='notifications']").bounding_box()
    box = badge.bounding_box()
    assert bell["x"] <= box["x"] <= bell["x"] + bell["width"]  # on the bell, not beside it
    screenshot(page, "phone-badge")
    page.locator("nav.nav-bottom a[data-nav='notifications']").click()
    page.wait_for_url(live_server + "/notifications")
    texts = [t.strip() for t in page.locator(".notif-text").all_inner_texts()]
    assert any("fan3 and 2 others started following you." in t for t in texts), texts
    assert any("fan3 and 2 others liked your photo." in t for t in texts), texts
    assert page.locator(".notif-unread").count() == 2
    assert not page.locator("nav.nav-bottom .nav-badge").is_visible()
    # No layout shift: the small photo has its size before it loads.
    thumb = page.locator(".notif-thumb img").first.bounding_box()
    assert round(thumb["width"]) == 44 and round(thumb["height"]) == 44
    screenshot(page, "phone-notifications")
    page.reload()
    assert page.locator(".notif-unread").count() == 0

    desk.goto(live_server + "/search?q=harb")
    assert desk.locator(".search-tags .hashtag").inner_text() == "#harbour"
    assert desk.locator(".search-grid .grid-item").count() == 1
    screenshot(desk, "search-desktop")
