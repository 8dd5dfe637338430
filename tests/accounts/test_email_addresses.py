"""Email addresses: the confirmation link after sign-up, posting gated on it, changing address."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.helpers import DEFAULT_PASSWORD, mail_text, mailed_link, photo_bytes, upload
from tornagram.accounts.models import User


async def confirm(client, path: str):
    page = await client.get(path)
    assert page.status_code == 200, page.text
    token = path.split("token=", 1)[1]
    return await client.post("/confirm-email", {"token": token})


async def me(site, name="alice") -> User:
    return await site.ctx.accounts.by_username(name)


async def test_sign_up_mails_a_confirmation_link_that_works_once(site, smtp_sink):
    alice = await site.user_client("alice")
    (message,) = await smtp_sink.wait_for("alice@example.org", about="/confirm-email?token=")
    assert "Confirm" in message["Subject"]
    path = mailed_link(message, "/confirm-email")
    assert (await me(site)).email_confirmed_at is None
    # Opening the link alone confirms nothing (mail scanners open links).
    stranger = site.client()
    assert (await stranger.get(path)).status_code == 200
    assert (await me(site)).email_confirmed_at is None
    done = await confirm(stranger, path)
    assert done.status_code == 200 and "confirmed" in done.text
    assert stranger.session_cookie() is None  # it signs nobody in
    assert (await me(site)).email_confirmed_at is not None
    token = path.split("token=", 1)[1]
    again = await stranger.post("/confirm-email", {"token": token})
    assert again.status_code == 400 and "does not work" in again.text
    assert "Confirmed" in (await alice.get("/settings/email")).text


async def test_bad_tokens_get_a_clear_page(site):
    client = site.client()
    for token in ("", "nope", "x" * 3000, "é"):
        assert (await client.get("/confirm-email", params={"token": token})).status_code == 400
        assert (await client.post("/confirm-email", {"token": token})).status_code == 400
    await client.xsrf()
    assert (await client.post("/confirm-email", {"token": "x"}, xsrf=False)).status_code == 403


@pytest.fixture
def settings(settings):
    """This site asks new accounts to confirm their address before they post."""
    return replace(settings, require_email_confirmation=True)


async def test_posting_waits_for_the_confirmed_address_when_the_site_says_so(site, smtp_sink):
    alice = await site.user_client("alice")
    refused = await upload(alice, [("a.jpg", photo_bytes(21))])
    assert refused.status_code == 403
    assert "Confirm your email address before posting" in refused.text
    assert [k async for k in site.ctx.storage.iter_keys()] == []
    (message,) = await smtp_sink.wait_for("alice@example.org", about="/confirm-email?token=")
    await confirm(site.client(), mailed_link(message, "/confirm-email"))
    # The signed-in browser sees the change at once (the session's cached user is dropped).
    allowed = await upload(alice, [("a.jpg", photo_bytes(21))])
    assert allowed.status_code == 303, allowed.text


async def test_resend(site, smtp_sink):
    alice = await site.user_client("alice")
    await smtp_sink.wait_for("alice@example.org", about="/confirm-email?token=")
    page = await alice.post("/settings/email/resend")
    assert page.status_code == 200
    first, second = await smtp_sink.wait_for("alice@example.org", 2, about="/confirm-email?token=")
    # The earlier link stops working.
    assert (await site.client().get(mailed_link(first, "/confirm-email"))).status_code == 400
    assert (await confirm(site.client(), mailed_link(second, "/confirm-email"))).status_code == 200


async def test_changing_the_address_confirms_at_the_new_one_and_tells_the_old(site, smtp_sink):
    alice = await site.user_client("alice")
    await smtp_sink.wait_for("alice@example.org", about="/confirm-email?token=")
    asked = await alice.post(
        "/settings/email", {"email": "Alice@New.example", "password": DEFAULT_PASSWORD}
    )
    assert asked.status_code == 200 and "Alice@New.example" in asked.text
    assert (await me(site)).email == "alice@example.org"  # not yet
    (link_mail,) = await smtp_sink.wait_for("Alice@New.example")
    (notice,) = await smtp_sink.wait_for("alice@example.org", about="New.example")
    assert "Alice@New.example" in mail_text(notice)
    assert "/confirm-email" not in mail_text(notice)
    done = await confirm(site.client(), mailed_link(link_mail, "/confirm-email"))
    assert done.status_code == 200
    user = await me(site)
    assert (user.email, user.email_key) == ("Alice@New.example", "alice@new.example")
    assert user.email_confirmed_at is not None
    # Sign-in and reset now go by the new address.
    assert (await site.client().login("alice@new.example")).status_code == 303


async def test_change_refusals(site, smtp_sink):
    alice = await site.user_client("alice")
    await site.user_client("bob")
    cases = [
        ({"email": "bob@example.org", "password": DEFAULT_PASSWORD}, "already exists"),
        ({"email": "ALICE@example.org", "password": DEFAULT_PASSWORD}, "already your address"),
        ({"email": "not an address", "password": DEFAULT_PASSWORD}, "valid email"),
        ({"email": "new@example.org", "password": "wrong password"}, "password is not right"),
    ]
    for form, message in cases:
        response = await alice.post("/settings/email", form)
        assert response.status_code == 400, form
        assert message in response.text, form
    assert (await alice.post("/settings/email", {"email": "x@example.org"}, xsrf=False)).status_code == 403


async def test_a_taken_address_at_confirmation_time_is_a_clear_refusal(site, smtp_sink):
    alice = await site.user_client("alice")
    await alice.post("/settings/email", {"email": "shared@example.org", "password": DEFAULT_PASSWORD})
    (link_mail,) = await smtp_sink.wait_for("shared@example.org")
    carol = site.client()
    await carol.signup("carol", email="shared@example.org")
    response = await confirm(site.client(), mailed_link(link_mail, "/confirm-email"))
    assert response.status_code == 400
    assert "already exists" in response.text
    assert (await me(site)).email == "alice@example.org"


async def test_an_app_cannot_post_before_the_address_is_confirmed_either(site, smtp_sink):
    from tests.api.support import bearer, jpeg, token_for, upload_media

    alice = await site.user_client("alice")
    app = bearer(site, await token_for(site, "alice", client=alice))
    try:
        media = (await upload_media(app, jpeg())).json()
        r = await app.post("/api/v1/statuses", json={"status": "hi", "media_ids": [media["id"]]})
        assert r.status_code == 403 and "error" in r.json()
        assert "Confirm your email address before posting" in r.json()["error"]
    finally:
        await app.aclose()
