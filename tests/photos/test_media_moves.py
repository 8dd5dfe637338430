"""``tornagram migrate-media``: media under plain content-hash keys moved to the site's secret
keys, rows and files together, in batches, resumably, on the local disk and on S3."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from sqlalchemy import update

from tests.helpers import make_bucket, post_id_from, s3_environment, upload
from tornagram.accounts.models import User
from tornagram.feeds.seed import Progress
from tornagram.photos.media_moves import count_old_keys, migrate_media
from tornagram.photos.media_refs import all_referenced_keys
from tornagram.photos.models import Rendition
from tornagram.storage.base import content_key, is_keyed, key_ext


@pytest.fixture(params=["local", "s3"])
async def any_site(request, settings, start_site, monkeypatch):
    if request.param == "s3":
        server = request.getfixturevalue("s3_server")
        s3_environment(monkeypatch)
        settings = replace(settings, media_url=server.media_url(await make_bucket(server)))
    return await start_site(settings)


async def as_before_keys_were_secret(site) -> dict[str, str]:
    """Rewrite the site's media as an older Tornagram stored it: under the content's SHA-256.
    Returns old key -> the bytes' keyed key."""
    storage = site.ctx.storage
    async with site.ctx.db.write() as session:
        keys = await all_referenced_keys(session)
        moved = {}
        for key in keys:
            data = await storage.get(key)
            old = content_key(data, key_ext(key))
            await storage.put_as(old, data, content_type="image/jpeg")
            moved[old] = key
            await session.execute(update(Rendition).where(Rendition.key == key).values(key=old))
            for column in (User.avatar_key, User.avatar_small_key):
                await session.execute(update(User).where(column == key).values({column: old}))
    for key in moved.values():
        await storage.delete(key)
    await site.ctx.db.changes.everything_changed()
    return moved


async def seed_media(site, image_bytes) -> list[int]:
    author = await site.user_client("ines")
    posts = []
    for name in ("camera-gps.jpg", "icc-srgb.jpg", "alpha.png"):
        r = await upload(author, [(name, image_bytes(name))])
        assert r.status_code == 303, r.text
        posts.append(post_id_from(r))
    r = await author.http.post(
        "/settings/profile",
        data={"_xsrf": await author.xsrf(), "display_name": "", "bio": "", "locale": ""},
        files={"avatar": ("me.jpg", image_bytes("camera-gps.jpg"), "image/jpeg")},
    )
    assert r.status_code in (200, 303), r.text
    return posts


async def stored(site) -> set[str]:
    return {key async for key in site.ctx.storage.iter_keys()}


async def test_migrate_media_rewrites_keys_and_rows_in_batches(any_site, image_bytes):
    site = any_site
    posts = await seed_media(site, image_bytes)
    moved = await as_before_keys_were_secret(site)
    assert await count_old_keys(site.ctx.db) == len(moved) > 3
    page = (await site.client().get(f"/p/{posts[0]}")).text
    assert any(old in page for old in moved)  # served as they are, until migrated

    out = io.StringIO()
    report = await migrate_media(site.ctx.db, site.ctx.storage, batch=3, progress=Progress(out))

    assert report.moved == len(moved) and not report.missing and not report.damaged
    assert "100%" in out.getvalue()
    async with site.ctx.db.read() as session:
        referenced = await all_referenced_keys(session)
    assert referenced == set(moved.values()) and all(map(is_keyed, referenced))
    assert await stored(site) == referenced  # no old file left, no new one unreferenced
    client = site.client()
    for post_id in posts:
        page = (await client.get(f"/p/{post_id}")).text
        assert not any(old in page for old in moved)
    for key in referenced:
        assert (await client.get(f"/media/{key}")).status_code == 200
    # Run again: nothing left to do.
    assert (await migrate_media(site.ctx.db, site.ctx.storage)).moved == 0


async def test_stopped_halfway_it_leaves_no_orphan_and_a_rerun_finishes(site, image_bytes):
    await seed_media(site, image_bytes)
    moved = await as_before_keys_were_secret(site)
    storage = site.ctx.storage
    real_put = storage.put
    puts = []

    async def interrupted(data, **kwargs):
        puts.append(1)
        if len(puts) == 5:  # in the second batch of three
            raise KeyboardInterrupt
        return await real_put(data, **kwargs)

    storage.put = interrupted
    with pytest.raises(KeyboardInterrupt):
        await migrate_media(site.ctx.db, storage, batch=3)
    del storage.put

    async with site.ctx.db.read() as session:
        referenced = await all_referenced_keys(session)
    # Every row points at a file, and every file is pointed at: the first batch moved, the
    # rest untouched.
    assert await stored(site) == referenced
    assert sum(map(is_keyed, referenced)) == 3
    remaining = await count_old_keys(site.ctx.db)
    assert remaining == len(moved) - 3

    report = await migrate_media(site.ctx.db, storage, batch=3)
    assert report.moved == remaining
    async with site.ctx.db.read() as session:
        referenced = await all_referenced_keys(session)
    assert referenced == set(moved.values()) and await stored(site) == referenced


async def test_a_missing_or_damaged_file_is_reported_and_its_rows_kept(site, image_bytes):
    await seed_media(site, image_bytes)
    moved = await as_before_keys_were_secret(site)
    gone, damaged = sorted(moved)[:2]
    await site.ctx.storage.delete(gone)
    await site.ctx.storage.put_as(damaged, b"not what the key names", content_type="image/jpeg")

    report = await migrate_media(site.ctx.db, site.ctx.storage, batch=2)

    assert report.missing == [gone] and report.damaged == [damaged]
    assert report.moved == len(moved) - 2
    async with site.ctx.db.read() as session:
        referenced = await all_referenced_keys(session)
    assert {gone, damaged} <= referenced
    assert await site.ctx.storage.exists(damaged)
