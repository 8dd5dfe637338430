"""An admin names the site, writes its rules and asks for approval; a newcomer must tick the
rules, waits, is approved by a moderator and mailed; another comes in through an invite."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.helpers import mail_text, wait_for_mail_sync

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "long enough password"


def make_admin(tmp_path, name: str) -> None:
    made = subprocess.run(
        [sys.executable, "-m", "tornagram", "createuser", name, "--email", f"{name}@example.org",
         "--role", "admin", "--password-stdin"],
        cwd=ROOT, env={**os.environ, "TORNAGRAM_DATA_DIR": str(tmp_path / "data")},
        input=PASSWORD + "\n", capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr


def log_in(page, base: str, name: str, next_path: str = "/") -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.fill("#f-login", name)
    page.fill("#f-password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + next_path)


def test_rules_approval_and_invites(live_server, browser, tmp_path, smtp_sink, screenshot):
    base = live_server
    pages = [browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
             for _ in range(3)]  # fmt: skip
    admin, newcomer, invited = pages
    failures: list[str] = []
    for page in pages:
        page.on("pageerror", lambda exc: failures.append(str(exc)))
    make_admin(tmp_path, "ruth")
    log_in(admin, base, "ruth", "/admin/settings")
    admin.fill("#f-name", "Harbour Club")
    admin.get_by_role("button", name="Add a rule").click()
    admin.fill("#rule-0", "No ads.")
    admin.get_by_role("button", name="Add a rule").click()
    admin.fill("#rule-1", "Be kind.")
    # Be kind first: the order is the admin's.
    admin.get_by_role("button", name="Move rule 2 up").click()
    expect(admin.locator("#rule-0")).to_have_value("Be kind.")
    expect(admin.locator("#f-name")).to_have_value("Harbour Club")  # kept across the buttons
    admin.get_by_label("Approval required").check()
    admin.fill("#f-approval_question", "Which boat are you on?")
    admin.get_by_role("button", name="Save").click()
    expect(admin.locator(".notice")).to_contain_text("Saved")
    expect(admin.locator(".brand")).to_contain_text("Harbour Club")

    newcomer.goto(base + "/signup")
    expect(newcomer.locator(".site-rules li")).to_have_text(["Be kind.", "No ads."])
    newcomer.fill("#f-username", "nell")
    newcomer.fill("#f-email", "nell@example.org")
    newcomer.fill("#f-password", PASSWORD)
    newcomer.fill("#f-answer", "The red one")
    newcomer.get_by_role("button", name="Sign up").click()
    expect(newcomer.locator("#e-accept_rules")).to_contain_text("tick the box")
    expect(newcomer.locator("#f-answer")).to_have_value("The red one")
    newcomer.get_by_label("I accept the rules").check()
    newcomer.get_by_role("button", name="Sign up").click()
    newcomer.wait_for_url(base + "/waiting")
    newcomer.goto(base + "/explore")
    assert newcomer.url == base + "/waiting"

    admin.goto(base + "/admin/approvals")
    expect(admin.locator("[data-pending=nell]")).to_contain_text("The red one")
    screenshot(admin, "site-approvals")
    admin.get_by_role("button", name="Approve @nell").click()
    expect(admin.locator("[data-pending]")).to_have_count(0)
    (message,) = wait_for_mail_sync(smtp_sink, "nell@example.org", 2)[1:]
    assert "Harbour Club" in message["Subject"] and "approved" in mail_text(message)
    newcomer.goto(base + "/explore")
    assert newcomer.url == base + "/explore"

    admin.goto(base + "/invites")
    admin.get_by_role("button", name="Make a link").click()
    link = admin.locator(".notice .invite-url").input_value()
    invited.goto(link)
    expect(invited.locator(".notice")).to_contain_text("You were invited")
    invited.fill("#f-username", "ines")
    invited.fill("#f-email", "ines@example.org")
    invited.fill("#f-password", PASSWORD)
    invited.get_by_label("I accept the rules").check()
    invited.get_by_role("button", name="Sign up").click()
    invited.wait_for_url(base + "/")  # invited: no waiting
    assert re.search(r"1 of 1 used", (admin.goto(base + "/invites"), admin.content())[1])
    assert failures == []
