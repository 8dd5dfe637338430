"""The MediaStorage contract: what every backend must do, run against each one through the
``storage`` fixture (tests/storage/conftest.py): the local disk, and S3 on a real moto server.
A new backend adds a param there and must pass all of this unchanged; what only one backend
promises is in test_local_storage.py and test_s3_storage.py."""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.helpers import TEST_MEDIA_SECRET
from tornagram.storage.base import (
    READ_CHUNK_BYTES,
    MediaNotFound,
    MediaStorage,
    check_key,
    content_key,
    key_digest,
    keyed_key,
)

JPEG_TYPE = "image/jpeg"
SOME_KEY = "ab/cd/abcd" + "0" * 60 + ".jpg"

BAD_KEYS = [
    "",
    "../etc/passwd",
    "/etc/passwd",
    "ab/cd/../../../etc/passwd",
    "ab/cd/abcd" + "0" * 60 + ".jpg/..",
    "/ab/cd/abcd" + "0" * 60 + ".jpg",
    "ab/cd/abcd" + "0" * 60 + ".jpg\n",  # "$" in a regex would let this through
    "ab/cd/abcd" + "0" * 60 + ".JPG",
    "AB/CD/ABCD" + "0" * 60 + ".jpg",
    "ab\\cd\\abcd" + "0" * 60 + ".jpg",
    "ab/cd/abcd" + "0" * 60 + ".jp\x00g",
    "k/../ab/cd/abcd" + "0" * 60 + ".jpg",
    "k/ab/cd/../../../../etc/passwd",
    "../k/ab/cd/abcd" + "0" * 60 + ".jpg",
    "ab/cd/abcd" + "0" * 59 + ".jpg",  # too short to be a SHA-256
    "ab/ce/abcd" + "0" * 60 + ".jpg",  # directory does not match the name
    "ab/cd/abcd" + "0" * 60,  # no extension
    "ab/cd/abcd" + "0" * 60 + ".toolongext",
    "ab/cd/.tmp-xyz",
    "ab/cd/./abcd" + "0" * 60 + ".jpg",
    "ab//cd/abcd" + "0" * 60 + ".jpg",
]


def test_implements_the_protocol(storage):
    assert isinstance(storage, MediaStorage)


async def test_put_returns_a_secret_keyed_key_and_get_returns_the_bytes(storage):
    data = b"\xff\xd8\xff not really a jpeg"
    key = await storage.put(data, ext="jpg", content_type=JPEG_TYPE)

    assert key == keyed_key(TEST_MEDIA_SECRET, data, "jpg")
    assert key.startswith("k/") and check_key(key) == key
    assert await storage.get(key) == data
    assert await storage.exists(key)
    info = await storage.stat(key)
    assert (info.size_bytes, info.content_type) == (len(data), JPEG_TYPE)
    assert info.etag == f'"{key_digest(key)}"'


async def test_a_key_computed_from_the_content_alone_finds_nothing(storage):
    data = b"a photo someone else also has"
    key = await storage.put(data, ext="jpg", content_type=JPEG_TYPE)

    # Neither the plain hash nor the same derivation under another site's secret.
    for guess in (content_key(data, "jpg"), keyed_key(b"another site's secret", data, "jpg")):
        assert guess != key
        assert not await storage.exists(guess)
        with pytest.raises(MediaNotFound):
            await storage.stat(guess)


async def test_read_streams_ranges_in_bounded_chunks(storage):
    data = os.urandom(READ_CHUNK_BYTES * 2 + 1000)
    key = await storage.put(data, ext="jpg", content_type=JPEG_TYPE)

    chunks = [chunk async for chunk in storage.read(key)]
    assert b"".join(chunks) == data
    assert len(chunks) >= 3 and max(map(len, chunks)) <= READ_CHUNK_BYTES
    assert b"".join([c async for c in storage.read(key, 10, 20)]) == data[10:20]
    assert b"".join([c async for c in storage.read(key, len(data) - 5)]) == data[-5:]
    assert b"".join([c async for c in storage.read(key, 7, 7)]) == b""


async def test_read_of_a_missing_key_raises_media_not_found(storage):
    with pytest.raises(MediaNotFound):
        [chunk async for chunk in storage.read(SOME_KEY)]
    with pytest.raises(MediaNotFound):
        [chunk async for chunk in storage.read(SOME_KEY, 0, 0)]


