"""Forgot password: the mailed link, its single use and expiry, and what completing it does."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import update

from tests.helpers import DEFAULT_PASSWORD, form_error, mail_html, mail_text, mailed_link
from tornagram.accounts.models import AccountToken
from tornagram.db.base import utcnow

NEW_PASSWORD = "a brand new password"


async def ask(client, login: str):
    return await client.post("/forgot", {"login": login})


async def reset_link(site, smtp_sink, username: str) -> str:
    client = site.client()
    response = await ask(client, username)
    assert response.status_code == 200
    (message,) = await smtp_sink.wait_for(f"{username}@example.org", about="/reset?token=")
    return mailed_link(message, "/reset")


async def test_forgot_link_on_login_page(site):
    page = await site.client().get("/login")
    assert 'href="/forgot"' in page.text
    assert (await site.client().get("/forgot")).status_code == 200


async def test_reset_mail_is_multipart_in_the_persons_language_from_the_site_url(site, smtp_sink):
    alice = await site.user_client("alice")
    await alice.post("/settings/profile", {"display_name": "", "bio": "", "locale": "zh_CN"})
    response = await ask(site.client(), "ALICE@example.org")
    assert response.status_code == 200
    (message,) = await smtp_sink.wait_for("alice@example.org", about="/reset?token=")
    assert message["From"] == "Tornagram <photos@example.org>"
    assert message.get_content_type() == "multipart/alternative"
    assert "密码" in message["Subject"]
    assert "https://photos.example.org/reset?token=" in mail_text(message)
    assert "https://photos.example.org/reset?token=" in mail_html(message)


async def test_same_answer_for_unknown_address_and_nothing_sent(site, smtp_sink):
    await site.user_client("alice")
    known = await ask(site.client(), "alice@example.org")
    unknown = await ask(site.client(), "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    strip = lambda html: html.split("<main", 1)[1].split('name="_xsrf"')[0]  # noqa: E731
    assert strip(known.text) == strip(unknown.text)
    await smtp_sink.wait_for("alice@example.org", about="/reset?token=")
    await site.ctx.recovery.close()  # every background lookup finished
    assert smtp_sink.to("nobody@example.org") == []


async def test_reset_signs_out_every_session_and_mails_a_notice(site, smtp_sink):
    alice = await site.user_client("alice")
    other_device = site.client()
    await other_device.login("alice")
    assert (await other_device.get("/settings/profile")).status_code == 200
    path = await reset_link(site, smtp_sink, "alice")

    browser = site.client()
    page = await browser.get(path)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"
    token = path.split("token=", 1)[1]
    response = await browser.post(
        "/reset", {"token": token, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login?reset=1"
    # Not signed in by the link itself.
    assert browser.session_cookie() is None
    for client in (alice, other_device):
        assert (await client.get("/settings/profile")).status_code == 302
    assert (await site.client().login("alice")).status_code == 400
    assert (await site.client().login("alice", NEW_PASSWORD)).status_code == 303
    (notice,) = await smtp_sink.wait_for("alice@example.org", about="/forgot")
    assert "signed out" in mail_text(notice)


async def test_link_works_once(site, smtp_sink):
    await site.user_client("alice")
    token = (await reset_link(site, smtp_sink, "alice")).split("token=", 1)[1]
    client = site.client()
    data = {"token": token, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert (await client.post("/reset", data)).status_code == 303
    again = await client.post("/reset", dict(data, new_password="x" * 12, confirm_password="x" * 12))
    assert again.status_code == 400
    assert "does not work" in again.text
    assert (await client.get("/reset?token=" + token)).status_code == 400


async def test_expired_link_is_refused(site, smtp_sink):
    await site.user_client("alice")
    path = await reset_link(site, smtp_sink, "alice")
    async with site.ctx.db.write() as session:
        await session.execute(
            update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
    page = await site.client().get(path)
    assert page.status_code == 400
    assert "expired" in page.text


async def test_link_dies_when_the_password_changes(site, smtp_sink):
    alice = await site.user_client("alice")
    path = await reset_link(site, smtp_sink, "alice")
    changed = await alice.post(
        "/settings/password",
        {
            "current_password": DEFAULT_PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert changed.status_code == 303
    assert (await site.client().get(path)).status_code == 400


async def test_forged_and_malformed_tokens_get_a_clear_page(site):
    client = site.client()
    for token in ("", "x", "A" * 43, "ü" * 10, "x" * 5000, "%00", "../../etc"):
        page = await client.get("/reset", params={"token": token})
        assert page.status_code == 400, token
        assert "does not work" in page.text
        posted = await client.post(
            "/reset", {"token": token, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
        )
        assert posted.status_code == 400, token


async def test_bad_new_password_keeps_the_link(site, smtp_sink):
    await site.user_client("alice")
    token = (await reset_link(site, smtp_sink, "alice")).split("token=", 1)[1]
    client = site.client()
    short = await client.post("/reset", {"token": token, "new_password": "x", "confirm_password": "x"})
    assert short.status_code == 400
    assert form_error(short.text)
    mismatch = await client.post(
        "/reset", {"token": token, "new_password": NEW_PASSWORD, "confirm_password": "other one!"}
    )
    assert mismatch.status_code == 400
    assert "do not match" in mismatch.text
    ok = await client.post(
        "/reset", {"token": token, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert ok.status_code == 303


async def test_forms_need_xsrf(site):
    client = site.client()
    await client.get("/forgot")
    assert (await client.post("/forgot", {"login": "alice"}, xsrf=False)).status_code == 403
    assert (await client.post("/reset", {"token": "x"}, xsrf=False)).status_code == 403


async def test_asking_is_rate_limited_per_address_and_per_ip(site, smtp_sink):
    await site.user_client("alice")
    client = site.client()
    statuses = [(await ask(client, "alice")).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    # Per IP: every address counts toward one budget.
    statuses = [(await ask(client, f"someone{i}@example.org")).status_code for i in range(8)]
    assert statuses[:6] == [200] * 6 and 429 in statuses
    assert (await ask(client, "")).status_code == 400


async def test_nothing_secret_in_the_logs(site, smtp_sink, caplog):
    caplog.set_level(logging.DEBUG)
    await site.user_client("alice")
    path = await reset_link(site, smtp_sink, "alice")
    token = path.split("token=", 1)[1]
    client = site.client()
    await client.get(path)
    await client.post(
        "/reset", {"token": token, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    await smtp_sink.wait_for("alice@example.org", about="/forgot")
    # The server's, not the test's own SMTP server's and HTTP client's (they log every byte).
    ours = ("tornagram", "tornado", "sqlalchemy", "aiosmtplib", "asyncio")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(ours))
    assert token not in text
    assert NEW_PASSWORD not in text
    assert "/reset" in text  # the access log did see the request


async def test_cli_prints_a_link(site, smtp_sink):
    await site.user_client("alice")
    link = await site.ctx.recovery.reset_link_for("Alice")
    assert link.startswith("https://photos.example.org/reset?token=")
    page = await site.client().get(link.removeprefix("https://photos.example.org"))
    assert page.status_code == 200


async def test_a_reset_also_revokes_every_app_token(site, smtp_sink):
    from tests.api.support import bearer, token_for

    alice = await site.user_client("alice")
    app = bearer(site, await token_for(site, "alice", client=alice))
    try:
        assert (await app.get("/api/v1/accounts/verify_credentials")).status_code == 200
        token = (await reset_link(site, smtp_sink, "alice")).split("token=", 1)[1]
        r = await site.client().post(
            "/reset",
            {"token": token, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
        )
        assert r.status_code == 303
        assert (await app.get("/api/v1/accounts/verify_credentials")).status_code == 401
    finally:
        await app.aclose()
