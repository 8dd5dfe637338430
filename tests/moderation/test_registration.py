"""Who may sign up: the rules to accept, approval with a question, closed, and the limit of
sign-ups per address."""

from __future__ import annotations

import dataclasses

from tests.helpers import form_error, serving
from tests.moderation.support import admin_client, save_site, sign_up_form, staff_client
from tornagram.config import DEFAULT_SIGNUP_IP_BURST


async def test_sign_up_shows_the_rules_and_needs_them_accepted(site):
    root = await admin_client(site)
    await save_site(root, rules=["Be kind.", "No ads."])
    visitor = site.client()
    page = (await visitor.get("/signup")).text
    assert "<li>Be kind.</li>" in page and 'name="accept_rules"' in page
    r = await sign_up_form(visitor, "newt", answer="")
    assert r.status_code == 400
    assert form_error(r.text) == ["Read the rules and tick the box to accept them."]
    # Nothing typed is lost: name, address and password come back.
    assert 'value="newt"' in r.text and 'value="newt@example.org"' in r.text
    assert 'value="long enough password"' in r.text
    assert not await _exists(site, "newt")
    r = await sign_up_form(visitor, "newt", accept_rules="on")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert await _exists(site, "newt")


async def test_the_password_comes_back_only_when_the_account_fields_were_right(site):
    r = await sign_up_form(site.client(), "newt", password="short")
    assert r.status_code == 400 and 'value="short"' not in r.text
    root = await admin_client(site)
    await save_site(root, rules=["Be kind."])
    r = await sign_up_form(site.client(), "bad name")  # rules not ticked either
    assert r.status_code == 400 and "long enough password" not in r.text


async def test_without_rules_there_is_nothing_to_accept(site):
    page = (await site.client().get("/signup")).text
    assert 'name="accept_rules"' not in page
    assert (await sign_up_form(site.client(), "plain")).status_code == 303


async def test_closed_sign_up_explains_and_refuses(site):
    root = await admin_client(site)
    await save_site(root, registration="closed", contact_email="desk@example.org")
    visitor = site.client()
    r = await visitor.get("/signup")
    assert r.status_code == 403
    assert "This site is not taking new accounts." in r.text and "desk@example.org" in r.text
    assert 'name="username"' not in r.text
    r = await sign_up_form(visitor, "late")
    assert r.status_code == 403 and "not taking new accounts" in r.text
    assert not await _exists(site, "late")
    # Accounts that exist still sign in.
    assert (await site.client().login("ada")).status_code == 303


async def test_invite_only_without_a_link_is_refused(site):
    root = await admin_client(site)
    await save_site(root, registration="invite")
    r = await site.client().get("/signup")
    assert r.status_code == 403 and "by invitation only" in r.text
    assert (await sign_up_form(site.client(), "walkin")).status_code == 403
    assert not await _exists(site, "walkin")


async def test_approval_asks_the_question_and_the_account_waits(site, image_bytes):
    root = await admin_client(site)
    mod = await staff_client(site, "mod")
    await save_site(root, registration="approval", approval_question="Which club are you in?")
    visitor = site.client()
    page = (await visitor.get("/signup")).text
    assert "Which club are you in?" in page and "approved by its moderators" in page
    r = await sign_up_form(visitor, "wanda")
    assert r.status_code == 400
    assert form_error(r.text) == ["Answer the question to ask for an account."]
    r = await sign_up_form(visitor, "wanda", answer="The  <b>rowing</b> club")
    assert r.status_code == 303 and r.headers["location"] == "/waiting"
    # Signed in, but every page leads to the notice, and nothing can be done.
    for path in ("/", "/explore", "/upload", "/@ada", "/settings/profile", "/invites"):
        r = await visitor.get(path)
        assert r.status_code == 302 and r.headers["location"] == "/waiting", path
    assert "Waiting for approval" in (await visitor.get("/waiting")).text
    assert (await visitor.post("/@ada/follow")).status_code == 403
    assert (await visitor.get("/about")).status_code == 200
    # Moderators see the answer, escaped.
    queue = (await mod.get("/admin/approvals")).text
    assert 'data-pending="wanda"' in queue
    assert "The &lt;b&gt;rowing&lt;/b&gt; club" in queue


async def _exists(site, username: str) -> bool:
    try:
        await site.ctx.accounts.by_username(username)
    except Exception:
        return False
    return True


async def test_sign_ups_are_limited_per_address_with_the_sites_default(settings):
    # The tests' settings raise the limit (tests/helpers.py); here it is the site's own.
    settings = dataclasses.replace(settings, signup_ip_burst=DEFAULT_SIGNUP_IP_BURST)
    async with serving(settings) as site:
        visitor = site.client()
        # A wrong form does not use the allowance up.
        for _ in range(3):
            assert (await sign_up_form(visitor, "x", password="short")).status_code == 400
        for i in range(DEFAULT_SIGNUP_IP_BURST):
            other = site.client()
            assert (await sign_up_form(other, f"person{i}")).status_code == 303
        r = await sign_up_form(site.client(), "onemore")
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) > 0
        assert "Too many accounts were made from your network" in r.text
        assert 'value="onemore"' in r.text  # the form comes back filled in
        assert not await _exists(site, "onemore")
