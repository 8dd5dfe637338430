"""A person forgets their password and resets it from the mail, turns on two-factor sign-in,
signs in with a code and with a recovery code, takes their data, and deletes the account."""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from pathlib import Path

import pyotp
import pytest

from tests.helpers import mail_text, wait_for_mail_sync

pytestmark = pytest.mark.browser

OLD = "long enough password"
NEW = "a new and better password"


def sign_in(page, base, password, *, code=None):
    page.goto(base + "/login")
    page.fill("#f-login", "alice")
    page.fill("#f-password", password)
    page.get_by_role("button", name="Log in").click()
    if code is not None:
        page.wait_for_url(base + "/login/code")
        page.fill("#f-code", code)
        page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/")


def sign_out(page, base):
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(base + "/")


def test_reset_two_factor_export_delete(smtp_sink, live_server, browser, screenshot):
    base = live_server
    errors: list[str] = []

    def watch(page):
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    # Alice signs up here, and is signed in on a second device too.
    page = watch(browser.new_context(locale="en-US").new_page())
    page.goto(base + "/signup")
    page.fill("#f-username", "alice")
    page.fill("#f-email", "alice@example.org")
    page.fill("#f-password", OLD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(base + "/")
    other = watch(browser.new_context(locale="en-US").new_page())
    sign_in(other, base, OLD)

    # Forgot password: the mail arrives at the SMTP server, the link sets a new one.
    reset = watch(browser.new_context(locale="en-US").new_page())
    reset.goto(base + "/login")
    reset.get_by_role("link", name="Forgot password?").click()
    reset.fill("#f-login", "alice@example.org")
    reset.get_by_role("button", name="Send me a link").click()
    assert "on its way" in reset.locator(".notice").inner_text()
    screenshot(reset, "account-forgot-sent")
    mails = wait_for_mail_sync(smtp_sink, "alice@example.org", 2)  # confirmation, then reset
    (reset_mail,) = [m for m in mails if "Reset" in m["Subject"]]
    link = re.search(r"http://\S+/reset\?token=\S+", mail_text(reset_mail)).group(0)
    reset.goto(link)
    reset.fill("#f-new_password", NEW)
    reset.fill("#f-confirm_password", NEW)
    screenshot(reset, "account-reset")
    reset.get_by_role("button", name="Set my new password").click()
    reset.wait_for_url(base + "/login?reset=1")
    assert "every device was signed out" in reset.locator(".notice").inner_text()
    # The old sessions are gone, on both devices.
    for device in (page, other):
        device.goto(base + "/settings/profile")
        assert "/login" in device.url
    wait_for_mail_sync(smtp_sink, "alice@example.org", 3)  # the notice of the reset

    # Two-factor sign-in, set up from the secret the page shows.
    sign_in(page, base, NEW)
    page.goto(base + "/settings/security")
    page.get_by_role("button", name="Set up two-factor sign-in").click()
    page.wait_for_url(re.compile(r".*/settings/security#setup$"))
    assert page.locator("img.totp-qr").evaluate("img => img.complete && img.naturalWidth > 0")
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    screenshot(page, "account-2fa-setup")
    page.fill("#f-code", totp.at(time.time() - 30))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()
    codes = page.locator(".recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    screenshot(page, "account-2fa-codes")
    page.get_by_role("link", name="I have saved them").click()
    sign_out(page, base)

    sign_in(page, base, NEW, code=totp.now())
    page.goto(base + "/settings/sessions")
    assert page.locator(".badge-on", has_text="Two-factor").count() == 1
    sign_out(page, base)
    sign_in(page, base, NEW, code=codes[0])

    # Take the data: the page follows the build live and offers the zip.
    page.goto(base + "/settings/export")
    page.get_by_role("button", name="Prepare my file").click()
    download_link = page.locator("a[download]")
    download_link.wait_for(timeout=30_000)
    screenshot(page, "account-export-ready")
    with page.expect_download() as info:
        download_link.click()
    assert info.value.suggested_filename.startswith("tornagram-alice-")
    archive = zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert json.loads(archive.read("profile.json"))["username"] == "alice"
    assert "index.html" in archive.namelist()

    # Leave: password and a code, and the account is gone everywhere.
    page.goto(base + "/settings/delete")
    page.fill("#f-username", "alice")
    page.fill("#f-password", NEW)
    page.fill("#f-code", codes[1])
    screenshot(page, "account-delete")
    page.get_by_role("button", name="Delete my account for good").click()
    assert page.get_by_role("heading", name="Your account is deleted").is_visible()
    response = page.goto(base + "/@alice")
    assert response.status == 404
    visitor = watch(browser.new_context(locale="en-US").new_page())
    visitor.goto(base + "/search?q=alice")
    assert "@alice" not in visitor.locator("main").inner_text()
    assert errors == []
