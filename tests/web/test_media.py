"""/media/: public photos by plain, cacheable URLs; private ones only by signed, expiring URLs;
ETag, ranges and errors the same for every backend (web/media.py, storage/urls.py)."""

from __future__ import annotations

import html
import re

from tests.helpers import post_id_from, upload
from tornagram.storage.base import content_key, keyed_key, media_secret

PROFILE_FORM = {"display_name": "", "bio": "", "locale": ""}


def media_urls_in(page: str) -> list[str]:
    return [html.unescape(u) for u in re.findall(r"/media/[^\"'\s,]+", page)]


async def post_with_photo(site, client, image_bytes) -> tuple[int, list[str]]:
    r = await upload(client, [("gps.jpg", image_bytes("camera-gps.jpg"))])
    assert r.status_code == 303, r.text
    post_id = post_id_from(r)
    view = await site.ctx.photos.get_post(post_id, await _author(site, post_id))
    keys = [r.key for photo in view.post.photos for r in photo.renditions]
    return post_id, keys


async def _author(site, post_id):
    from sqlalchemy import select

    from tornagram.accounts.models import User
    from tornagram.photos.models import Post

    async with site.ctx.db.read() as session:
        return await session.scalar(
            select(User).join(Post, Post.author_id == User.id).where(Post.id == post_id)
        )


async def make_private(client) -> None:
    r = await client.post("/settings/profile", {**PROFILE_FORM, "private": "on"})
    assert r.status_code in (200, 303), r.text


async def test_public_photos_have_plain_immutable_urls(site, image_bytes):
    owner = await site.user_client("pia")
    post_id, keys = await post_with_photo(site, owner, image_bytes)

    page = (await site.client().get(f"/p/{post_id}")).text
    urls = media_urls_in(page)
    assert urls and all("?" not in url for url in urls if url.split("/media/")[1] in keys)
    r = await site.client().get(f"/media/{keys[0]}")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"


async def test_an_anonymous_client_cannot_fetch_a_private_photos_media(site, image_bytes):
    owner = await site.user_client("quinn")
    await make_private(owner)
    post_id, keys = await post_with_photo(site, owner, image_bytes)
    anonymous, stranger = site.client(), await site.user_client("rufus")

    for client in (anonymous, stranger):
        for key in keys:
            r = await client.get(f"/media/{key}")
            assert r.status_code == 404, key
            assert r.headers["cache-control"] == "no-store"
        # Nor does any page they are shown carry a URL of it, signed or not.
        for path in ("/", "/explore", "/quinn", f"/p/{post_id}"):
            page = (await client.get(path)).text
            assert not any(key in page for key in keys), path

    # The owner's own page carries signed URLs, which work for whoever holds them, privately.
    page = (await owner.get(f"/p/{post_id}")).text
    signed = [u for u in media_urls_in(page) if u.split("?")[0].removeprefix("/media/") in keys]
    assert signed and all(re.search(r"\?e=[0-9]+&s=[0-9a-f]{32}$", u) for u in signed)
    r = await anonymous.get(signed[0])
    assert r.status_code == 200 and r.content
    cache = r.headers["cache-control"]
    assert cache.startswith("private, max-age=") and "immutable" not in cache
    assert int(cache.rsplit("=", 1)[1]) <= site.ctx.media_urls.ttl_secs


async def test_a_signed_url_stops_working_after_its_expiry_and_cannot_be_altered(site, image_bytes):
    owner = await site.user_client("sol")
    await make_private(owner)
    _post_id, keys = await post_with_photo(site, owner, image_bytes)
    urls = site.ctx.media_urls
    now = 1_900_000_000
    urls.clock = lambda: now
    signed = urls.signed(keys[0])
    client = site.client()
    assert (await client.get(signed)).status_code == 200

    expires = int(re.search(r"e=([0-9]+)", signed)[1])
    assert urls.ttl_secs * 3 // 4 <= expires - now <= urls.ttl_secs
    urls.clock = lambda: expires
    assert (await client.get(signed)).status_code == 403
    urls.clock = lambda: now
    later = signed.replace(f"e={expires}", f"e={expires + 86400}")
    other_key = signed.replace(keys[0], keys[1])
    flipped = signed[:-1] + ("1" if signed.endswith("0") else "0")
    for bad in (later, other_key, flipped, signed.split("&")[0], signed + "é"):
        assert (await client.get(bad)).status_code in (403, 404), bad


