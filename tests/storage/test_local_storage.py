"""MediaStorage behaviour (every backend, via the `storage` fixture) and LocalStorage's disk
guarantees: atomic, durable writes done off the event loop, and keys that cannot escape."""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import threading
import time

import pytest

from tornagram.storage import local as local_module
from tornagram.storage.base import MediaNotFound, MediaStorage, check_key, content_key
from tornagram.storage.local import TEMP_PREFIX, LocalStorage

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


def files_under(root) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(directory, name), root)
        for directory, _, names in os.walk(root)
        for name in names
    )


def test_local_storage_implements_the_protocol(local_storage):
    assert isinstance(local_storage, MediaStorage)


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


# ---- LocalStorage: what only a disk backend can promise ----


async def test_local_path_points_at_the_file_under_root(local_storage):
    key = await local_storage.put(b"on disk", ext="jpg", content_type=JPEG_TYPE)

    path = local_storage.local_path(key)
    assert path == local_storage.root / key
    assert path.read_bytes() == b"on disk"
    assert path.resolve().is_relative_to(local_storage.root.resolve())


async def test_files_are_world_readable_for_a_front_end_server(local_storage):
    key = await local_storage.put(b"public", ext="jpg", content_type=JPEG_TYPE)

    mode = stat.S_IMODE(local_storage.local_path(key).stat().st_mode)
    assert mode == 0o644


async def test_a_successful_put_leaves_no_temporary_files(local_storage):
    keys = [
        await local_storage.put(f"{n}".encode() * 1000, ext="jpg", content_type=JPEG_TYPE)
        for n in range(5)
    ]

    assert files_under(local_storage.root) == sorted(keys)


async def test_a_failure_mid_write_leaves_neither_the_file_nor_debris(local_storage, monkeypatch):
    # Something already stored must survive a later failed write untouched.
    kept = await local_storage.put(b"kept", ext="jpg", content_type=JPEG_TYPE)

    def failing_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(local_module.os, "fsync", failing_fsync)
    data = b"half written" * 1000
    with pytest.raises(OSError, match="No space left"):
        await local_storage.put(data, ext="jpg", content_type=JPEG_TYPE)
    monkeypatch.undo()

    assert files_under(local_storage.root) == [kept]
    assert not await local_storage.exists(content_key(data, "jpg"))
    assert await local_storage.get(kept) == b"kept"


async def test_a_failure_at_rename_leaves_no_debris(local_storage, monkeypatch):
    def failing_replace(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(local_module.os, "replace", failing_replace)
    with pytest.raises(OSError, match="Input/output"):
        await local_storage.put(b"never lands", ext="jpg", content_type=JPEG_TYPE)
    monkeypatch.undo()

    assert files_under(local_storage.root) == []


async def test_write_is_flushed_synced_then_renamed_and_the_directory_synced(
    local_storage, monkeypatch
):
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def spy_fsync(fd):
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        calls.append(f"fsync {kind}")
        real_fsync(fd)

    def spy_replace(src, dst):
        assert os.path.basename(src).startswith(TEMP_PREFIX)
        assert os.path.dirname(src) == os.path.dirname(dst)  # same directory, same filesystem
        calls.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(local_module.os, "fsync", spy_fsync)
    monkeypatch.setattr(local_module.os, "replace", spy_replace)
    await local_storage.put(b"durable", ext="jpg", content_type=JPEG_TYPE)

    first_file_sync = calls.index("fsync file")
    assert calls.index("replace") > first_file_sync
    assert calls[-1] == "fsync dir"


async def test_disk_work_happens_off_the_event_loop_thread(local_storage, monkeypatch):
    threads: list[threading.Thread] = []
    real_replace = os.replace

    def spy_replace(src, dst):
        threads.append(threading.current_thread())
        real_replace(src, dst)

    monkeypatch.setattr(local_module.os, "replace", spy_replace)
    await local_storage.put(b"threaded", ext="jpg", content_type=JPEG_TYPE)

    assert threads and threads[0] is not threading.main_thread()


async def test_the_event_loop_keeps_running_during_a_slow_write(local_storage, monkeypatch):
    real_fsync = os.fsync

    def slow_fsync(fd):
        time.sleep(0.05)
        real_fsync(fd)

    monkeypatch.setattr(local_module.os, "fsync", slow_fsync)
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    await local_storage.put(b"slow disk", ext="jpg", content_type=JPEG_TYPE)
    task.cancel()
    assert ticks >= 5


async def test_iter_keys_skips_temporary_and_stray_files(local_storage):
    key = await local_storage.put(b"real", ext="jpg", content_type=JPEG_TYPE)
    directory = local_storage.local_path(key).parent
    (directory / f"{TEMP_PREFIX}leftover").write_bytes(b"partial")
    (directory / "notes.txt").write_bytes(b"not media")
    (local_storage.root / "README").write_bytes(b"not media")

    assert [k async for k in local_storage.iter_keys()] == [key]


async def test_stale_temporary_files_can_be_swept(local_storage):
    key = await local_storage.put(b"real", ext="jpg", content_type=JPEG_TYPE)
    directory = local_storage.local_path(key).parent
    stale = directory / f"{TEMP_PREFIX}stale"
    fresh = directory / f"{TEMP_PREFIX}fresh"
    stale.write_bytes(b"crash leftovers")
    fresh.write_bytes(b"a write in progress")
    an_hour_ago = time.time() - 7200
    os.utime(stale, (an_hour_ago, an_hour_ago))

    assert await local_storage.remove_stale_temp_files(older_than_secs=3600) == 1
    assert not stale.exists() and fresh.exists()
    assert await local_storage.exists(key)


async def test_a_truncated_file_at_the_key_is_rewritten(local_storage):
    data = b"complete content" * 100
    key = await local_storage.put(data, ext="jpg", content_type=JPEG_TYPE)
    local_storage.local_path(key).write_bytes(data[:10])  # damaged outside our control

    assert await local_storage.put(data, ext="jpg", content_type=JPEG_TYPE) == key
    assert await local_storage.get(key) == data


async def test_root_is_created_on_first_put(tmp_path):
    storage = LocalStorage(tmp_path / "not" / "yet" / "there")
    key = await storage.put(b"first", ext="jpg", content_type=JPEG_TYPE)
    assert await storage.get(key) == b"first"
