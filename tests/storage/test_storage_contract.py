"""The MediaStorage contract: what every backend must do, run against each one through the
``storage`` fixture (tests/storage/conftest.py). A new backend (S3, say) adds a param there and
must pass all of this unchanged; what only the local disk promises is in test_local_storage.py."""

from __future__ import annotations

import asyncio
import hashlib
import os

import pytest

from tornagram.storage.base import MediaNotFound, MediaStorage, check_key, content_key

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


async def test_put_returns_a_content_addressed_key_and_get_returns_the_bytes(storage):
    data = b"\xff\xd8\xff not really a jpeg"
    key = await storage.put(data, ext="jpg", content_type=JPEG_TYPE)

    digest = hashlib.sha256(data).hexdigest()
    assert key == f"{digest[:2]}/{digest[2:4]}/{digest}.jpg"
    assert check_key(key) == key
    assert await storage.get(key) == data
    assert await storage.exists(key)


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
        storage.local_path(key)


@pytest.mark.parametrize("ext", ["", ".jpg", "JPG", "../x", "jp/g", "a" * 9, "jpg\n"])
async def test_bad_extensions_are_refused(storage, ext):
    with pytest.raises(ValueError):
        await storage.put(b"x", ext=ext, content_type=JPEG_TYPE)
    assert [key async for key in storage.iter_keys()] == []


@pytest.mark.parametrize("content_type", ["", "image", "image/jpeg\r\nX-Evil: 1", "image/ jpeg"])
async def test_bad_content_types_are_refused(storage, content_type):
    with pytest.raises(ValueError):
        await storage.put(b"x", ext="jpg", content_type=content_type)


def test_content_key_shape():
    key = content_key(b"", "jpg")
    assert key.startswith("e3/b0/e3b0c442")  # SHA-256 of nothing
    assert check_key(key) == key
