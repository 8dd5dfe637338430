"""LocalStorage's own disk guarantees: atomic, durable writes done off the event loop, files a
front-end server can read, no debris. What every backend does is in test_storage_contract.py."""

from __future__ import annotations

import asyncio
import os
import stat
import threading
import time

import pytest

from tests.helpers import TEST_MEDIA_SECRET
from tornagram.storage import local as local_module
from tornagram.storage.base import keyed_key
from tornagram.storage.local import TEMP_PREFIX, LocalStorage

JPEG_TYPE = "image/jpeg"
SOME_KEY = "ab/cd/abcd" + "0" * 60 + ".jpg"


def files_under(root) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(directory, name), root)
        for directory, _, names in os.walk(root)
        for name in names
    )


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
    assert not await local_storage.exists(keyed_key(TEST_MEDIA_SECRET, data, "jpg"))
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
    storage = LocalStorage(tmp_path / "not" / "yet" / "there", secret=TEST_MEDIA_SECRET)
    key = await storage.put(b"first", ext="jpg", content_type=JPEG_TYPE)
    assert await storage.get(key) == b"first"
