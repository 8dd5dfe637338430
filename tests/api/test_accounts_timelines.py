"""Accounts, following and the timelines, with Mastodon's Link-header pagination."""

from __future__ import annotations

import re

from tests.api.support import post_photo, upload_media


def links(response) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers.get("link", ""))}


async def test_accounts_lookup_and_relationships(site, api):
    alice = await api("alice")
    bob = await api("bob")
    me = (await alice.get("/api/v1/accounts/verify_credentials")).json()
    assert me["acct"] == "alice" and me["source"]["privacy"] == "public"
    assert me["avatar"].startswith(site.base_url) and me["note"] == ""
    assert (await site.client().http.get(me["avatar"].replace(site.base_url, ""))).status_code == 200
    host = site.base_url.split("//")[1]
    for acct in ("bob", "@bob", f"bob@{host}", "BOB"):
        r = await site.client().http.get("/api/v1/accounts/lookup", params={"acct": acct})
        assert r.status_code == 200 and r.json()["username"] == "bob", acct
    for acct in ("nobody", "bob@elsewhere.example"):
        r = await alice.get("/api/v1/accounts/lookup", params={"acct": acct})
        assert r.status_code == 404 and r.json()["error"]
    bob_id = (await bob.get("/api/v1/accounts/verify_credentials")).json()["id"]
    r = await alice.post(f"/api/v1/accounts/{bob_id}/follow")
    assert r.status_code == 200 and r.json()["following"] is True and r.json()["id"] == bob_id
    rels = (await bob.get("/api/v1/accounts/relationships", params={"id[]": [me["id"], "999", "x"]})).json()
    assert rels == [rels[0]] and rels[0]["followed_by"] is True and rels[0]["following"] is False
    assert (await bob.get(f"/api/v1/accounts/{me['id']}")).json()["following_count"] == 1
    r = await alice.post(f"/api/v1/accounts/{me['id']}/follow")
    assert r.status_code == 403
    r = await alice.post(f"/api/v1/accounts/{bob_id}/unfollow")
    assert r.json()["following"] is False
    for bad in ("999999", "abc", "-1", "9" * 30):
        r = await alice.get(f"/api/v1/accounts/{bad}")
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
    r = await alice.get("/api/v1/accounts/relationships", params={"id[]": ["1"] * 101})
    assert r.status_code == 400


async def test_following_a_private_account_is_a_request(site, api):
    from sqlalchemy import update

    from tornagram.accounts.models import User

    alice = await api("alice")
    bob = await api("bob")
    async with site.ctx.db.write() as session:
        await session.execute(update(User).where(User.username == "bob").values(is_private=True))
    bob_id = (await bob.get("/api/v1/accounts/verify_credentials")).json()["id"]
    r = await alice.post(f"/api/v1/accounts/{bob_id}/follow")
    assert r.json()["requested"] is True and r.json()["following"] is False
    assert (await bob.get("/api/v1/accounts/verify_credentials")).json()["source"]["follow_requests_count"] == 1
    post = await post_photo(bob)
    assert (await alice.get(f"/api/v1/accounts/{bob_id}/statuses")).json() == []
    assert (await alice.get(f"/api/v1/statuses/{post['id']}")).status_code == 404


