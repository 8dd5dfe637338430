"""Every API route declares the scope of each method it answers, and a token without that
scope is refused (403) before anything else is looked at."""

from __future__ import annotations

import re

import pytest
import tornado.web

from tornagram.app import API_ROUTES
from tornagram.oauth.scopes import ALL_SCOPES, grants
from tornagram.web.api import OUTSIDE_SCOPES, ApiHandler, ApiNotFoundHandler

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def implemented(handler) -> set[str]:
    return {
        m for m in METHODS
        if getattr(handler, m.lower()) is not getattr(tornado.web.RequestHandler, m.lower())
    }  # fmt: skip


def concrete(pattern: str) -> str:
    """A path the pattern matches: ids become 1, alternatives their first choice."""
    path = re.sub(r"\(\[\^/\]\{1,40\}\)", "1", pattern)
    path = re.sub(r"\(\[\^/\]\{1,300\}\)", "cats", path)
    path = re.sub(r"\((?:\?:)?([a-z_]+)(?:\|[a-z_]+)*\)", r"\1", path)
    return path.replace("\\.", ".")


def test_every_api_route_declares_every_method_it_answers():
    assert len(API_ROUTES) > 30
    for _pattern, handler, name, scopes, *_ in API_ROUTES:
        assert issubclass(handler, ApiHandler), name
        if handler is ApiNotFoundHandler:
            continue
        missing = implemented(handler) - set(scopes)
        assert not missing, f"{name}: {sorted(missing)} has no scope declared"
        assert set(scopes) <= implemented(handler), f"{name}: declares a method it lacks"
        for need in scopes.values():
            assert all(s in ALL_SCOPES for s in need.scopes), name



def test_every_route_under_api_is_in_the_table(site):
    from tornagram.app import make_app

    app = make_app(site.ctx)
    declared = {name for _, _, name, *_ in API_ROUTES}
    api_rules = [
        rule for rule in app.wildcard_router.rules
        if rule.matcher.regex.pattern.startswith(("/api/", "/oauth/token", "/oauth/revoke"))
    ]  # fmt: skip
    prefixes = ("/api/", "/oauth/token", "/oauth/revoke")
    assert len(api_rules) == len([r for r in API_ROUTES if r[0].startswith(prefixes)])
    for rule in api_rules:
        assert rule.name in declared, rule.matcher.regex.pattern


def lacking_scope(need) -> str:
    """A real scope that grants none of what ``need`` accepts."""
    for candidate in ("push", "read:lists", "write:reports", "profile"):
        if not any(grants([candidate], s) for s in need.scopes):
            return candidate
    raise AssertionError(need)


CASES = [
    (pattern, name, method, need)
    for pattern, handler, name, scopes, *_ in API_ROUTES
    for method, need in scopes.items()
    if need.scopes
]


@pytest.mark.parametrize("pattern, name, method, need", CASES, ids=[f"{c[2]}-{c[1]}" for c in CASES])
async def test_a_token_without_the_scope_gets_403_first(site, api, pattern, name, method, need):
    http = await api("alice", scope=lacking_scope(need))
    path = concrete(pattern)
    # A malformed body too: the scope check comes before any validation.
    r = await http.request(method, path, content=b"{not json",
                           headers={"Content-Type": "application/json"})
    if name.startswith("api_streaming"):
        # Streams answer before the upgrade, and a token that may not read is not let in.
        assert r.status_code == 401, (path, r.status_code, r.text)
        return
    assert r.status_code == 403, (path, r.status_code, r.text)
    assert r.json() == {"error": OUTSIDE_SCOPES}
    # And with a trailing slash.
    r = await http.request(method, path + "/")
    assert r.status_code == 403, (path + "/", r.text)


USER_CASES = [c for c in CASES if not c[3].public]


@pytest.mark.parametrize("pattern, name, method, need", USER_CASES, ids=[c[1] for c in USER_CASES])
async def test_a_user_route_without_a_token_is_401(site, pattern, name, method, need):
    r = await site.client().http.request(method, concrete(pattern))
    assert r.status_code == 401 and r.json() == {"error": "The access token is invalid"}
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await site.client().http.request(
        method, concrete(pattern), headers={"Authorization": "Bearer not-a-token"}
    )
    assert r.status_code == 401


async def test_the_session_cookie_is_never_read(site):
    alice = await site.user_client("alice")
    r = await alice.get("/api/v1/accounts/verify_credentials")
    assert r.status_code == 401


async def test_granular_and_deprecated_scopes(site, api):
    http = await api("alice", scope="read:accounts write:statuses")
    assert (await http.get("/api/v1/accounts/verify_credentials")).status_code == 200
    assert (await http.get("/api/v1/timelines/home")).status_code == 403
    follow = await api("bob", scope="follow")
    assert (await follow.get("/api/v1/accounts/relationships", params={"id": "1"})).status_code == 200
    assert (await follow.get("/api/v1/accounts/verify_credentials")).status_code == 403
    profile = await api("carol", scope="profile")
    me = await profile.get("/api/v1/accounts/verify_credentials")
    assert me.status_code == 200 and me.json()["username"] == "carol"
    assert (await profile.get("/api/v1/accounts/lookup", params={"acct": "carol"})).status_code == 403
    assert (await profile.get("/api/v1/apps/verify_credentials")).status_code == 200