async def test_put_as_stores_under_a_given_key_and_old_plain_keys_still_read(storage):
    plain = content_key(b"stored before keys were secret", "png")
    await storage.put_as(plain, b"stored before keys were secret", content_type="image/png")

    assert await storage.get(plain) == b"stored before keys were secret"
    assert (await storage.stat(plain)).content_type == "image/png"
    assert [key async for key in storage.iter_keys()] == [plain]


async def test_put_is_idempotent(storage):
    first = await storage.put(b"same bytes", ext="webp", content_type="image/webp")
    second = await storage.put(b"same bytes", ext="webp", content_type="image/webp")

    assert first == second
    assert [key async for key in storage.iter_keys()] == [first]


async def test_different_bytes_or_extension_get_different_keys(storage):
    a = await storage.put(b"a", ext="jpg", content_type=JPEG_TYPE)
    b = await storage.put(b"b", ext="jpg", content_type=JPEG_TYPE)
    a_webp = await storage.put(b"a", ext="webp", content_type="image/webp")

    assert len({a, b, a_webp}) == 3
    assert await storage.get(a) == b"a" and await storage.get(b) == b"b"


async def test_concurrent_puts_of_the_same_bytes_make_one_file(storage):
    data = os.urandom(200_000)
    keys = await asyncio.gather(
        *(storage.put(data, ext="jpg", content_type=JPEG_TYPE) for _ in range(8))
    )

    assert len(set(keys)) == 1
    assert await storage.get(keys[0]) == data
    assert [key async for key in storage.iter_keys()] == [keys[0]]


async def test_delete_removes_and_a_missing_key_is_not_an_error(storage):
    key = await storage.put(b"bye", ext="png", content_type="image/png")

    await storage.delete(key)
    assert not await storage.exists(key)
    with pytest.raises(MediaNotFound):
        await storage.get(key)

    await storage.delete(key)  # again: still fine
    await storage.delete(SOME_KEY)  # never existed: fine


async def test_get_of_a_missing_key_raises_media_not_found(storage):
    with pytest.raises(MediaNotFound):
        await storage.get(SOME_KEY)
    assert not await storage.exists(SOME_KEY)


async def test_iter_keys_lists_every_stored_key(storage):
    stored = {
        await storage.put(f"file {n}".encode(), ext="jpg", content_type=JPEG_TYPE)
        for n in range(25)
    }

    assert {key async for key in storage.iter_keys()} == stored


async def test_iter_keys_on_an_empty_store(storage):
    assert [key async for key in storage.iter_keys()] == []


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_keys_are_refused_everywhere(storage, key):
    with pytest.raises(ValueError):
        await storage.get(key)
    with pytest.raises(ValueError):
        await storage.exists(key)
    with pytest.raises(ValueError):
        await storage.delete(key)
    with pytest.raises(ValueError):
        await storage.stat(key)
    with pytest.raises(ValueError):
        [chunk async for chunk in storage.read(key)]
    with pytest.raises(ValueError):
        await storage.put_as(key, b"x", content_type=JPEG_TYPE)


@pytest.mark.parametrize("ext", ["", ".jpg", "JPG", "../x", "jp/g", "a" * 9, "jpg\n"])
async def test_bad_extensions_are_refused(storage, ext):
    with pytest.raises(ValueError):
        await storage.put(b"x", ext=ext, content_type=JPEG_TYPE)
    assert [key async for key in storage.iter_keys()] == []


@pytest.mark.parametrize("content_type", ["", "image", "image/jpeg\r\nX-Evil: 1", "image/ jpeg"])
async def test_bad_content_types_are_refused(storage, content_type):
    with pytest.raises(ValueError):
        await storage.put(b"x", ext="jpg", content_type=content_type)


def test_key_shapes():
    key = content_key(b"", "jpg")
    assert key.startswith("e3/b0/e3b0c442")  # SHA-256 of nothing
    assert check_key(key) == key
    keyed = keyed_key(TEST_MEDIA_SECRET, b"", "jpg")
    assert keyed.startswith("k/") and check_key(keyed) == keyed
    assert check_key("k/" + key) == "k/" + key
    for bad in ("K/" + key, "k//" + key, "k/k/" + key, "x/" + key):
        with pytest.raises(ValueError):
            check_key(bad)
