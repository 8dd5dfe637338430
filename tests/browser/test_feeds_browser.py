"""Infinite scroll in a real browser: scrolling to the "Older posts" link appends the next page
in place, with its placeholders painted, and the link keeps working without JavaScript."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from tests.helpers import ROOT, free_port, wait_healthy
from tornagram.feeds.seed import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def seeded_server(tmp_path):
    data_dir = tmp_path / "data"
    env = {**os.environ, "TORNAGRAM_COOKIE_SECRET": "browser-test-secret-" + "y" * 32}
    subprocess.run(
        [sys.executable, "-m", "tornagram", "seed", "--data-dir", str(data_dir),
         "--users", "20", "--posts", "120", "--follows", "12"],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tornagram", "serve", "--data-dir", str(data_dir),
         "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    with sqlite3.connect(data_dir / "tornagram.db") as db:
        # The account following the most people: its home feed has several pages.
        reader = db.execute("SELECT username FROM users ORDER BY following_count DESC").fetchone()
    try:
        wait_healthy(port, proc)
        yield f"http://127.0.0.1:{port}", reader[0]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def count(page, selector: str) -> int:
    return page.evaluate(f"document.querySelectorAll({selector!r}).length")


def scroll_until_more(page, selector: str, more_than: int) -> None:
    for _ in range(100):
        if count(page, selector) > more_than:
            return
        page.mouse.wheel(0, 4000)
        page.wait_for_timeout(100)
    raise AssertionError(f"no more than {more_than} of {selector} after scrolling")


def test_explore_and_home_load_older_posts_as_you_scroll(seeded_server, browser):
    base, reader = seeded_server
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(base + "/explore")
    # The next page is fetched before the reader gets near the end (1200 px ahead).
    scroll_until_more(page, ".grid-item", 12)
    scroll_until_more(page, ".grid-item", 48)
    assert page.url == base + "/explore"  # appended in place, no navigation
    ids = page.evaluate(
        "[...document.querySelectorAll('.grid-item')].map(a => a.getAttribute('href'))"
    )
    assert len(ids) == len(set(ids))  # no post twice
    # Appended images get their placeholders too.
    assert (
        page.evaluate("document.querySelectorAll('.grid-item img:not([data-painted])').length") == 0
    )

    # Signed in, the home feed's cards arrive the same way.
    page.goto(base + "/login")
    page.fill("#f-login", reader)
    page.fill("#f-password", DEFAULT_PASSWORD)
    page.locator("form[action^='/login'] button[type=submit]").click()
    page.wait_for_url(base + "/")
    scroll_until_more(page, "[data-items] > article", 24)
    assert errors == []

    # Without JavaScript the link is an ordinary link to the next page.
    plain = browser.new_context(java_script_enabled=False).new_page()
    plain.goto(base + "/explore")
    plain.click("a[rel=next]")
    assert "max_id=" in plain.url and count(plain, ".grid-item") > 0
