"""The OAuth 2 server through the real HTTP stack: registration, consent, code, token, revoke."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.api.support import REDIRECT, approve, bearer, pkce_pair, register_app, token_for
from tornagram.oauth.models import AccessToken, AuthorizationCode, OAuthApp


async def test_discovery_names_this_site(site):
    http = site.client().http
    meta = (await http.get("/.well-known/oauth-authorization-server")).json()
    base = site.base_url
    assert meta["issuer"] == base + "/"
    assert meta["authorization_endpoint"] == base + "/oauth/authorize"
    assert meta["token_endpoint"] == base + "/oauth/token"
    assert meta["revocation_endpoint"] == base + "/oauth/revoke"
    assert meta["app_registration_endpoint"] == base + "/api/v1/apps"
    assert meta["grant_types_supported"] == ["authorization_code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "read:statuses" in meta["scopes_supported"] and "admin:read" not in meta["scopes_supported"]
    v1 = (await http.get("/api/v1/instance")).json()
    assert v1["version"].startswith("4.2.0 (compatible; Tornagram ")
    assert v1["urls"]["streaming_api"] == "ws://" + base.split("//")[1]
    assert v1["configuration"]["statuses"]["max_characters"] == 2200
    v2 = (await http.get("/api/v2/instance/")).json()
    assert v2["version"] == v1["version"] and v2["configuration"]["translation"] == {"enabled": False}
    assert "api_versions" not in v2
    links = (await http.get("/.well-known/nodeinfo")).json()["links"]
    node = (await http.get(links[0]["href"].replace(base, ""))).json()
    assert node["software"]["name"] == "tornagram" and node["protocols"] == []
    assert (await http.get("/api/v1/custom_emojis")).json() == []


async def test_registration_returns_the_credential_application(site):
    http = site.client().http
    r = await http.post(
        "/api/v1/apps",
        json={"client_name": "Phone", "redirect_uris": ["myapp://cb", REDIRECT],
              "scopes": "read write:statuses", "website": "https://phone.example"},
    )
    app = r.json()
    assert r.status_code == 200
    assert app["redirect_uris"] == ["myapp://cb", REDIRECT]
    assert app["redirect_uri"] == "myapp://cb\n" + REDIRECT
    assert app["scopes"] == ["read", "write:statuses"]
    assert app["client_secret_expires_at"] == 0 and app["vapid_key"] == ""
    for key in ("client_id", "client_secret"):
        assert len(app[key]) >= 32 and set(app[key]) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )
    # Several URIs in one string, one per line.
    r = await http.post("/api/v1/apps", data={"client_name": "x", "redirect_uris": "a://1\nb://2"})
    assert r.json()["redirect_uris"] == ["a://1", "b://2"]
    # Only hashes are stored.
    async with site.ctx.db.read() as session:
        row = await session.get(OAuthApp, int(app["id"]))
    assert app["client_secret"] not in row.client_secret_hash


@pytest.mark.parametrize(
    "fields",
    [
        {"redirect_uris": REDIRECT},  # no name
        {"client_name": "x", "redirect_uris": "javascript:alert(1)"},
        {"client_name": "x", "redirect_uris": "data:text/html,hi"},
        {"client_name": "x", "redirect_uris": "file:///etc/passwd"},
        {"client_name": "x", "redirect_uris": "/relative"},
        {"client_name": "x", "redirect_uris": "https://a.example/cb#frag"},
        {"client_name": "x", "redirect_uris": REDIRECT, "scopes": "read admin:read"},
        {"client_name": "x", "redirect_uris": REDIRECT, "scopes": "everything"},
        {"client_name": "x", "redirect_uris": REDIRECT, "website": "javascript:alert(1)"},
        {"client_name": "x"},
    ],
)
async def test_bad_registrations_are_422_json(site, fields):
    r = await site.client().http.post("/api/v1/apps", data=fields)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/json")
    assert isinstance(r.json()["error"], str)


async def test_malformed_json_registration_is_400(site):
    http = site.client().http
    r = await http.post("/api/v1/apps", content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "error" in r.json()
    r = await http.post("/api/v1/apps", json={"client_name": ["a"], "redirect_uris": REDIRECT})
    assert r.status_code == 400 and "error" in r.json()


async def test_code_flow_with_pkce_through_login_and_consent(site):
    alice = site.client()
    await alice.signup("alice")
    await alice.post("/logout")
    app = await register_app(alice.http)
    verifier, challenge = pkce_pair()
    query = {"client_id": app["client_id"], "redirect_uri": REDIRECT, "response_type": "code",
             "scope": "read write", "state": "xyz", "code_challenge": challenge,
             "code_challenge_method": "S256"}
    r = await alice.get("/oauth/authorize", params=query)
    # Signed out: to the login page, and back here after it.
    assert r.status_code == 302 and r.headers["location"].startswith("/login?next=")
    next_url = parse_qs(urlsplit(r.headers["location"]).query)["next"][0]
    r = await alice.post("/login?" + urlencode({"next": next_url}),
                         {"login": "alice", "password": "correct horse battery"})
    assert r.status_code == 303 and r.headers["location"] == next_url
    page = await alice.get(next_url)
    assert page.status_code == 200
    assert "Test app" in page.text and 'value="approve"' in page.text and 'value="deny"' in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    # The consent form needs its XSRF token.
    r = await alice.post("/oauth/authorize", {**query, "decision": "approve"}, xsrf=False)
    assert r.status_code == 403
    code = await approve(alice, app, scope="read write", state="xyz", challenge=challenge)
    exchange = {"grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
                "client_secret": app["client_secret"], "redirect_uri": REDIRECT,
                "code_verifier": verifier}
    r = await alice.http.post("/oauth/token", data=exchange)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "read write"
    assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"
    assert "refresh_token" not in body and "expires_in" not in body
    token = body["access_token"]
    async with site.ctx.db.read() as session:
        rows = (await session.execute(AccessToken.__table__.select())).all()
    assert [row.token_hash for row in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    me = await bearer(site, token).get("/api/v1/accounts/verify_credentials")
    assert me.status_code == 200 and me.json()["username"] == "alice"
    # The code worked once.
    r = await alice.http.post("/oauth/token", data=exchange)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


async def test_a_wrong_verifier_burns_the_code(site):
    alice = await site.user_client("alice")
    app = await register_app(alice.http)
    verifier, challenge = pkce_pair()
    code = await approve(alice, app, challenge=challenge)
    exchange = {"grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
                "client_secret": app["client_secret"], "redirect_uri": REDIRECT}
    r = await alice.http.post("/oauth/token", data={**exchange, "code_verifier": "x" * 50})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = await alice.http.post("/oauth/token", data={**exchange, "code_verifier": verifier})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # A missing verifier when a challenge was given, and a redirect_uri mismatch, likewise.
    code = await approve(alice, app, challenge=challenge)
    r = await alice.http.post("/oauth/token", data={**exchange, "code": code})
    assert r.json()["error"] == "invalid_grant"
    code = await approve(alice, app)
    r = await alice.http.post("/oauth/token", data={**exchange, "code": code,
                                                    "redirect_uri": "https://app.example/other"})
    assert r.json()["error"] == "invalid_grant"
    async with site.ctx.db.read() as session:
        assert (await session.execute(AuthorizationCode.__table__.select())).all() == []


async def test_token_endpoint_errors(site):
    alice = await site.user_client("alice")
    app = await register_app(alice.http)
    code = await approve(alice, app)
    good = {"grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
            "client_secret": app["client_secret"], "redirect_uri": REDIRECT}
    r = await alice.http.post("/oauth/token", data={**good, "client_secret": "wrong"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = await alice.http.post("/oauth/token", data={**good, "grant_type": "password"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = await alice.http.post("/oauth/token", data={"code": code})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    # HTTP Basic works too; the code was not used by the failures above.
    basic = base64.b64encode(f"{app['client_id']}:{app['client_secret']}".encode()).decode()
    r = await alice.http.post(
        "/oauth/token", headers={"Authorization": "Basic " + basic},
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
    )
    assert r.status_code == 200, r.text


async def test_unregistered_client_or_redirect_is_a_page_never_a_redirect(site):
    alice = await site.user_client("alice")
    app = await register_app(alice.http)
    base = {"client_id": app["client_id"], "redirect_uri": REDIRECT, "response_type": "code"}
    for query in ({**base, "redirect_uri": "https://evil.example/cb"}, {**base, "client_id": "nope"}):
        r = await alice.get("/oauth/authorize", params=query)
        assert r.status_code == 400 and "location" not in r.headers
        assert "<html" in r.text.lower()
        r = await alice.post("/oauth/authorize", {**query, "decision": "approve"})
        assert r.status_code == 400 and "location" not in r.headers


@pytest.mark.parametrize(
    "extra, error",
    [
        ({"scope": "read admin:read"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge": "a" * 43, "code_challenge_method": "plain"}, "invalid_request"),
    ],
)
async def test_other_problems_go_back_to_the_app(site, extra, error):
    alice = await site.user_client("alice")
    app = await register_app(alice.http, scopes="read")
    query = {"client_id": app["client_id"], "redirect_uri": REDIRECT, "response_type": "code",
             "state": "st", **extra}
    r = await alice.get("/oauth/authorize", params=query)
    assert r.status_code == 302
    params = parse_qs(urlsplit(r.headers["location"]).query)
    assert params["error"] == [error] and params["state"] == ["st"]
    # A scope the app did not register, even a real one.
    r = await alice.get("/oauth/authorize", params={**query, "scope": "write", "response_type": "code",
                                                    "code_challenge": "", "code_challenge_method": ""})
    assert parse_qs(urlsplit(r.headers["location"]).query)["error"] == ["invalid_scope"]


async def test_deny_and_oob(site):
    alice = await site.user_client("alice")
    app = await register_app(alice.http, redirect="urn:ietf:wg:oauth:2.0:oob")
    query = {"client_id": app["client_id"], "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
             "response_type": "code", "scope": "read", "state": "None", "lang": "None",
             "force_login": "False"}
    page = await alice.get("/oauth/authorize", params=query)
    assert page.status_code == 200
    r = await alice.post("/oauth/authorize", {**query, "decision": "deny"})
    assert r.status_code == 302 and "error=access_denied" in r.headers["location"]
    code = await approve(alice, app, scope="read", redirect="urn:ietf:wg:oauth:2.0:oob")
    page = await alice.get("/oauth/authorize/native", params={"code": code})
    assert f'value="{code}"' in page.text and f"<code class=\"oauth-code-text\">{code}</code>" in page.text
    r = await alice.http.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": "urn:ietf:wg:oauth:2.0:oob"})
    assert r.status_code == 200 and r.json()["scope"] == "read"


async def test_an_apps_name_is_escaped_and_a_bad_website_not_linked(site):
    alice = await site.user_client("alice")
    r = await alice.http.post("/api/v1/apps", data={
        "client_name": "<script>x</script>", "redirect_uris": REDIRECT, "website": ""})
    app = r.json()
    page = await alice.get("/oauth/authorize", params={
        "client_id": app["client_id"], "redirect_uri": REDIRECT, "response_type": "code"})
    assert "<script>x</script>" not in page.text and "&lt;script&gt;x&lt;/script&gt;" in page.text


async def test_revoke(site):
    alice = await site.user_client("alice")
    app = await register_app(alice.http)
    other = await register_app(alice.http)
    token = await token_for(site, "alice", client=alice)
    code = await approve(alice, app)
    r = await alice.http.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": REDIRECT})
    mine = r.json()["access_token"]
    # Another app's credentials, or wrong ones, revoke nothing.
    for creds in ({"client_id": other["client_id"], "client_secret": other["client_secret"]},
                  {"client_id": app["client_id"], "client_secret": "nope"}):
        r = await alice.http.post("/oauth/revoke", data={**creds, "token": mine})
        assert r.status_code == 403 and r.json() == {"error": "unauthorized_client"}
    http = bearer(site, mine)
    assert (await http.get("/api/v1/accounts/verify_credentials")).status_code == 200
    creds = {"client_id": app["client_id"], "client_secret": app["client_secret"], "token": mine}
    for _ in range(2):
        r = await alice.http.post("/oauth/revoke", data=creds)
        assert r.status_code == 200 and r.json() == {}
    r = await http.get("/api/v1/accounts/verify_credentials")
    assert r.status_code == 401 and r.json() == {"error": "The access token is invalid"}
    assert r.headers["www-authenticate"].startswith("Bearer")
    # The other token is untouched.
    assert (await bearer(site, token).get("/api/v1/accounts/verify_credentials")).status_code == 200
