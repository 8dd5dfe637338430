"""Statuses and media through the API: posts are photos posts, comments are replies, and every
change goes through the same services as the web pages."""

from __future__ import annotations

import asyncio

import pytest

from tests.api.support import jpeg, post_photo, upload_media
from tests.helpers import fixture_bytes
from tornagram.photos.models import MediaUpload, Photo


async def ready(http, media: dict) -> dict:
    """The upload once its large renditions are made (GET answers 206 until then)."""
    for _ in range(100):
        got = await http.get(f"/api/v1/media/{media['id']}")
        if got.status_code == 200:
            return got.json()
        await asyncio.sleep(0.1)
    raise AssertionError("the upload was never processed")


async def test_post_photos_with_alt_text_and_read_them_back(site, api):
    alice = await api("alice")
    first = await upload_media(alice, description="The first photo")
    second = await upload_media(alice, jpeg(30, 90), description="The second")
    assert first.status_code in (200, 202)
    media = await ready(alice, first.json())
    assert media["type"] == "image" and media["description"] == "The first photo"
    assert media["url"].startswith(site.base_url + "/media/")
    assert media["preview_url"].startswith(site.base_url + "/media/")
    assert media["meta"]["original"] == {"width": 64, "height": 48, "size": "64x48", "aspect": 1.333333}
    assert media["blurhash"]
    ids = [second.json()["id"], media["id"]]
    r = await alice.post("/api/v1/statuses", json={"status": "Two <b>cats</b> #Cats @bob", "media_ids": ids})
    assert r.status_code == 200, r.text
    status = r.json()
    # Kept in the given order; ids stable from upload to post.
    assert [m["id"] for m in status["media_attachments"]] == ids
    assert [m["description"] for m in status["media_attachments"]] == ["The second", "The first photo"]
    assert status["url"] == f"{site.base_url}/p/{status['id']}"
    assert "&lt;b&gt;cats&lt;/b&gt;" in status["content"]
    assert f'<a href="{site.base_url}/tags/cats" class="mention hashtag" rel="tag">#<span>Cats</span></a>' in status["content"]
    assert status["tags"] == [{"name": "cats", "url": f"{site.base_url}/tags/cats"}]
    assert status["visibility"] == "public" and status["favourited"] is False
    assert status["account"]["username"] == "alice"
    # The photo page shows it like any post, alt text included.
    page = await site.client().get(f"/p/{status['id']}")
    assert page.status_code == 200 and 'alt="The second"' in page.text
    # Uploads are used up.
    async with site.ctx.db.read() as session:
        assert (await session.execute(MediaUpload.__table__.select())).all() == []
        assert await session.get(Photo, int(ids[0])) is not None
    got = await site.client().http.get(f"/api/v1/statuses/{status['id']}")
    assert got.status_code == 200 and got.json()["id"] == status["id"] and "favourited" not in got.json()


async def test_gps_is_stripped_like_the_upload_page(site, api):
    alice = await api("alice")
    r = await upload_media(alice, fixture_bytes("camera-gps.jpg"))
    assert r.status_code in (200, 202)
    media = await ready(alice, r.json())
    assert media["preview_url"] == r.json()["preview_url"]  # stable from the first answer
    posted = await alice.post("/api/v1/statuses", data={"media_ids[]": [media["id"]]})
    photo = posted.json()["media_attachments"][0]
    # Neither the quick pass's preview nor the full pass's large rendition keeps it.
    for url in (photo["preview_url"], photo["url"]):
        image = await site.client().http.get(url.replace(site.base_url, ""))
        assert image.status_code == 200 and b"GPS" not in image.content


@pytest.mark.parametrize(
    "body, status",
    [
        ({"status": "no photo"}, 422),
        ({"status": "x", "media_ids[]": ["999"]}, 422),
        ({"status": "x", "media_ids[]": ["abc"]}, 422),
        ({"status": "x", "visibility": "direct"}, 422),
        ({"status": "x", "scheduled_at": "2030-01-01T00:00:00Z"}, 422),
        ({"status": "x", "in_reply_to_id": "12345"}, 404),
    ],
)
async def test_posting_refusals(site, api, body, status):
    alice = await api("alice")
    r = await alice.post("/api/v1/statuses", data=body)
    assert r.status_code == status, r.text
    assert isinstance(r.json()["error"], str)


