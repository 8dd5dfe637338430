"""A person signs up, logs out and in, edits their profile and switches to Chinese."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_sign_up_log_out_log_in_edit_profile_switch_language(live_server, browser, screenshot):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A form with mistakes answers 400 on purpose; any other failed resource is a bug.
    page.on(
        "response",
        lambda r: r.status >= 400 and r.request.resource_type != "document" and errors.append(r.url),
    )

    page.goto(live_server + "/")
    assert page.get_by_role("heading", name="Photos that come alive").is_visible()
    screenshot(page, "landing")
    page.get_by_role("link", name="Sign up").first.click()

    # A mistake first: the form says what is wrong and keeps what was typed.
    page.fill("#f-username", "Ada.Lovelace")
    page.fill("#f-email", "ada@example.org")
    page.fill("#f-password", "short")
    page.get_by_role("button", name="Sign up").click()
    assert page.locator(".field-error").first.inner_text() == "Passwords must be at least 8 characters."
    assert page.input_value("#f-username") == "Ada.Lovelace"
    page.fill("#f-password", "analytical engine")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(live_server + "/")
    assert page.get_by_role("heading", name="Hello, ada.lovelace").is_visible()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(live_server + "/")
    assert page.get_by_role("link", name="Log in").first.is_visible()

    page.goto(live_server + "/settings/profile")
    assert "/login?next=" in page.url
    page.fill("#f-login", "ADA@example.org")
    page.fill("#f-password", "analytical engine")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server + "/settings/profile")

    page.fill("#f-display_name", "Ada Lovelace")
    page.fill("#f-bio", "First programmer <script>alert(1)</script>")
    page.select_option("#f-locale", "zh_CN")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r".*/settings/profile\?saved=1$"))
    assert page.get_by_role("heading", name="编辑资料").is_visible()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    screenshot(page, "settings-zh")

    page.goto(live_server + "/@ada.lovelace")
    assert page.locator(".profile-name").inner_text() == "Ada Lovelace"
    assert "<script>alert(1)</script>" in page.locator(".profile-bio").inner_text()
    assert page.get_by_text("还没有帖子。").is_visible()
    screenshot(page, "profile-zh")

    # The footer picker switches back at once (JavaScript submits on change).
    page.select_option("#footer-locale", "en_US")
    page.wait_for_load_state("load")
    expect(page.locator("html")).to_have_attribute("lang", "en-US")
    assert page.get_by_text("No posts yet.").is_visible()
    assert errors == []


def test_phone_layout_has_bottom_navigation(live_server, browser, screenshot):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, color_scheme="dark")
    page = context.new_page()
    page.goto(live_server + "/signup")
    page.fill("#f-username", "grace")
    page.fill("#f-email", "grace@example.org")
    page.fill("#f-password", "cobol forever")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(live_server + "/")
    bottom = page.locator("nav.nav-bottom")
    assert bottom.is_visible()
    assert not page.locator("nav.nav-top").is_visible()
    box = bottom.bounding_box()
    assert box["y"] + box["height"] >= 844 - 1
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(14, 14, 17)"  # dark mode from prefers-color-scheme
    screenshot(page, "phone-dark")