async def test_turning_private_closes_the_unsigned_urls_at_once(site, image_bytes):
    owner = await site.user_client("tove")
    _post_id, keys = await post_with_photo(site, owner, image_bytes)
    client = site.client()
    assert (await client.get(f"/media/{keys[0]}")).status_code == 200

    await make_private(owner)
    assert (await client.get(f"/media/{keys[0]}")).status_code == 404

    await owner.post("/settings/profile", PROFILE_FORM)  # public again
    assert (await client.get(f"/media/{keys[0]}")).status_code == 200


async def test_a_key_computed_on_another_site_with_the_same_photo_finds_nothing(site, image_bytes):
    owner = await site.user_client("ulla")
    _post_id, keys = await post_with_photo(site, owner, image_bytes)
    client = site.client()
    for key in keys:
        data = await site.ctx.storage.get(key)
        ext = key.rsplit(".", 1)[1]
        # What another Tornagram computes for the very same rendition, and the plain hash.
        elsewhere = keyed_key(media_secret("another site's secret " + "y" * 32), data, ext)
        for guess in (elsewhere, content_key(data, ext)):
            assert guess != key
            assert (await client.get(f"/media/{guess}")).status_code == 404


async def test_etag_ranges_and_head(site, image_bytes):
    owner = await site.user_client("vera")
    _post_id, keys = await post_with_photo(site, owner, image_bytes)
    client = site.client()
    whole = await client.get(f"/media/{keys[0]}")
    size = len(whole.content)
    etag = whole.headers["etag"]
    assert whole.headers["accept-ranges"] == "bytes"
    assert int(whole.headers["content-length"]) == size

    assert (
        await client.get(f"/media/{keys[0]}", headers={"If-None-Match": etag})
    ).status_code == 304
    tail = await client.get(f"/media/{keys[0]}", headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == whole.content[-10:]
    assert tail.headers["content-range"] == f"bytes {size - 10}-{size - 1}/{size}"
    rest = await client.get(f"/media/{keys[0]}", headers={"Range": f"bytes={size - 3}-"})
    assert rest.content == whole.content[-3:]
    beyond = await client.get(f"/media/{keys[0]}", headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{size}"
    several = await client.get(f"/media/{keys[0]}", headers={"Range": "bytes=0-1,5-9"})
    assert several.status_code == 200 and several.content == whole.content
    head = await client.http.head(f"/media/{keys[0]}")
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == size


async def test_a_missing_object_is_404_and_traversal_is_refused(site, image_bytes):
    owner = await site.user_client("wim")
    _post_id, keys = await post_with_photo(site, owner, image_bytes)
    await site.ctx.storage.delete(keys[0])  # gone from the backend, still in a row
    client = site.client()
    assert (await client.get(f"/media/{keys[0]}")).status_code == 404
    signed = site.ctx.media_urls.signed(keys[0])
    assert (await client.get(signed)).status_code == 404
    (site.ctx.settings.data_dir / "secret.txt").write_text("top secret")
    for path in (
        "/media/k/../../secret.txt",
        "/media/k%2f..%2f..%2fsecret.txt",
        "/media/" + keys[1].replace("/", "/../", 1),
        "/media/" + keys[1] + "%00",
    ):
        r = await client.get(path)
        assert r.status_code in (403, 404), path
        assert "top secret" not in r.text


async def test_cached_cards_never_hold_a_signed_url_past_its_window(site, image_bytes):
    owner = await site.user_client("xena")
    await make_private(owner)
    _post_id, _keys = await post_with_photo(site, owner, image_bytes)
    urls = site.ctx.media_urls
    now = 1_900_000_000
    urls.clock = lambda: now

    def signed_in(page: str) -> set[str]:
        return {u for u in media_urls_in(page) if "?e=" in u}

    first = signed_in((await owner.get("/")).text)
    assert first and signed_in((await owner.get("/")).text) == first  # same window: same URLs
    urls.clock = lambda: now + urls.window_secs
    second = signed_in((await owner.get("/")).text)
    assert second and second.isdisjoint(first)
    # Every URL a page hands out holds for at least three quarters of its lifetime.
    for url in second:
        assert int(re.search(r"e=([0-9]+)", url)[1]) - urls.clock() >= urls.ttl_secs * 3 // 4


async def test_deleting_a_post_ends_its_signed_urls_too(site, image_bytes):
    owner = await site.user_client("yoko")
    await make_private(owner)
    post_id, keys = await post_with_photo(site, owner, image_bytes)
    signed = site.ctx.media_urls.signed(keys[0])
    client = site.client()
    assert (await client.get(signed)).status_code == 200

    r = await owner.post(f"/p/{post_id}/delete")
    assert r.status_code in (200, 303), r.text
    assert (await client.get(signed)).status_code == 404
