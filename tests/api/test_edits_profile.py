"""Editing a post through the API (caption, alt text, edited_at), the profile's own change
(update_credentials) and the account search, through the real HTTP stack."""

from __future__ import annotations

from tests.api.support import jpeg, post_photo, upload_media


async def test_a_post_is_edited_caption_and_alt_text(site, api):
    alice = await api("alice")
    bob = await api("bob")
    status = await post_photo(alice, "Before #cats")
    assert status["edited_at"] is None
    media_id = status["media_attachments"][0]["id"]
    r = await alice.put(
        f"/api/v1/statuses/{status['id']}",
        json={"status": "After #dogs", "media_attributes": [{"id": media_id, "description": "A dog"}]},
    )
    assert r.status_code == 200, r.text
    edited = r.json()
    assert "After" in edited["content"] and edited["edited_at"]
    assert edited["media_attachments"][0]["description"] == "A dog"
    assert [t["name"] for t in edited["tags"]] == ["dogs"]
    # The photo page shows the same post (one service for both front ends).
    page = await site.client().http.get(f"/p/{status['id']}")
    assert "A dog" in page.text
    # A form body works too, and a like afterwards does not count as an edit.
    r = await alice.put(
        f"/api/v1/statuses/{status['id']}",
        data={"media_attributes[][id]": media_id, "media_attributes[][description]": "x" * 1500},
    )
    assert r.status_code == 200, r.text
    assert r.json()["content"].startswith("<p>After")
    # Alt text past the one shared limit: 422, through the same rule as the pages.
    r = await alice.put(
        f"/api/v1/statuses/{status['id']}",
        json={"media_attributes": [{"id": media_id, "description": "x" * 1501}]},
    )
    assert r.status_code == 422 and "1500" in r.json()["error"]
    # Someone else's post: 403; photos cannot be swapped; a comment is not edited.
    r = await bob.put(f"/api/v1/statuses/{status['id']}", json={"status": "mine now"})
    assert r.status_code == 403 and r.json()["error"]
    r = await alice.put(f"/api/v1/statuses/{status['id']}", json={"media_ids": ["1"]})
    assert r.status_code == 422
    comment = (await bob.post("/api/v1/statuses",
                              data={"status": "nice", "in_reply_to_id": status["id"]})).json()
    r = await bob.put(f"/api/v1/statuses/{comment['id']}", json={"status": "nicer"})
    assert r.status_code == 422
    r = await alice.put(f"/api/v1/statuses/{status['id']}", json={"media_attributes": "no"})
    assert r.status_code == 400 and r.json()["error"]


async def test_media_description_limit_is_the_sites_alt_text_limit(site, api):
    alice = await api("alice")
    ok = await upload_media(alice, description="y" * 1500)
    assert ok.status_code in (200, 202), ok.text
    assert ok.json()["description"] == "y" * 1500
    too_long = await upload_media(alice, description="y" * 1501)
    assert too_long.status_code == 422 and "1500" in too_long.json()["error"]
    instance = (await site.client().http.get("/api/v1/instance")).json()
    assert instance["configuration"]["media_attachments"]["description_limit"] == 1500
    # The upload page asks for the same limit.
    page = await (await site.user_client("carol")).get("/upload")
    assert 'data-alt-max="1500"' in page.text


async def test_update_credentials(site, api):
    alice = await api("alice")
    r = await alice.patch(
        "/api/v1/accounts/update_credentials",
        data={"display_name": "Alice A.", "note": "Cats <b>only</b>", "locked": "true"},
        files={"avatar": ("me.jpg", jpeg(200, 200), "image/jpeg")},
    )
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["display_name"] == "Alice A." and me["locked"] is True
    assert me["source"]["note"] == "Cats <b>only</b>" and "&lt;b&gt;" in me["note"]
    assert me["source"]["privacy"] == "private"
    assert (await site.client().http.get(me["avatar"])).status_code == 200
    # What is not sent stays; JSON bodies work.
    r = await alice.patch("/api/v1/accounts/update_credentials", json={"locked": False})
    assert r.json()["display_name"] == "Alice A." and r.json()["locked"] is False
    r = await alice.patch("/api/v1/accounts/update_credentials", json={"display_name": "x" * 500})
    assert r.status_code == 422 and r.json()["error"]
    r = await alice.patch("/api/v1/accounts/update_credentials", json={"locked": "maybe"})
    assert r.status_code == 400
    reader = await api("dora", scope="read")
    r = await reader.patch("/api/v1/accounts/update_credentials", json={"display_name": "no"})
    assert r.status_code == 403


async def test_account_search(site, api):
    alice = await api("alice")
    await api("alfred")
    await api("bob")
    r = await alice.get("/api/v1/accounts/search", params={"q": "al", "limit": 5})
    assert r.status_code == 200
    assert {a["username"] for a in r.json()} == {"alice", "alfred"}
    r = await alice.get("/api/v1/accounts/search", params={"q": "@bo"})
    assert [a["username"] for a in r.json()] == ["bob"]
    r = await alice.get("/api/v1/accounts/search", params={"q": "al", "limit": 1, "offset": 1})
    assert len(r.json()) == 1
    r = await site.client().http.get("/api/v1/accounts/search", params={"q": "al"})
    assert r.status_code == 401
