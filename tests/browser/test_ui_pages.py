"""What a person sees on the main pages: one dialog per action, nothing hidden showing, no
sideways scrolling on a phone, and every place reachable."""

from __future__ import annotations

import pytest

from tests.browser.test_photos_browser import sign_up

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
