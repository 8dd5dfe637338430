"""A member reports a post, a moderator suspends its author from the queue, and the author's
photo is gone from a third person's home, explore and the photo page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.support import FIXTURES, sign_up

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


def test_report_suspend_and_the_photo_disappears(live_server, browser, tmp_path, screenshot):
    if not FIXTURES.is_dir():
        pytest.skip(f"fixture images not found at {FIXTURES}")
    pages = [browser.new_context(viewport={"width": 1100, "height": 900}).new_page() for _ in range(4)]
    author, viewer, reporter, moderator = pages
    failures: list[str] = []
    for page in pages:
        page.on("pageerror", lambda exc: failures.append(str(exc)))

    sign_up(author, live_server, "wren")
    author.goto(live_server + "/upload")
    author.set_input_files("#f-photo", [str(FIXTURES / "progressive.jpg")])
    author.fill("#f-caption", "Cheap watches #deals")
    author.get_by_role("button", name="Share").click()
    author.wait_for_url(re.compile(r".*/p/[0-9]+$"))
    photo_url = author.url

    sign_up(viewer, live_server, "tui")
    viewer.goto(live_server + "/@wren")
    viewer.get_by_role("button", name="Follow").first.click()
    expect(viewer.locator("[data-follow-state='following']")).to_have_count(1)
    post_link = viewer.locator(f"a[href='{photo_url.removeprefix(live_server)}']")
    for path in ("/", "/explore"):
        viewer.goto(live_server + path)
        expect(post_link.first).to_be_visible()

    sign_up(reporter, live_server, "kea")
    reporter.goto(photo_url)
    reporter.get_by_role("link", name="Report this post").click()
    reporter.get_by_label("Spam").check()
    reporter.fill("#report-note", "Same post in every tag")
    reporter.get_by_role("button", name="Send report").click()
    expect(reporter.locator(".notice")).to_contain_text("Thank you")

    made = subprocess.run(
        [sys.executable, "-m", "tornagram", "createuser", "mona", "--email", "mona@example.org",
         "--role", "moderator", "--password-stdin"],
        cwd=ROOT, env={**os.environ, "TORNAGRAM_DATA_DIR": str(tmp_path / "data")},
        input="long enough password\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    moderator.goto(live_server + "/login?next=/admin/reports")
    moderator.fill("#f-login", "mona")
    moderator.fill("#f-password", "long enough password")
    moderator.get_by_role("button", name="Log in").click()
    moderator.wait_for_url(live_server + "/admin/reports")
    moderator.locator("[data-report] a").first.click()
    expect(moderator.locator(".admin-note").first).to_contain_text("Same post in every tag")
    moderator.get_by_label("Suspend the account").check()
    moderator.fill("#resolve-note", "Spam wave")
    screenshot(moderator, "moderation-report")
    moderator.get_by_role("button", name="Resolve").click()
    moderator.wait_for_url(live_server + "/admin/reports")
    expect(moderator.locator("[data-report]")).to_have_count(0)

    for path in ("/", "/explore"):
        viewer.goto(live_server + path)
        expect(post_link).to_have_count(0)
    assert viewer.goto(photo_url).status == 404
    # The author is signed out, and signing in again shows only the notice.
    author.goto(live_server + "/")
    author.goto(live_server + "/login")
    author.fill("#f-login", "wren")
    author.fill("#f-password", "long enough password")
    author.get_by_role("button", name="Log in").click()
    author.wait_for_url(live_server + "/suspended")
    expect(author.locator("h1")).to_contain_text("suspended")
    # The reporter was told it was handled.
    reporter.goto(live_server + "/notifications")
    expect(reporter.locator(".notif-list")).to_contain_text("handled your report")
    assert failures == []
