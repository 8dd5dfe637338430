"""Notifications (ungrouped, one per row) and search through the API."""

from __future__ import annotations

from tests.api.support import post_photo


async def test_notifications_one_per_row_with_their_statuses(site, api):
    alice = await api("alice")
    bob = await api("bob")
    alice_id = (await alice.get("/api/v1/accounts/verify_credentials")).json()["id"]
    post = await post_photo(alice, "Sky")
    await bob.post(f"/api/v1/accounts/{alice_id}/follow")
    await bob.post(f"/api/v1/statuses/{post['id']}/favourite")
    comment = (await bob.post("/api/v1/statuses", data={"status": "Wow @alice", "in_reply_to_id": post["id"]})).json()
    assert (await alice.get("/api/v1/notifications/unread_count")).json() == {"count": 3}
    r = await alice.get("/api/v1/notifications")
    items = r.json()
    assert [n["type"] for n in items] == ["mention", "favourite", "follow"]
    # A comment that also mentions her notifies her once.
    assert items[0]["status"]["id"] == comment["id"] and items[1]["status"]["id"] == post["id"]
    assert "status" not in items[2] and items[2]["account"]["username"] == "bob"
    assert items[0]["group_key"] == f"ungrouped-{items[0]['id']}"
    assert 'rel="next"' in r.headers["link"]
    only = (await alice.get("/api/v1/notifications", params={"types[]": ["follow"]})).json()
    assert [n["type"] for n in only] == ["follow"]
    without = (await alice.get("/api/v1/notifications", params={"exclude_types[]": ["follow", "mention"]})).json()
    assert [n["type"] for n in without] == ["favourite"]
    assert (await alice.get("/api/v1/notifications", params={"types[]": ["bogus"]})).status_code == 400
    one = await alice.get(f"/api/v1/notifications/{items[1]['id']}")
    assert one.json()["type"] == "favourite"
    # Someone else's notification is not found.
    assert (await bob.get(f"/api/v1/notifications/{items[1]['id']}")).status_code == 404
    assert (await alice.post(f"/api/v1/notifications/{items[1]['id']}/dismiss")).json() == {}
    assert [n["type"] for n in (await alice.get("/api/v1/notifications")).json()] == ["mention", "follow"]
    web = (await site.client().get("/notifications")).status_code
    assert web in (200, 302)
    assert (await alice.post("/api/v1/notifications/clear")).json() == {}
    assert (await alice.get("/api/v1/notifications")).json() == []


async def test_search(site, api):
    alice = await api("alice")
    post = await post_photo(alice, "Golden sunset over #Beach")
    r = await site.client().http.get("/api/v2/search", params={"q": "sunset"})
    body = r.json()
    assert [s["id"] for s in body["statuses"]] == [post["id"]]
    r = await site.client().http.get("/api/v2/search", params={"q": "ali"})
    assert [a["username"] for a in r.json()["accounts"]] == ["alice"]
    r = await site.client().http.get("/api/v2/search", params={"q": "#bea"})
    assert r.json()["accounts"] == [] and [t["name"] for t in r.json()["hashtags"]] == ["beach"]
    assert r.json()["hashtags"][0]["url"] == f"{site.base_url}/tags/beach"
    r = await site.client().http.get("/api/v2/search", params={"q": "ali", "type": "accounts", "offset": 1, "resolve": "true"})
    assert r.json()["accounts"] == []
    assert (await site.client().http.get("/api/v2/search", params={"q": "x", "type": "bad"})).status_code == 400
