"""Shoot the main pages as a person sees them, for looking at before and after a change.

Starts a server on a throw-away SQLite data dir and a free port, seeds two people, a few posts
(the shared fixture photos when present, generated ones otherwise), comments, a follow and a
room, a report and a suspension (alice is made an admin from the command line), then
photographs home, explore, photo, profile, upload, notifications, rooms, the settings
pages (profile, email, password, devices, security with a two-factor setup under way, apps,
export, delete, muted), the report form, the moderators' pages (/admin), the suspended
notice and, signed out, the landing, log-in, forgot-password and dead-link pages, on a phone
(390x844) and a desktop (1440x900), in English and Chinese, light and dark, into
test-results/screens/. Run with `make screenshots`; `SCREENS_ONLY=security,forgot` shoots only
the pages named.
The Chinese pages need a CJK font on the machine (Debian: fonts-noto-cjk), or every character
shows as a box.
"""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "test-results" / "screens"
FIXTURES = ROOT.parent / "shared" / "fixtures" / "images"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
VIEWPORTS = {"phone": (390, 844), "desktop": (1440, 900)}
LOCALES = {"en": "en_US", "zh": "zh_CN"}
SCHEMES = ("light", "dark")
PASSWORD = "correct horse battery"  # noqa: S105 - a throw-away account on a temp data dir
SERVER_START_TIMEOUT_SECS = 30
ONLY = {name for name in os.environ.get("SCREENS_ONLY", "").split(",") if name}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_SECS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the server exited before answering /healthz")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):  # noqa: S310 - our own http URL
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not answer /healthz")


