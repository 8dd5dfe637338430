"""What the browser tests share: the fixture images, signing up and waiting on the page."""

from __future__ import annotations

import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "images"


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
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(base + "/")
