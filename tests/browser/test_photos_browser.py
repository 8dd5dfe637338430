"""A person drags in two photos, watches them upload, and browses the carousel."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.support import FIXTURES, need_fixture_images, sign_up, wait_until, watched_pages

pytestmark = pytest.mark.browser

def test_upload_two_photos_and_see_the_carousel(live_server, browser, screenshot):
    need_fixture_images()
    [page], failures = watched_pages(browser, 1, 1100, 900)
    sign_up(page, live_server, "imogen")
    page.get_by_role("link", name="New post").first.click()
    page.wait_for_url(live_server + "/upload")

    page.set_input_files("#f-photo", [str(FIXTURES / "camera-gps.jpg"), str(FIXTURES / "orientation-6.jpg")])
    previews = page.locator(".upload-preview")
    assert previews.count() == 2
    # A file the site would refuse is marked at once, with the reason, and not sent.
    page.set_input_files("#f-photo", [str(FIXTURES / "README.md")])
    assert page.locator(".upload-preview.refused .field-error").inner_text().startswith("This file type is not supported")
    page.locator(".upload-preview.refused button").click()
    assert previews.count() == 2
    page.locator(".upload-preview input").first.fill("Mountains at dawn")
    page.fill("#f-caption", "Weekend hike #hiking @imogen")
    screenshot(page, "upload-previews")
    page.get_by_role("button", name="Share").click()
    page.wait_for_url(re.compile(r".*/p/[0-9]+$"))

    slides = page.locator(".carousel-slide")
    assert slides.count() == 2
    first = page.locator(".carousel-slide img").first
    assert first.get_attribute("alt") == "Mountains at dawn"
    assert page.locator(".carousel-next").is_visible()
    assert page.locator(".carousel-prev").is_hidden()
    # (wait_for_function would need 'unsafe-eval', which our CSP rightly refuses.)
    wait_until(page, "() => [...document.querySelectorAll('.carousel-slide img')].every(i => i.complete && i.naturalWidth > 0)")
    screenshot(page, "post-first-photo")
    page.locator(".carousel-next").click()
    expect(page.locator("[data-carousel]")).to_have_attribute("data-index", "1")
    assert page.locator(".carousel-prev").is_visible()
    wait_until(page, "() => { const t = document.querySelector('.carousel-track'); return Math.abs(t.scrollLeft - t.clientWidth) < 2; }")
    second = page.locator(".carousel-slide img").nth(1)
    natural = second.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert natural[1] > natural[0]  # orientation 6: displayed as portrait
    screenshot(page, "post-second-photo")
    assert page.locator("a.hashtag").inner_text() == "#hiking"
    page.get_by_text("Camera details").click()
    assert page.get_by_text("ISO", exact=True).first.is_visible()
    assert failures == []