def photo_files(tmp: Path) -> list[Path]:
    """Real-world fixtures where the repository sits beside them, otherwise generated images."""
    wanted = ["camera-gps.jpg", "panorama.jpg", "orientation-6.jpg", "icc-srgb.jpg",
              "progressive.jpg", "iphone-like.heic", "grayscale.jpg"]
    found = [FIXTURES / name for name in wanted if (FIXTURES / name).exists()]
    if len(found) >= 4:
        return found
    from PIL import Image, ImageDraw

    made = []
    for i, (w, h) in enumerate([(1200, 1500), (1600, 1000), (1080, 1080), (900, 1350)]):
        img = Image.new("RGB", (w, h), (40 + 50 * i, 120, 200 - 40 * i))
        draw = ImageDraw.Draw(img)
        for k in range(0, w, 80):
            draw.ellipse((k, h // 3, k + 60, h // 3 + 60), fill=(250, 230 - 30 * i, 90))
        path = tmp / f"generated-{i}.jpg"
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        path.write_bytes(buf.getvalue())
        made.append(path)
    return made


def sign_up(browser, base: str, username: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(base + "/signup")
    page.fill("#f-username", username)
    page.fill("#f-email", f"{username}@example.com")
    page.fill("#f-password", PASSWORD)
    if page.locator("#f-answer").count():
        page.fill("#f-answer", "I row with the Tuesday group.")
    if page.locator("#f-accept_rules").count():
        page.check("#f-accept_rules")
    # Wait for the answer itself: signing up hashes a password and queues a mail.
    with page.expect_navigation(url=lambda url: "/signup" not in url, timeout=60_000):
        page.locator("#f-password").evaluate("el => el.form.requestSubmit()")
    return context, page


def log_in(page, base: str, username: str) -> None:
    page.goto(base + "/login")
    page.fill("#f-login", username)
    page.fill("#f-password", PASSWORD)
    with page.expect_navigation():
        page.locator("#f-password").evaluate("el => el.form.requestSubmit()")


def moderate(browser, base: str, env: dict, alice, carol, bob_post: str) -> tuple[str, dict]:
    """alice becomes an admin; carol reports bob's post; dave is suspended and signs in again.
    The report's admin page and dave's browser state, for the shots."""
    subprocess.run([sys.executable, "-m", "tornagram", "set-role", "alice", "admin"], cwd=ROOT,
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # A new sign-in reads the new role (the running server never heard of the change).
    with alice.expect_navigation():
        alice.locator("form[action='/logout'] button").first.click()
    log_in(alice, base, "alice")
    post_id = bob_post.rsplit("/", 1)[1]
    carol.goto(f"{base}/report?kind=post&id={post_id}")
    carol.check("input[name=reason][value=spam]")
    carol.fill("#report-note", "The same photo is posted under every tag.")
    with carol.expect_navigation():
        carol.locator("#report-note").evaluate("el => el.form.requestSubmit()")
    dave_ctx, dave = sign_up(browser, base, "dave")
    dave.wait_for_url(base + "/")
    alice.goto(base + "/@dave")  # muted, so /settings/muted lists someone
    with alice.expect_navigation():
        alice.locator("form[action='/@dave/mute'] button").evaluate("b => b.form.requestSubmit()")
    alice.goto(base + "/admin/users?q=dave")
    with alice.expect_navigation():
        alice.locator(".admin-row-main").first.click()
    alice.fill("#note-suspend", "Sent the same link to fifty people")
    with alice.expect_navigation():
        alice.locator("#note-suspend").evaluate("el => el.form.requestSubmit()")
    log_in(dave, base, "dave")
    state = dave_ctx.storage_state()
    dave_ctx.close()
    alice.goto(base + "/admin/reports")
    report = alice.locator("[data-report] a").first.get_attribute("href")
    return report, state


def run_the_site(browser, base: str, alice) -> tuple[dict, str]:
    """alice (an admin) names the site, writes its rules and asks for approval; erin signs
    up and waits; alice makes an invite link. erin's browser state, and the sign-up page's
    invite URL, for the shots."""
    alice.goto(base + "/admin/settings")
    alice.fill("#f-name", "Riverside Photo Club")
    alice.fill("#f-description", "Photos from the river, the rowing and the people around it.")
    alice.fill("#f-contact_email", "club@example.org")
    rules = ("Be kind: critique the photo, never the person.",
             "Post only photos you took, or have the right to share.",
             "No ads, no spam, no chain posts.")
    for i, rule in enumerate(rules):
        with alice.expect_navigation():
            alice.click("button[value=add]")
        alice.fill(f"#rule-{i}", rule)
    alice.check("input[name=registration][value=approval]")
    alice.fill("#f-approval_question", "Which rowing group are you in?")
    alice.check("input[name=members_may_invite]")
    with alice.expect_navigation():
        alice.locator("#f-name").evaluate("el => el.form.requestSubmit()")
    erin_ctx, erin = sign_up(browser, base, "erin")
    erin.wait_for_url(base + "/waiting")
    state = erin_ctx.storage_state()
    erin_ctx.close()
    alice.goto(base + "/invites")
    alice.select_option("#invite-uses", "5")
    with alice.expect_navigation():
        alice.click(".invite-form button[type=submit]")
    invite = alice.locator(".notice .invite-url").input_value()
    return state, invite.removeprefix(base)


def post_photos(page, base: str, files: list[Path], caption: str) -> str:
    page.goto(base + "/upload")
    page.set_input_files("#f-photo", [str(f) for f in files])
    page.fill("#f-caption", caption)
    with page.expect_navigation(url=re.compile(r"/p/\d+"), timeout=60_000):
        page.click("#upload-submit")
    return page.url


def seed(browser, base: str, tmp: Path, env: dict) -> dict:
    files = photo_files(tmp)
    alice_ctx, alice = sign_up(browser, base, "alice")
    bob_ctx, bob = sign_up(browser, base, "bob")
    carol_ctx, carol = sign_up(browser, base, "carol")
    bob_post = post_photos(bob, base, files[1:2], "Evening light over the river #上海 #sunset")
    first = post_photos(alice, base, files[:3], "A walk by the Bund #上海 #travel with @bob")
    for path in files[3:]:
        post_photos(alice, base, [path], "Another one from the trip #travel")
    for page, text in [(bob, "Beautiful colours!"), (carol, "Where is this? 🤩"),
                       (bob, "Looks like the Bund at dusk"), (carol, "Love it")]:
        page.goto(first)
        form = page.locator("form.comment-form, form[action$='/comments']").first
        form.locator("textarea, input[name=body]").first.fill(text)
        form.locator("button[type=submit]").first.click()
        # Sent by script: wait until it is on the page, or leaving would cancel it.
        page.locator(".comment", has_text=text).first.wait_for()
    for page in (bob, carol):
        page.goto(base + "/@alice")
        follow = page.locator("form[action$='/follow'] button")
        if follow.count():
            follow.first.click()
            page.wait_for_load_state()
    # A room with a cover and a message, so /rooms has something to show.
    alice.goto(base + "/rooms")
    if alice.locator("#f-title").count():
        alice.fill("#f-title", "Shanghai walks")
        alice.fill("#f-slug", "shanghai-walks")
        cover = alice.locator("#f-cover option")
        if cover.count() > 1:
            alice.select_option("#f-cover", index=1)
        alice.locator("#f-slug").evaluate("el => el.form.requestSubmit()")
        alice.wait_for_load_state()
    # Two-factor sign-in half set up, so the security page shows its QR code.
    alice.goto(base + "/settings/security")
    alice.locator("form[action$='/settings/security/setup'] button").click()
    alice.wait_for_load_state()

    # An app alice has authorized (out of band, so nothing leaves this machine), and the
    # consent page of another that asks.
    consent = authorize_an_app(alice, base)
    report, suspended = moderate(browser, base, env, alice, carol, bob_post)
    waiting, invite = run_the_site(browser, base, alice)
    state = alice_ctx.storage_state()
    for ctx in (alice_ctx, bob_ctx, carol_ctx):
        ctx.close()
    return {"post": first.removeprefix(base), "state": state, "consent": consent,
            "report": report,
            "report_form": "/report?kind=post&id=" + bob_post.rsplit("/", 1)[1],
            "suspended_state": suspended, "waiting_state": waiting, "invite": invite}


def register_app(page, base: str, name: str) -> str:
    response = page.request.post(base + "/api/v1/apps", form={
        "client_name": name, "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": "read write follow", "website": "https://photos.example"})
    return response.json()


def authorize_an_app(page, base: str) -> str:
    from urllib.parse import urlencode

    def consent_url(client_id: str) -> str:
        return "/oauth/authorize?" + urlencode({
            "client_id": client_id, "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
            "response_type": "code", "scope": "read write follow"})

    page = page.context.new_page()  # the room form may still be navigating the other one
    app = register_app(page, base, "Photos for iPhone")
    page.goto(base + consent_url(app["client_id"]))
    page.click("button[value=approve]")
    page.wait_for_load_state()
    code = page.locator("#oauth-code").input_value()
    page.request.post(base + "/oauth/token", form={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": "urn:ietf:wg:oauth:2.0:oob"})
    return consent_url(register_app(page, base, "Elk")["client_id"])


def load_every_image(page) -> None:
    """A full-page shot is one screen tall to the browser: lazy images below it would show as
    their placeholders, so ask for all of them first."""
    page.wait_for_load_state("networkidle")
    page.evaluate("document.querySelectorAll('img[loading=lazy]')"
                  ".forEach(img => { img.loading = 'eager'; })")
    page.wait_for_load_state("networkidle")
    page.evaluate("Promise.all([...document.images].map(img => img.decode().catch(() => null)))")


def shoot(browser, base: str, seeded: dict) -> list[Path]:
    pages = {
        "home": "/", "explore": "/explore", "photo": seeded["post"], "profile": "/@alice",
        "upload": "/upload", "notifications": "/notifications", "rooms": "/rooms",
        "settings": "/settings/profile", "sessions": "/settings/sessions",
        "email": "/settings/email", "security": "/settings/security",
        "export": "/settings/export", "delete": "/settings/delete",
        "apps": "/settings/apps", "consent": seeded["consent"],
        "oauth-code": "/oauth/authorize/native?code=Xq3v9JmR2cLw8TnB5yHs1kPd7fGa4eZo6uWi0rVb",
        "muted": "/settings/muted",
        "report": seeded["report_form"], "admin-reports": "/admin/reports",
        "admin-report": seeded["report"], "admin-users": "/admin/users", "admin-log": "/admin/log",
        "admin-settings": "/admin/settings", "admin-approvals": "/admin/approvals",
        "invites": "/invites", "about": "/about",
    }
    signed_out = {"landing": "/", "login": "/login", "forgot": "/forgot",
                  "bad-link": "/reset?token=expired", "signup": "/signup",
                  "signup-invite": seeded["invite"], "signup-bad-invite": "/signup?invite=gone"}
    if ONLY:
        pages = {k: v for k, v in pages.items() if k in ONLY}
        signed_out = {k: v for k, v in signed_out.items() if k in ONLY}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    shots = []
    for lang, locale_code in LOCALES.items():
        for device, (width, height) in VIEWPORTS.items():
            for scheme in SCHEMES:
                context = browser.new_context(
                    viewport={"width": width, "height": height}, color_scheme=scheme,
                    device_scale_factor=1, storage_state=seeded["state"],
                    locale="zh-CN" if lang == "zh" else "en-US",
                    is_mobile=device == "phone", has_touch=device == "phone",
                )
                context.add_cookies([{"name": "lang", "value": locale_code, "url": base}])
                page = context.new_page()
                for name, path in pages.items():
                    page.goto(base + path)
                    load_every_image(page)
                    out = OUT_DIR / f"{name}-{device}-{lang}-{scheme}.png"
                    page.screenshot(path=str(out), full_page=True)
                    shots.append(out)
                context.close()
                # What a suspended account, and one waiting for approval, see whatever they open.
                for restricted in ("suspended", "waiting"):
                    if ONLY and restricted not in ONLY:
                        continue
                    suspended = browser.new_context(
                        viewport={"width": width, "height": height}, color_scheme=scheme,
                        storage_state=seeded[f"{restricted}_state"], is_mobile=device == "phone",
                        locale="zh-CN" if lang == "zh" else "en-US",
                    )
                    suspended.add_cookies([{"name": "lang", "value": locale_code, "url": base}])
                    page = suspended.new_page()
                    page.goto(base + "/")
                    page.wait_for_load_state("networkidle")
                    out = OUT_DIR / f"{restricted}-{device}-{lang}-{scheme}.png"
                    page.screenshot(path=str(out), full_page=True)
                    shots.append(out)
                    suspended.close()
                # Signed out: the landing as a visitor first sees it, and the way back in.
                visitor = browser.new_context(viewport={"width": width, "height": height},
                                              color_scheme=scheme, is_mobile=device == "phone",
                                              locale="zh-CN" if lang == "zh" else "en-US")
                visitor.add_cookies([{"name": "lang", "value": locale_code, "url": base}])
                page = visitor.new_page()
                for name, path in signed_out.items():
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    load_every_image(page)
                    out = OUT_DIR / f"{name}-{device}-{lang}-{scheme}.png"
                    page.screenshot(path=str(out), full_page=True)
                    shots.append(out)
                visitor.close()
    return shots


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="tornagram-screens-") as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {**os.environ, "TORNAGRAM_COOKIE_SECRET": "screenshots-secret-" + "s" * 32,
               "TORNAGRAM_DATA_DIR": str(tmp / "data"), "TORNAGRAM_PORT": str(port),
               "TORNAGRAM_SIGNUP_IP_BURST": "100000"}
        subprocess.run([sys.executable, "-m", "tornagram", "migrate"], cwd=ROOT, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        # The access log goes to a file: an unread pipe would fill up and stall the server.
        log = (tmp / "server.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", "tornagram", "serve"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, text=True)
        try:
            wait_healthy(base, proc)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
                try:
                    seeded = seed(browser, base, tmp, env)
                    shots = shoot(browser, base, seeded)
                finally:
                    browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
    print(f"{len(shots)} screenshots in {OUT_DIR.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