async def test_home_public_tag_and_profile_timelines_page_with_links(site, api):
    alice = await api("alice")
    bob = await api("bob")
    alice_id = (await alice.get("/api/v1/accounts/verify_credentials")).json()["id"]
    posts = [await post_photo(alice, f"Photo {i} #Sunset") for i in range(5)]
    newest_first = [p["id"] for p in reversed(posts)]
    await bob.post(f"/api/v1/accounts/{alice_id}/follow")
    mine = await post_photo(bob, "Mine")
    r = await bob.get("/api/v1/timelines/home", params={"limit": 3})
    page = [s["id"] for s in r.json()]
    assert page == [mine["id"], *newest_first[:2]]
    nav = links(r)
    assert nav["next"].startswith(site.base_url + "/api/v1/timelines/home?")
    assert f"max_id={page[-1]}" in nav["next"] and f"min_id={page[0]}" in nav["prev"]
    r2 = await bob.get(nav["next"].replace(site.base_url, ""))
    assert [s["id"] for s in r2.json()] == newest_first[2:5]
    # min_id: the page right after, still newest first; since_id: everything newer.
    r3 = await bob.get("/api/v1/timelines/home", params={"min_id": newest_first[4], "limit": 2})
    assert [s["id"] for s in r3.json()] == [newest_first[2], newest_first[3]]
    r4 = await bob.get("/api/v1/timelines/home", params={"since_id": newest_first[1]})
    assert [s["id"] for s in r4.json()] == [mine["id"], newest_first[0]]
    empty = await bob.get("/api/v1/timelines/home", params={"max_id": newest_first[4]})
    assert empty.json() == [] and "link" not in empty.headers
    # Public timeline, no token needed; other parameters survive in the links.
    r = await site.client().http.get("/api/v1/timelines/public", params={"local": "true", "limit": 2})
    assert len(r.json()) == 2 and "local=true" in links(r)["next"]
    assert (await site.client().http.get("/api/v1/timelines/public", params={"remote": "true"})).json() == []
    tag = await site.client().http.get("/api/v1/timelines/tag/SUNSET")
    assert [s["id"] for s in tag.json()] == newest_first
    cjk = await post_photo(alice, "夕阳 #猫")
    tag = await site.client().http.get("/api/v1/timelines/tag/%E7%8C%AB")
    assert [s["id"] for s in tag.json()] == [cjk["id"]]
    profile = await site.client().http.get(f"/api/v1/accounts/{alice_id}/statuses", params={"limit": 40})
    assert [s["id"] for s in profile.json()] == [cjk["id"], *newest_first]
    assert (await site.client().http.get(f"/api/v1/accounts/{alice_id}/statuses", params={"pinned": "true"})).json() == []
    # Bad cursors are a 400, limits past the maximum are clamped.
    assert (await bob.get("/api/v1/timelines/home", params={"max_id": "abc"})).status_code == 400
    assert (await bob.get("/api/v1/timelines/home", params={"limit": "x"})).status_code == 400
    assert len((await site.client().http.get("/api/v1/timelines/public", params={"limit": 999})).json()) == 7


async def test_errors_are_json_everywhere_under_api(site, api):
    http = site.client().http
    for path in ("/api/v1/nothing-here", "/api/v2/x/y", "/api/", "/api/v1/statuses/abc"):
        r = await http.get(path)
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/json"), path
        assert r.json() == {"error": "Record not found"}
    r = await http.delete("/api/v1/instance")
    assert r.status_code == 405 and "error" in r.json()


