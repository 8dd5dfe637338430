"""What the browser tests share: the fixture images, signing up, sharing a photo and waiting on
the page."""

from __future__ import annotations

import re
import time

import pytest

from tests.helpers import FIXTURE_IMAGES_DIR

FIXTURES = FIXTURE_IMAGES_DIR
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def wait_until(page, predicate: str, timeout_secs: float = 10) -> None:
    deadline = time.monotonic() + timeout_secs
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        page.wait_for_timeout(50)


def sign_up(page, base: str, name: str) -> None:
    page.goto(base + "/signup")
    page.fill("#f-username", name)
    page.fill("#f-email", f"{name}@example.org")
    page.fill("#f-password", "long enough password")
    if page.locator("#f-accept_rules").count():  # a site with rules asks to accept them
        page.check("#f-accept_rules")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(base + "/")


def share_photo(page, base: str, fixture: str, caption: str = "") -> str:
    """Post one of the fixture images from the upload page; the new post's URL."""
    page.goto(base + "/upload")
    page.set_input_files("#f-photo", [str(FIXTURES / fixture)])
    if caption:
        page.fill("#f-caption", caption)
    page.get_by_role("button", name="Share").click()
    page.wait_for_url(re.compile(r".*/p/[0-9]+$"))
    return page.url


def need_fixture_images() -> None:
    if not FIXTURES.is_dir():
        pytest.skip(f"fixture images not found at {FIXTURES}")


def watched_pages(browser, count: int, width: int, height: int) -> tuple[list, list[str]]:
    """``count`` pages of ``width`` × ``height``, each in a browser context of its own (its own
    cookies: one person each); and the list that their script errors are collected in."""
    failures: list[str] = []
    pages = []
    for _ in range(count):
        page = browser.new_context(viewport={"width": width, "height": height}).new_page()
        page.on("pageerror", lambda exc: failures.append(str(exc)))
        pages.append(page)
    return pages, failures