async def test_json_type_and_size_refusals(site, api):
    alice = await api("alice")
    r = await alice.post("/api/v1/statuses", json={"status": {"a": 1}, "media_ids": []})
    assert r.status_code == 400 and "error" in r.json()
    r = await alice.post("/api/v1/statuses", json={"status": "x", "media_ids": {"a": 1}})
    assert r.status_code == 400
    r = await alice.post("/api/v1/statuses", json={"status": "x", "media_ids": ["1"] * 5000})
    assert r.status_code == 400
    r = await alice.post("/api/v1/statuses", json={"status": "x", "media_ids": ["1"] * 11})
    assert r.status_code == 422
    r = await alice.post("/api/v1/statuses", content=b"[1,2]", headers={"Content-Type": "application/json"})
    assert r.status_code == 400


async def test_someone_elses_or_used_media_is_refused(site, api):
    alice = await api("alice")
    bob = await api("bob")
    mine = (await upload_media(alice)).json()["id"]
    r = await bob.post("/api/v1/statuses", data={"status": "stolen", "media_ids[]": [mine]})
    assert r.status_code == 422
    assert (await bob.get(f"/api/v1/media/{mine}")).status_code == 404
    assert (await bob.put(f"/api/v1/media/{mine}", data={"description": "x"})).status_code == 404
    assert (await bob.delete(f"/api/v1/media/{mine}")).status_code == 404
    r = await alice.post("/api/v1/statuses", data={"status": "ok", "media_ids[]": [mine]})
    assert r.status_code == 200
    r = await alice.post("/api/v1/statuses", data={"status": "again", "media_ids[]": [mine]})
    assert r.status_code == 422


