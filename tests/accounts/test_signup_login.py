"""Signing up, in and out through the real HTTP stack, on every database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.helpers import DEFAULT_PASSWORD, form_error
from tornagram.accounts.models import Session, User


async def count(site, model) -> int:
    async with site.ctx.db.read() as s:
        return await s.scalar(select(func.count()).select_from(model))


async def test_signup_logs_in_and_redirects_home(site):
    c = site.client()
    r = await c.post("/signup", {"username": "Alice", "email": "Alice@Example.org", "password": DEFAULT_PASSWORD})
    assert r.status_code == 303
    assert r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http here; https adds it (see test_secure_cookie_over_https)
    home = await c.get("/")
    assert "Hello, alice" in home.text
    user = await site.ctx.accounts.by_username("alice")
    assert user.email == "Alice@Example.org" and user.email_key == "alice@example.org"
    assert user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("username", "email", "password", "field_message"),
    [
        ("", "a@example.org", DEFAULT_PASSWORD, "Choose a username."),
        ("x" * 31, "a@example.org", DEFAULT_PASSWORD, "at most 30 characters"),
        ("bad name", "a@example.org", DEFAULT_PASSWORD, "only use letters"),
        ("émile", "a@example.org", DEFAULT_PASSWORD, "only use letters"),
        ("admin", "a@example.org", DEFAULT_PASSWORD, "reserved"),
        ("login", "a@example.org", DEFAULT_PASSWORD, "reserved"),
        ("static", "a@example.org", DEFAULT_PASSWORD, "reserved"),
        ("bob", "not-an-email", DEFAULT_PASSWORD, "valid email"),
        ("bob", "", DEFAULT_PASSWORD, "Enter your email"),
        ("bob", "b@example.org", "short", "at least 8"),
        ("bob", "b@example.org", "p" * 1025, "at most 1024"),
    ],
)
async def test_signup_rejects_bad_input_and_creates_nothing(site, username, email, password, field_message):
    c = site.client()
    r = await c.post("/signup", {"username": username, "email": email, "password": password})
    assert r.status_code == 400
    assert any(field_message in m for m in form_error(r.text)), form_error(r.text)
    assert await count(site, User) == 0
    assert await count(site, Session) == 0
    # What was typed is kept, the password is not echoed back.
    if username and len(username) < 31:
        assert f'value="{username}"' in r.text
    assert DEFAULT_PASSWORD not in r.text


async def test_username_and_email_unique_regardless_of_case(site):
    await site.client().signup("carol", email="carol@example.org")
    c = site.client()
    r = await c.post("/signup", {"username": "CAROL", "email": "CAROL@EXAMPLE.ORG", "password": DEFAULT_PASSWORD})
    assert r.status_code == 400
    errors = form_error(r.text)
    assert "That username is taken." in errors
    assert "An account with that email already exists." in errors
    assert await count(site, User) == 1


async def test_login_with_username_or_email_changes_session_id(site):
    c = site.client()
    await c.signup("dave", email="Dave@Example.org")
    first = c.session_cookie()
    for login in ("dave", "DAVE", "dave@example.org", "DAVE@EXAMPLE.ORG"):
        r = await c.login(login)
        assert r.status_code == 303, (login, r.text)
        assert c.session_cookie() != first
        first = c.session_cookie()
    # The earlier sessions were ended at each sign-in, not left behind.
    assert len(await site.ctx.accounts.sessions_of(await site.ctx.accounts.by_username("dave"))) == 1


async def test_wrong_password_and_unknown_user_get_the_same_answer(site):
    c = site.client()
    await c.signup("erin")
    other = site.client()
    wrong = await other.login("erin", "wrong password!")
    unknown = await other.login("nobody_here", "wrong password!")
    assert wrong.status_code == unknown.status_code == 400
    assert form_error(wrong.text) == form_error(unknown.text) == ["That username, email or password is not right."]
    assert other.session_cookie() is None


async def test_logout_kills_the_session_on_the_server(site):
    c = site.client()
    await c.signup("frank")
    token = c.session_cookie()
    r = await c.post("/logout")
    assert r.status_code == 303
    assert "Hello" not in (await c.get("/")).text
    # Replaying the old cookie no longer works: the server forgot the session.
    replay = site.client()
    replay.http.cookies.set("session", token)
    r = await replay.get("/settings/profile")
    assert r.status_code == 302 and r.headers["location"].startswith("/login?next=")


async def test_logout_requires_post(site):
    c = site.client()
    await c.signup("gina")
    r = await c.get("/logout")
    assert r.status_code == 405
    assert "Hello, gina" in (await c.get("/")).text


async def test_next_is_followed_when_safe(site):
    c = site.client()
    await c.signup("hank")
    await c.post("/logout")
    r = await c.login("hank", next="/settings/password")
    assert r.headers["location"] == "/settings/password"


@pytest.mark.parametrize(
    "evil",
    ["//evil.example/", "/\\evil.example", "https://evil.example/", "javascript:alert(1)",
     "\\\\evil.example", "/%0d%0aSet-Cookie:x=1", "http:/evil.example", " //evil.example"],
)
async def test_next_refuses_other_sites(site, evil):
    from urllib.parse import quote

    c = site.client()
    await c.signup("ivan")
    await c.post("/logout")
    r = await c.post("/login?next=" + quote(evil, safe=""), {"login": "ivan", "password": DEFAULT_PASSWORD})
    assert r.status_code == 303
    location = r.headers["location"]
    assert location == "/" or (location.startswith("/") and not location.startswith("//") and "\\" not in location and "evil" not in location)


async def test_authenticated_pages_redirect_to_login_with_next(site):
    c = site.client()
    for path in ("/settings/profile", "/settings/password", "/settings/sessions"):
        r = await c.get(path)
        assert r.status_code == 302
        assert r.headers["location"] == "/login?next=" + path.replace("/", "%2F")


async def test_signed_in_user_visiting_signup_goes_home(site):
    c = site.client()
    await c.signup("jill")
    assert (await c.get("/signup")).headers["location"] == "/"
    assert (await c.get("/login")).status_code == 302