async def test_cors_and_rate_limit_headers(site, api):
    alice = await api("alice")
    r = await alice.get("/api/v1/timelines/home", headers={"Origin": "https://elk.example"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    assert "Link" in r.headers["access-control-expose-headers"]
    assert r.headers["x-ratelimit-limit"] == "300"
    remaining = int(r.headers["x-ratelimit-remaining"])
    r = await alice.get("/api/v1/timelines/home")
    assert int(r.headers["x-ratelimit-remaining"]) == remaining - 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r.headers["x-ratelimit-reset"])
    pre = await site.client().http.options(
        "/api/v1/statuses",
        headers={"Origin": "https://elk.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"},
    )
    assert pre.status_code == 204
    assert "POST" in pre.headers["access-control-allow-methods"]
    assert "authorization" in pre.headers["access-control-allow-headers"].lower()
    assert pre.headers["access-control-max-age"]
    # Pages are not opened to other origins.
    assert "access-control-allow-origin" not in (await site.client().get("/login")).headers
    assert "access-control-allow-origin" not in (await site.client().get("/oauth/authorize")).headers


async def test_the_request_limit_answers_429(site, api, monkeypatch):
    from tornagram.web import api as api_base
    from tornagram.web.api_limits import Window

    monkeypatch.setattr(api_base, "REQUESTS", Window(limit=3, secs=300))
    alice = await api("alice")
    codes = [(await alice.get("/api/v1/timelines/home")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = await alice.get("/api/v1/timelines/home")
    assert r.status_code == 429 and r.headers["retry-after"] and r.json()["error"]
    assert r.headers["x-ratelimit-remaining"] == "0"


async def test_settings_apps_lists_and_revokes_and_a_password_change_revokes_all(site, api):
    web = await site.user_client("alice")
    http = await api("alice", client=web)
    await http.get("/api/v1/timelines/home")
    page = await web.get("/settings/apps")
    assert page.status_code == 200 and "Test app" in page.text and "read:" not in page.text
    assert "last used" in page.text
    app_id = re.search(r"/settings/apps/(\d+)/revoke", page.text).group(1)
    r = await web.post(f"/settings/apps/{app_id}/revoke")
    assert r.status_code == 303
    assert (await http.get("/api/v1/timelines/home")).status_code == 401
    assert "Test app" not in (await web.get("/settings/apps")).text
    # A password change ends every token.
    again = await api("alice", client=web)
    assert (await again.get("/api/v1/timelines/home")).status_code == 200
    r = await web.post("/settings/password", {"current_password": "correct horse battery",
                                              "new_password": "another horse battery",
                                              "confirm_password": "another horse battery"})
    assert r.status_code == 303, r.text
    assert (await again.get("/api/v1/timelines/home")).status_code == 401


async def test_stubs_answer_empty(site, api):
    alice = await api("alice")
    for path in ("/api/v1/lists", "/api/v1/filters", "/api/v2/filters", "/api/v1/mutes",
                 "/api/v1/conversations", "/api/v1/announcements"):
        assert (await alice.get(path)).json() == [], path
    assert (await alice.get("/api/v1/markers")).json() == {}
    assert (await alice.get("/api/v1/preferences")).json()["posting:default:visibility"] == "public"
    assert (await upload_media(alice)).status_code in (200, 202)


async def test_followers_blocks_and_follow_requests(site, api):
    from sqlalchemy import update

    from tornagram.accounts.models import User

    alice = await api("alice")
    bob = await api("bob")
    carol = await api("carol")
    ids = {}
    for name, http in (("alice", alice), ("bob", bob), ("carol", carol)):
        ids[name] = (await http.get("/api/v1/accounts/verify_credentials")).json()["id"]
    await bob.post(f"/api/v1/accounts/{ids['alice']}/follow")
    await carol.post(f"/api/v1/accounts/{ids['alice']}/follow")
    r = await site.client().http.get(f"/api/v1/accounts/{ids['alice']}/followers", params={"limit": 1})
    assert [a["username"] for a in r.json()] == ["carol"] and 'rel="next"' in r.headers["link"]
    r2 = await site.client().http.get(links(r)["next"].replace(site.base_url, ""))
    assert [a["username"] for a in r2.json()] == ["bob"]
    following = (await alice.get(f"/api/v1/accounts/{ids['bob']}/following")).json()
    assert [a["username"] for a in following] == ["alice"]
    # Blocking ends the follow both ways and hides the account; unblocking finds it again.
    r = await alice.post(f"/api/v1/accounts/{ids['bob']}/block")
    assert r.json()["blocking"] is True and r.json()["followed_by"] is False
    assert [a["username"] for a in (await alice.get("/api/v1/blocks")).json()] == ["bob"]
    assert (await bob.get(f"/api/v1/accounts/{ids['alice']}")).status_code == 404
    assert (await alice.post(f"/api/v1/accounts/{ids['alice']}/block")).status_code == 403
    r = await alice.post(f"/api/v1/accounts/{ids['bob']}/unblock")
    assert r.json()["blocking"] is False
    # Follow requests, answered by the asker's account id.
    async with site.ctx.db.write() as session:
        await session.execute(update(User).where(User.username == "alice").values(is_private=True))
    assert (await bob.post(f"/api/v1/accounts/{ids['alice']}/follow")).json()["requested"] is True
    asking = (await alice.get("/api/v1/follow_requests")).json()
    assert [a["username"] for a in asking] == ["bob"]
    # A private account's followers are for its followers.
    assert (await site.client().http.get(f"/api/v1/accounts/{ids['alice']}/followers")).json() == []
    r = await alice.post(f"/api/v1/follow_requests/{ids['bob']}/authorize")
    assert r.status_code == 200 and r.json()["followed_by"] is True
    assert (await alice.post(f"/api/v1/follow_requests/{ids['bob']}/reject")).status_code == 404
    assert (await alice.get("/api/v1/follow_requests")).json() == []
