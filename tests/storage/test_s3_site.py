"""A site on S3: two servers with their own data dirs sharing one bucket, and an S3 outage in
the middle of an upload (the moto server stopped): a clear answer, no row, no object."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from sqlalchemy import func, select

from tests.helpers import fixture_bytes, make_bucket, post_id_from, s3_environment, upload
from tornagram.photos.models import Post
from tornagram.storage.base import StorageUnavailable
from tornagram.web.ui_modules import TEMPLATE_AVATAR_KEY

PHOTO = "camera-gps.jpg"


async def s3_settings(settings, server, monkeypatch):
    s3_environment(monkeypatch)  # credentials from the standard AWS variables
    return replace(settings, media_url=server.media_url(await make_bucket(server)))


async def allow_public_reads(server, bucket: str) -> None:
    """The policy a bucket serving media straight to browsers has (docs/deployment.md)."""
    from tests.helpers import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY
    from tornagram.storage.s3 import shared_session

    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/media/*",
            }
        ],
    }
    async with shared_session().create_client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=S3_REGION,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
    ) as client:
        await client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


async def rendition_keys(site, post_id: int) -> list[str]:
    view = await site.ctx.photos.get_post(post_id, None)
    return [r.key for photo in view.post.photos for r in photo.renditions]


async def post_count(site) -> int:
    async with site.ctx.db.read() as session:
        return await session.scalar(select(func.count()).select_from(Post))


async def test_two_servers_with_their_own_data_dirs_serve_one_site_from_one_bucket(
    settings, s3_server, monkeypatch, start_site, tmp_path
):
    first_settings = await s3_settings(settings, s3_server, monkeypatch)
    other_dir = tmp_path / "other-host"
    other_dir.mkdir()
    first = await start_site(first_settings)
    second = await start_site(replace(first_settings, data_dir=other_dir))

    author = await first.user_client("ada")
    r = await upload(author, [("photo.jpg", fixture_bytes(PHOTO))])
    assert r.status_code == 303, r.text
    post_id = post_id_from(r)
    keys = await rendition_keys(first, post_id)

    assert not (other_dir / "media").exists() and not (settings.data_dir / "media").exists()
    page = await second.client().get(f"/p/{post_id}")
    assert page.status_code == 200 and keys[0] in page.text
    from_first = await first.client().get(f"/media/{keys[0]}")
    from_second = await second.client().get(f"/media/{keys[0]}")
    assert from_second.status_code == 200 and from_second.content == from_first.content
    assert from_second.headers["etag"] == from_first.headers["etag"]
    # A URL one server signs, the other honours: they are one site, with one secret.
    signed = first.ctx.media_urls.signed(keys[1])
    assert (await second.client().get(signed)).status_code == 200


async def test_s3_down_mid_upload_leaves_no_row_and_no_object(
    settings, own_s3_server, monkeypatch, start_site
):
    site = await start_site(await s3_settings(settings, own_s3_server, monkeypatch))
    author = await site.user_client("bea")
    r = await upload(author, [("first.jpg", fixture_bytes(PHOTO))])
    assert r.status_code == 303, r.text
    shown_post = post_id_from(r)
    before = sorted([key async for key in site.ctx.storage.iter_keys()])
    storage = site.ctx.storage
    real_put = storage.put

    async def put_as_s3_goes_away(data, **kwargs):
        own_s3_server.stop()  # the photo is decoded and resized; now the store vanishes
        return await real_put(data, **kwargs)

    monkeypatch.setattr(storage, "put", put_as_s3_goes_away)
    r = await upload(author, [("second.jpg", fixture_bytes("icc-srgb.jpg"))])
    assert r.status_code == 503, r.text
    assert "Photos cannot be stored right now" in r.text
    assert r.headers["retry-after"]
    # Pages that only show media keep answering; the media itself is a 503, never a 500.
    assert (await site.client().get(f"/p/{shown_post}")).status_code == 200
    assert (await site.client().get(f"/media/{before[0]}")).status_code == 503

    own_s3_server.start()
    assert await post_count(site) == 1
    assert sorted([key async for key in storage.iter_keys()]) == before



async def test_deleting_a_post_while_s3_is_down_deletes_it_and_leaves_the_files_to_gc(
    settings, own_s3_server, monkeypatch, start_site
):
    site = await start_site(await s3_settings(settings, own_s3_server, monkeypatch))
    author = await site.user_client("cy")
    post_id = post_id_from(await upload(author, [("p.jpg", fixture_bytes(PHOTO))]))
    keys = await rendition_keys(site, post_id)
    own_s3_server.stop()
    r = await author.post(f"/p/{post_id}/delete")
    assert r.status_code == 303, r.text
    assert (await site.client().get(f"/p/{post_id}")).status_code == 404
    assert await post_count(site) == 0
    own_s3_server.start()
    # The files outlived the outage unreferenced; the sweep takes them.
    left = {key async for key in site.ctx.storage.iter_keys()}
    assert set(keys) <= left
    await site.ctx.photos.gc_media(dry_run=False)
    assert not {key async for key in site.ctx.storage.iter_keys()} & set(keys)

async def test_a_failure_after_some_objects_were_stored_takes_them_back(
    settings, s3_server, monkeypatch, start_site
):
    site = await start_site(await s3_settings(settings, s3_server, monkeypatch))
    author = await site.user_client("cai")
    storage = site.ctx.storage
    real_put = storage.put
    calls = []

    async def fails_on_the_third(data, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise StorageUnavailable("media storage refused the request (SlowDown)")
        return await real_put(data, **kwargs)

    monkeypatch.setattr(storage, "put", fails_on_the_third)
    r = await upload(author, [("photo.jpg", fixture_bytes(PHOTO))])
    assert r.status_code == 503
    assert await post_count(site) == 0
    assert [key async for key in storage.iter_keys()] == []


async def test_gc_media_on_s3_in_batches_with_a_dry_run(
    settings, s3_server, monkeypatch, start_site
):
    site = await start_site(await s3_settings(settings, s3_server, monkeypatch))
    author = await site.user_client("dov")
    r = await upload(author, [("photo.jpg", fixture_bytes(PHOTO))])
    kept = await rendition_keys(site, post_id_from(r))
    storage = site.ctx.storage
    orphans = sorted(
        [
            await storage.put(f"orphan {n}".encode(), ext="jpg", content_type="image/jpeg")
            for n in range(3)
        ]
    )

    assert await site.ctx.photos.gc_media(dry_run=True, batch=2) == orphans
    assert all([await storage.exists(key) for key in orphans])
    assert await site.ctx.photos.gc_media(batch=2) == orphans
    assert sorted([key async for key in storage.iter_keys()]) == sorted(set(kept))


async def test_media_public_url_serves_public_photos_from_the_bucket_and_private_presigned(
    settings, s3_server, monkeypatch, start_site
):
    import httpx

    s3_environment(monkeypatch)
    bucket = await make_bucket(s3_server)
    public_base = f"{s3_server.endpoint}/{bucket}/media/"  # the bucket's own address, as a CDN
    await allow_public_reads(s3_server, bucket)
    site = await start_site(
        replace(settings, media_url=s3_server.media_url(bucket), media_public_url=public_base)
    )
    await site.ctx.start_media()
    public_author = await site.user_client("eli")
    r = await upload(public_author, [("photo.jpg", fixture_bytes(PHOTO))])
    public_post = post_id_from(r)
    private_author = await site.user_client("fay")
    await private_author.post(
        "/settings/profile", {"display_name": "", "bio": "", "locale": "", "private": "on"}
    )
    r = await upload(private_author, [("photo.jpg", fixture_bytes("icc-srgb.jpg"))])
    private_post = post_id_from(r)

    async with httpx.AsyncClient() as bucket_client:
        page = (await site.client().get(f"/p/{public_post}")).text
        key = (await rendition_keys(site, public_post))[0]
        assert f"{public_base}{key}" in page
        direct = await bucket_client.get(public_base + key)
        assert direct.status_code == 200 and "immutable" in direct.headers["cache-control"]

        page = (await private_author.get(f"/p/{private_post}")).text.replace("&amp;", "&")
        found = re.findall(r'(http://127\.0\.0\.1:[0-9]+/[^"\s,]+)', page)
        presigned = sorted({url for url in found if "X-Amz-Signature=" in url})
        assert presigned, "a private photo is shown by presigned URL"
        got = await bucket_client.get(presigned[0])
        assert got.status_code == 200
        assert got.headers["cache-control"].startswith("private, max-age=")
        # Nothing of the private post is handed out unsigned (the live-comment template's
        # stand-in avatar is no stored file).
        unsigned = [
            u for u in found if "X-Amz-Signature=" not in u and TEMPLATE_AVATAR_KEY not in u
        ]
        assert not unsigned
