"""A real server process and Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.support import CHROMIUM_FLAGS
from tests.helpers import ROOT, SmtpSink, free_port, require, wait_healthy

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT_DIR = ROOT / "test-results"


@pytest.fixture
def live_server(tmp_path, request):
    port = free_port()
    env = {
        **os.environ,
        "TORNAGRAM_COOKIE_SECRET": "browser-test-secret-" + "y" * 32,
        "TORNAGRAM_DATA_DIR": str(tmp_path / "data"),
        "TORNAGRAM_PORT": str(port),
        # Every browser test signs people up from 127.0.0.1.
        "TORNAGRAM_SIGNUP_IP_BURST": "100000",
    }
    # A test that reads the site's mail asks for ``smtp_sink`` first; the server sends there.
    if "smtp_sink" in request.fixturenames:
        env["TORNAGRAM_SMTP_URL"] = request.getfixturevalue("smtp_sink").url
        env["TORNAGRAM_SITE_URL"] = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([sys.executable, "-m", "tornagram", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def browser():
    require(Path(CHROMIUM).exists() or shutil.which("chromium") is not None, "Chromium",
            f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def screenshot():
    SCREENSHOT_DIR.mkdir(exist_ok=True)

    def take(page, name: str) -> None:
        page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=True)

    return take
