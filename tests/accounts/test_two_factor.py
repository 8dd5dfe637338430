"""Two-factor sign-in: setting it up, the code step of signing in, recovery codes, turning it off."""

from __future__ import annotations

import html
import re
import time

import pyotp
from sqlalchemy import update

from tests.helpers import DEFAULT_PASSWORD
from tornagram.accounts.models import AccountToken, User
from tornagram.accounts.throttle import MAX_FAILURES_PER_ACCOUNT
from tornagram.db.base import utcnow


def shown_secret(page: str) -> str:
    match = re.search(r'<code class="totp-secret" id="totp-secret">([^<]+)</code>', page)
    assert match, page
    return html.unescape(match.group(1)).replace(" ", "")


def code_at(secret: str, step_offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * step_offset)


async def turn_on(client) -> tuple[str, list[str]]:
    assert (await client.post("/settings/security/setup")).status_code == 303
    page = await client.get("/settings/security")
    assert 'src="data:image/svg+xml' in page.text
    secret = shown_secret(page.text)
    # One step back: the next code a test computes (the current step) is then still unused.
    done = await client.post("/settings/security/enable", {"code": code_at(secret, -1)})
    assert done.status_code == 200, done.text
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", done.text)
    assert len(codes) == 10
    return secret, codes


async def password_step(site, login="alice", password=DEFAULT_PASSWORD):
    client = site.client()
    response = await client.login(login, password)
    return client, response


async def test_setup_needs_a_right_first_code(site):
    alice = await site.user_client("alice")
    page = await alice.get("/settings/security")
    assert "Set up two-factor sign-in" in page.text
    await alice.post("/settings/security/setup")
    page = await alice.get("/settings/security")
    secret = shown_secret(page.text)
    assert page.headers["Cache-Control"] == "no-store"
    wrong = await alice.post("/settings/security/enable", {"code": "000000"})
    assert wrong.status_code == 400 and "not right" in wrong.text
    for bad in ("", "12345", "abcdef", "1" * 5000, "١٢٣٤٥٦"):
        assert (await alice.post("/settings/security/enable", {"code": bad})).status_code == 400
    # Still off: signing in asks for no code.
    _client, response = await password_step(site)
    assert response.headers["location"] == "/"
    # The same secret until it is confirmed (a reload shows the same QR code).
    assert shown_secret((await alice.get("/settings/security")).text) == secret


async def test_sign_in_with_a_code_then_with_a_recovery_code(site):
    alice = await site.user_client("alice")
    secret, codes = await turn_on(alice)
    page = await alice.get("/settings/security")
    assert "Recovery codes left: 10" in page.text

    client, response = await password_step(site)
    assert response.status_code == 303
    assert response.headers["location"] == "/login/code"
    assert client.session_cookie() is None  # no session yet
    assert (await client.get("/settings/profile")).status_code == 302
    assert (await client.get("/login/code")).status_code == 200
    signed = await client.post("/login/code", {"code": code_at(secret)})
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    sessions = await client.get("/settings/sessions")
    assert sessions.status_code == 200
    assert "Two-factor" in sessions.text

    other, _ = await password_step(site)
    ok = await other.post("/login/code", {"code": codes[0].upper().replace("-", " ")})
    assert ok.status_code == 303
    third, _ = await password_step(site)
    assert (await third.post("/login/code", {"code": codes[0]})).status_code == 400
    assert "Recovery codes left: 9" in (await alice.get("/settings/security")).text


async def test_a_code_works_once(site):
    alice = await site.user_client("alice")
    secret, _codes = await turn_on(alice)
    code = code_at(secret)
    first, _ = await password_step(site)
    assert (await first.post("/login/code", {"code": code})).status_code == 303
    second, _ = await password_step(site)
    replay = await second.post("/login/code", {"code": code})
    assert replay.status_code == 400
    # An older code than the last one used is refused too.
    assert (await second.post("/login/code", {"code": code_at(secret, -1)})).status_code == 400


async def test_the_code_step_is_bound_to_the_browser_and_short_lived(site):
    alice = await site.user_client("alice")
    secret, _ = await turn_on(alice)
    stranger = site.client()
    no_step = await stranger.post("/login/code", {"code": code_at(secret)})
    assert no_step.status_code == 400 and "took too long" in no_step.text
    assert (await stranger.get("/login/code")).status_code == 302
    forged = site.client()
    forged.http.cookies.set("signin_step", "2|1:0|10:1|11:signin_step|4:eA==|deadbeef", path="/login")
    assert (await forged.post("/login/code", {"code": code_at(secret)})).status_code == 400

    client, _ = await password_step(site)
    async with site.ctx.db.write() as session:
        await session.execute(update(AccountToken).values(expires_at=utcnow()))
    late = await client.post("/login/code", {"code": code_at(secret)})
    assert late.status_code == 400 and "took too long" in late.text
    assert client.session_cookie() is None


