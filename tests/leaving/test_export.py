"""Export: a zip of everything a person has, built in the background, for its owner only."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import timedelta

from sqlalchemy import update

from tests.helpers import DEFAULT_PASSWORD, post_photo
from tornagram.accounts.models import DataExport
from tornagram.db.base import utcnow


async def build(site, client) -> str:
    """Starts an export and waits for it; returns its download path."""
    assert (await client.post("/settings/export")).status_code == 303
    await site.ctx.exports.close()  # every build in progress has finished
    page = await client.get("/settings/export")
    match = re.search(r'href="(/settings/export/[0-9]+/download)"', page.text)
    assert match, page.text
    return match.group(1)


async def test_export_holds_the_data_and_the_largest_photos(site):
    alice = await site.user_client("alice")
    bob = await site.user_client("bob")
    await alice.post("/settings/profile", {"display_name": "Alice A", "bio": "hi 你好", "locale": ""})
    mine = await post_photo(alice, 11, "sunset #sky")
    theirs = await post_photo(bob, 12, "bob's")
    await alice.post(f"/p/{theirs}/like")
    await alice.post(f"/p/{theirs}/save")
    await alice.post(f"/p/{theirs}/comments", {"body": "so nice"})
    await alice.post("/@bob/follow")
    await bob.post("/@alice/follow")

    page = await alice.get("/settings/export")
    assert page.status_code == 200 and "Prepare my file" in page.text
    path = await build(site, alice)
    response = await alice.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    for doc in ("profile.json", "posts.json", "comments.json", "likes.json", "saves.json",
                "following.json", "followers.json", "index.html"):
        assert doc in names, doc
    profile = json.loads(archive.read("profile.json"))
    assert profile["username"] == "alice" and profile["bio"] == "hi 你好"
    (post,) = json.loads(archive.read("posts.json"))
    assert post["id"] == str(mine) and post["caption"] == "sunset #sky"
    assert post["created_at"] and "camera" in post["photos"][0]
    photo_name = post["photos"][0]["file"]
    assert re.fullmatch(rf"photos/\d{{4}}-\d{{2}}-\d{{2}}_{mine}_1\.(jpg|jpeg|webp)", photo_name)
    image = archive.read(photo_name)
    assert len(image) > 0
    # The largest stored size: as wide as the original (64 px) at most, and the widest kept.
    assert post["photos"][0]["width"] == 64
    assert [c["text"] for c in json.loads(archive.read("comments.json"))] == ["so nice"]
    assert [x["post_id"] for x in json.loads(archive.read("likes.json"))] == [str(theirs)]
    assert [x["post_id"] for x in json.loads(archive.read("saves.json"))] == [str(theirs)]
    assert [x["username"] for x in json.loads(archive.read("following.json"))] == ["bob"]
    assert [x["username"] for x in json.loads(archive.read("followers.json"))] == ["bob"]
    assert photo_name in archive.read("index.html").decode()


async def test_only_the_owner_may_see_or_download_it(site):
    alice = await site.user_client("alice")
    await post_photo(alice, 13)
    path = await build(site, alice)
    export_id = path.split("/")[3]
    mallory = await site.user_client("mallory")
    assert (await mallory.get(path)).status_code == 404
    assert (await mallory.get(f"/settings/export/{export_id}.json")).status_code == 404
    assert (await site.client().get(path)).status_code == 302
    status = await alice.get(f"/settings/export/{export_id}.json")
    assert status.json() == {"status": "ready", "progress": 100}
    for bad in ("/settings/export/99999999999999999999/download", "/settings/export/0.json"):
        assert (await alice.get(bad)).status_code == 404


async def test_the_link_works_for_7_days(site):
    alice = await site.user_client("alice")
    path = await build(site, alice)
    async with site.ctx.db.write() as session:
        await session.execute(update(DataExport).values(expires_at=utcnow() - timedelta(seconds=1)))
    gone = await alice.get(path)
    assert gone.status_code == 404 and "expired" in gone.text
    page = await alice.get("/settings/export")
    assert "/download" not in page.text
    assert "Prepare a new file" in page.text


async def test_progress_page_refreshes_itself_without_script(site):
    alice = await site.user_client("alice")
    # An export being built (a row only: no build runs to finish it under the test).
    me = await site.ctx.accounts.by_username("alice")
    export = DataExport(id=site.ctx.ids.next_id(), user_id=me.id, status="pending", progress=40,
                        created_at=utcnow(), expires_at=utcnow() + timedelta(days=7))
    async with site.ctx.db.write() as session:
        session.add(export)
    page = await alice.get("/settings/export")
    assert '<meta http-equiv="refresh"' in page.text
    assert 'value="40"' in page.text
    assert f'data-export-status="/settings/export/{export.id}.json"' in page.text
    # Asking again while one is being built does not start another.
    again = await site.ctx.exports.start(me)
    assert again.id == export.id
    assert not site.ctx.exports._tasks


async def test_xsrf_is_required(site):
    alice = await site.user_client("alice")
    assert (await alice.post("/settings/export", xsrf=False)).status_code == 403


async def test_deleting_the_account_removes_its_exports(site):
    alice = await site.user_client("alice")
    await post_photo(alice, 14)
    await build(site, alice)
    folder = site.ctx.settings.exports_dir
    assert any(folder.rglob("*.zip"))
    done = await alice.post("/settings/delete", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert done.status_code == 200
    assert not any(folder.rglob("*.zip"))


async def test_a_build_that_died_shows_as_failed_and_old_zips_are_swept(site):
    alice = await site.user_client("alice")
    first = await build(site, alice)
    zips = list(site.ctx.settings.exports_dir.rglob("*.zip"))
    assert len(zips) == 1
    me = await site.ctx.accounts.by_username("alice")
    stale = DataExport(id=site.ctx.ids.next_id(), user_id=me.id, status="pending", progress=10,
                       created_at=utcnow() - timedelta(hours=2), expires_at=utcnow() + timedelta(days=5))
    async with site.ctx.db.write() as session:
        session.add(stale)
    page = await alice.get("/settings/export")
    assert "could not be prepared" in page.text
    assert '<meta http-equiv="refresh"' not in page.text
    second = await build(site, alice)
    assert second != first
    assert (await alice.get(first)).status_code == 404
    assert [p.name for p in site.ctx.settings.exports_dir.rglob("*.zip")] == [second.split("/")[3] + ".zip"]