async def test_media_refusals_and_changes(site, api):
    alice = await api("alice")
    r = await upload_media(alice, b"not an image at all")
    assert r.status_code == 422 and "error" in r.json()
    r = await upload_media(alice, description="x" * 1501)
    assert r.status_code == 422
    r = await alice.post("/api/v2/media", data={"description": "no file"})
    assert r.status_code in (400, 422) and "error" in r.json()
    media = (await upload_media(alice)).json()
    r = await alice.put(f"/api/v1/media/{media['id']}", data={"description": "Better", "focus": "0.5,-0.25"})
    assert r.json()["description"] == "Better" and r.json()["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    assert (await alice.put(f"/api/v1/media/{media['id']}", data={"focus": "9,9"})).status_code == 422
    assert (await alice.get(f"/api/v1/media/{media['id']}")).status_code in (200, 206)
    assert (await alice.delete(f"/api/v1/media/{media['id']}")).json() == {}
    assert (await alice.get(f"/api/v1/media/{media['id']}")).status_code == 404
    # The deprecated endpoint says so; the new one does not.
    old = await upload_media(alice, path="/api/v1/media")
    assert old.status_code == 200 and old.headers["deprecation"]
    assert "deprecation" not in (await upload_media(alice)).headers


async def test_unattached_uploads_expire_and_gc_media_removes_their_files(site, api):
    from datetime import timedelta

    from tornagram.db.base import utcnow

    alice = await api("alice")
    media = await ready(alice, (await upload_media(alice, jpeg(70, 70, (1, 2, 3)))).json())
    key = media["url"].split("/media/", 1)[1]
    # Until it expires its files are referenced: gc-media leaves them.
    assert key not in await site.ctx.photos.gc_media(dry_run=True)
    assert await site.ctx.api_media.expire_unattached() == 0
    expired = await site.ctx.api_media.expire_unattached(now=utcnow() + timedelta(hours=25))
    assert expired == 1
    assert not await site.ctx.storage.exists(key)
    assert (await alice.get(f"/api/v1/media/{media['id']}")).status_code == 404


async def test_comments_are_reply_statuses(site, api):
    alice = await api("alice")
    bob = await api("bob")
    post = await post_photo(alice)
    r = await bob.post("/api/v1/statuses", data={"status": "Nice one @alice", "in_reply_to_id": post["id"]})
    assert r.status_code == 200, r.text
    comment = r.json()
    assert comment["in_reply_to_id"] == post["id"]
    assert comment["in_reply_to_account_id"] == post["account"]["id"]
    assert comment["url"] == f"{site.base_url}/p/{post['id']}#c{comment['id']}"
    assert comment["media_attachments"] == []
    reply = (await alice.post("/api/v1/statuses", data={"status": "Thanks", "in_reply_to_id": comment["id"]})).json()
    assert reply["in_reply_to_id"] == comment["id"]
    assert reply["in_reply_to_account_id"] == comment["account"]["id"]
    context = (await bob.get(f"/api/v1/statuses/{post['id']}/context")).json()
    assert context["ancestors"] == []
    assert [s["id"] for s in context["descendants"]] == [comment["id"], reply["id"]]
    context = (await bob.get(f"/api/v1/statuses/{reply['id']}/context")).json()
    assert [s["id"] for s in context["ancestors"]] == [post["id"], comment["id"]]
    assert (await bob.get(f"/api/v1/statuses/{post['id']}")).json()["replies_count"] == 2
    # The photo page shows the comment like any other.
    assert "Nice one" in (await site.client().get(f"/p/{post['id']}")).text
    # Comment rules: empty is refused, photos on a comment too.
    r = await bob.post("/api/v1/statuses", data={"status": " ", "in_reply_to_id": post["id"]})
    assert r.status_code == 422
    media = (await upload_media(bob)).json()["id"]
    r = await bob.post("/api/v1/statuses", data={"status": "x", "in_reply_to_id": post["id"], "media_ids[]": [media]})
    assert r.status_code == 422
    # Comments cannot be liked.
    assert (await alice.post(f"/api/v1/statuses/{comment['id']}/favourite")).status_code == 422


async def test_favourite_bookmark_and_their_lists(site, api):
    alice = await api("alice")
    bob = await api("bob")
    post = await post_photo(alice)
    for _ in range(2):  # idempotent
        r = await bob.post(f"/api/v1/statuses/{post['id']}/favourite")
        assert r.status_code == 200 and r.json()["favourited"] is True and r.json()["favourites_count"] == 1
    r = await bob.post(f"/api/v1/statuses/{post['id']}/bookmark")
    assert r.json()["bookmarked"] is True
    assert [s["id"] for s in (await bob.get("/api/v1/favourites")).json()] == [post["id"]]
    bookmarks = await bob.get("/api/v1/bookmarks")
    assert [s["id"] for s in bookmarks.json()] == [post["id"]] and 'rel="next"' in bookmarks.headers["link"]
    likers = (await site.client().http.get(f"/api/v1/statuses/{post['id']}/favourited_by")).json()
    assert [a["username"] for a in likers] == ["bob"]
    assert (await site.client().get(f"/p/{post['id']}/likes")).status_code == 200
    r = await bob.post(f"/api/v1/statuses/{post['id']}/unfavourite")
    assert r.json()["favourited"] is False and r.json()["favourites_count"] == 0
    r = await bob.post(f"/api/v1/statuses/{post['id']}/unbookmark")
    assert r.json()["bookmarked"] is False
    assert (await bob.post(f"/api/v1/statuses/{post['id']}/reblog")).status_code == 422


async def test_delete_rules(site, api):
    alice = await api("alice")
    bob = await api("bob")
    carol = await api("carol")
    post = await post_photo(alice, "Bye")
    comment = (await bob.post("/api/v1/statuses", data={"status": "hi", "in_reply_to_id": post["id"]})).json()
    assert (await carol.delete(f"/api/v1/statuses/{post['id']}")).status_code == 403
    assert (await carol.delete(f"/api/v1/statuses/{comment['id']}")).status_code == 403
    # The post's owner may delete comments on it.
    r = await alice.delete(f"/api/v1/statuses/{comment['id']}")
    assert r.status_code == 200 and r.json()["text"] == "hi"
    r = await alice.delete(f"/api/v1/statuses/{post['id']}")
    assert r.status_code == 200 and r.json()["text"] == "Bye"
    assert (await alice.get(f"/api/v1/statuses/{post['id']}")).status_code == 404
    assert (await site.client().get(f"/p/{post['id']}")).status_code == 404


async def test_private_accounts_are_invisible_to_strangers(site, api):
    dora_web = await site.user_client("dora")
    dora = await api("dora", client=dora_web)
    post = await post_photo(dora)
    async with site.ctx.db.write() as session:
        from sqlalchemy import update

        from tornagram.accounts.models import User

        await session.execute(update(User).where(User.username == "dora").values(is_private=True))
    stranger = await api("eve")
    for path in (f"/api/v1/statuses/{post['id']}", f"/api/v1/statuses/{post['id']}/context"):
        r = await stranger.get(path)
        assert r.status_code == 404 and r.json()["error"]
    assert (await stranger.post(f"/api/v1/statuses/{post['id']}/favourite")).status_code == 404
    assert (await dora.get(f"/api/v1/statuses/{post['id']}")).json()["visibility"] == "private"


async def test_idempotency_key_posts_once(site, api):
    alice = await api("alice")
    media = (await upload_media(alice)).json()["id"]
    headers = {"Idempotency-Key": "k-1"}
    first = await alice.post("/api/v1/statuses", data={"status": "once", "media_ids[]": [media]}, headers=headers)
    again = await alice.post("/api/v1/statuses", data={"status": "once", "media_ids[]": [media]}, headers=headers)
    assert first.status_code == again.status_code == 200 and first.json()["id"] == again.json()["id"]


async def test_media_is_answered_202_while_the_large_renditions_are_made(site, api):
    alice = await api("alice")
    r = await upload_media(alice, jpeg(1600, 1200))
    assert r.status_code in (200, 202), r.text
    media = r.json()
    assert media["preview_url"]
    if r.status_code == 202:
        assert media["url"] is None
    # GET says 206 while processing, then 200 with the large rendition.
    for _ in range(100):
        got = await alice.get(f"/api/v1/media/{media['id']}")
        if got.status_code == 200:
            break
        assert got.status_code == 206 and got.json()["url"] is None
        await asyncio.sleep(0.1)
    assert got.status_code == 200
    done = got.json()
    assert done["url"] and done["meta"]["original"]["width"] == 1600
    assert done["preview_url"] == media["preview_url"]
    # The deprecated v1 answers once done; a status may name an upload still processing
    # (it waits for it), and its post carries the large rendition.
    v1 = await upload_media(alice, jpeg(1200, 1600), path="/api/v1/media")
    assert v1.status_code == 200 and v1.json()["url"]
    fresh = (await upload_media(alice, jpeg(2000, 1000))).json()
    status = await alice.post("/api/v1/statuses", data={"media_ids[]": [fresh["id"], v1.json()["id"]]})
    assert status.status_code == 200, status.text
    photos = status.json()["media_attachments"]
    assert [p["id"] for p in photos] == [fresh["id"], v1.json()["id"]]
    assert all(p["url"] and p["url"] != p["preview_url"] for p in photos)


def refuse_in_full(path, *, max_pixels):
    """Runs in the image workers: the full pass refuses what the quick pass took."""
    from tornagram.photos.imaging import ImageRejected, RejectionReason

    raise ImageRejected(RejectionReason.CORRUPT, "refused in the full pass")


async def test_media_whose_full_pass_failed_is_422(site, api, monkeypatch):
    import tornagram.api.media_processing as processing

    monkeypatch.setattr(processing, "process_photo_file", refuse_in_full)
    alice = await api("alice")
    media = (await upload_media(alice)).json()
    for _ in range(100):
        got = await alice.get(f"/api/v1/media/{media['id']}")
        if got.status_code != 206:
            break
        await asyncio.sleep(0.1)
    assert got.status_code == 422 and got.json()["error"]
    r = await alice.post("/api/v1/statuses", data={"media_ids[]": [media["id"]]})
    assert r.status_code == 422