async def test_wrong_codes_count_toward_the_login_throttle(site):
    alice = await site.user_client("alice")
    secret, _ = await turn_on(alice)
    client, _ = await password_step(site)
    statuses = [
        (await client.post("/login/code", {"code": "000000"})).status_code
        for _ in range(MAX_FAILURES_PER_ACCOUNT + 1)
    ]
    assert statuses[:MAX_FAILURES_PER_ACCOUNT] == [400] * MAX_FAILURES_PER_ACCOUNT
    assert statuses[-1] == 429
    # The right password does not reset the count, and neither does a right code now.
    _again, response = await password_step(site)
    assert response.status_code == 429
    assert (await client.post("/login/code", {"code": code_at(secret)})).status_code == 429


async def test_turning_off_needs_the_password_and_a_code(site):
    alice = await site.user_client("alice")
    secret, codes = await turn_on(alice)
    wrong_pw = await alice.post("/settings/security/disable", {"password": "nope nope", "code": code_at(secret)})
    assert wrong_pw.status_code == 400 and "password is not right" in wrong_pw.text
    wrong_code = await alice.post("/settings/security/disable", {"password": DEFAULT_PASSWORD, "code": "123456"})
    assert wrong_code.status_code == 400
    off = await alice.post("/settings/security/disable", {"password": DEFAULT_PASSWORD, "code": codes[3]})
    assert off.status_code == 303
    async with site.ctx.db.read() as session:
        user = (await session.execute(User.__table__.select())).one()
    assert user.totp_secret is None
    _client, response = await password_step(site)
    assert response.headers["location"] == "/"


async def test_regenerating_codes_voids_the_old_ones(site):
    alice = await site.user_client("alice")
    secret, old = await turn_on(alice)
    page = await alice.post("/settings/security/codes", {"code": code_at(secret)})
    assert page.status_code == 200
    new = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", page.text)
    assert len(new) == 10 and not set(new) & set(old)
    client, _ = await password_step(site)
    assert (await client.post("/login/code", {"code": old[0]})).status_code == 400
    assert (await client.post("/login/code", {"code": new[0]})).status_code == 303
    assert (await alice.post("/settings/security/codes", {"code": "000000"})).status_code == 400


async def test_forms_need_xsrf_and_a_member(site):
    visitor = site.client()
    await visitor.xsrf()
    for path in ("/settings/security/setup", "/settings/security/enable",
                 "/settings/security/disable", "/settings/security/codes", "/login/code"):
        assert (await visitor.post(path, {"code": "1"}, xsrf=False)).status_code == 403, path
    assert (await visitor.get("/settings/security")).status_code == 302
    assert (await visitor.post("/settings/security/setup")).status_code == 403


async def test_a_password_reset_ends_a_half_done_sign_in(site, smtp_sink):
    alice = await site.user_client("alice")
    secret, _ = await turn_on(alice)
    client, _ = await password_step(site)
    link = await site.ctx.recovery.reset_link_for("alice")
    token = link.split("token=", 1)[1]
    done = await site.client().post("/reset", {"token": token, "new_password": "another password", "confirm_password": "another password"})
    assert done.status_code == 303
    assert (await client.post("/login/code", {"code": code_at(secret)})).status_code == 400


async def test_wrong_codes_in_settings_count_toward_the_throttle_too(site):
    alice = await site.user_client("alice")
    secret, codes = await turn_on(alice)
    statuses = [
        (await alice.post("/settings/security/disable",
                          {"password": DEFAULT_PASSWORD, "code": "000000"})).status_code
        for _ in range(MAX_FAILURES_PER_ACCOUNT)
    ]
    assert statuses == [400] * MAX_FAILURES_PER_ACCOUNT
    # Now even a right code is refused for a while, here and on the delete form.
    refused = await alice.post("/settings/security/disable", {"password": DEFAULT_PASSWORD, "code": codes[0]})
    assert refused.status_code == 429 and "Too many" in refused.text
    assert (await alice.post("/settings/security/codes", {"code": code_at(secret)})).status_code == 429
    deleting = await alice.post("/settings/delete", {"username": "alice", "password": DEFAULT_PASSWORD, "code": codes[0]})
    assert deleting.status_code == 429
    assert (await site.client().get("/@alice")).status_code == 200
