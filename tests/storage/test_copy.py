"""``tornagram media copy``: every object to another backend, verified, re-runnable; then a
site switched to the new backend loses nothing."""

from __future__ import annotations

import io
from dataclasses import replace

from tests.helpers import (
    TEST_MEDIA_SECRET,
    fixture_bytes,
    make_bucket,
    post_id_from,
    s3_bucket_storage,
    s3_environment,
    upload,
)
from tornagram.feeds.seed import Progress
from tornagram.storage import open_storage
from tornagram.storage.base import content_key, media_secret
from tornagram.storage.copy import copy_media
from tornagram.storage.local import LocalStorage


async def keys_of(storage) -> set[str]:
    return {key async for key in storage.iter_keys()}


async def test_copy_verifies_each_object_and_can_be_rerun(tmp_path, s3_server, monkeypatch):
    source = LocalStorage(tmp_path / "media", secret=TEST_MEDIA_SECRET)
    keys = {
        await source.put(f"photo {n}".encode() * 500, ext="jpg", content_type="image/jpeg")
        for n in range(5)
    }
    old = content_key(b"stored before keys were secret", "jpg")
    await source.put_as(old, b"stored before keys were secret", content_type="image/jpeg")
    target = await s3_bucket_storage(s3_server)
    try:
        out = io.StringIO()
        report = await copy_media(source, target, secret=TEST_MEDIA_SECRET, progress=Progress(out))
        assert (report.copied, report.already_there) == (6, 0) and "100%" in out.getvalue()
        assert await keys_of(target) == keys | {old}
        for key in keys:
            assert await target.get(key) == await source.get(key)

        # Again: nothing to copy. Then a damaged copy in the target is found and replaced.
        assert (await copy_media(source, target, secret=TEST_MEDIA_SECRET)).copied == 0
        broken = sorted(keys)[0]
        await target.put_as(broken, b"truncated", content_type="image/jpeg")
        again = await copy_media(source, target, secret=TEST_MEDIA_SECRET)
        assert (again.copied, again.already_there) == (1, 5)
        assert await target.get(broken) == await source.get(broken)

        # A damaged source object is named, not spread.
        await source.put_as(broken, b"rotten", content_type="image/jpeg")
        await target.delete(broken)
        last = await copy_media(source, target, secret=TEST_MEDIA_SECRET)
        assert last.damaged == [broken] and not await target.exists(broken)
    finally:
        await target.close()


async def test_a_site_switched_to_the_copy_loses_nothing(
    settings, s3_server, monkeypatch, start_site
):
    local_site = await start_site(settings)
    author = await local_site.user_client("jo")
    r = await upload(author, [("photo.jpg", fixture_bytes("camera-gps.jpg"))])
    post_id = post_id_from(r)
    page = (await local_site.client().get(f"/p/{post_id}")).text

    s3_environment(monkeypatch)
    s3_settings = replace(settings, media_url=s3_server.media_url(await make_bucket(s3_server)))
    source, target = open_storage(settings), open_storage(s3_settings)
    try:
        report = await copy_media(source, target, secret=media_secret(settings.cookie_secret))
        assert report.copied == len(await keys_of(source)) and not report.failed
    finally:
        await target.close()

    s3_site = await start_site(s3_settings)
    client = s3_site.client()
    again = (await client.get(f"/p/{post_id}")).text
    view = await s3_site.ctx.photos.get_post(post_id, None)
    shown = [r.key for r in view.post.photos[0].renditions if r.key in page]
    assert shown and all(key in again for key in shown)
    for rendition in view.post.photos[0].renditions:
        assert (await client.get(f"/media/{rendition.key}")).status_code == 200
