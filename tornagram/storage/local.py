"""Media files in a directory on this machine's disk (the default, zero-setup backend).

Every disk call runs in a thread, so the event loop never waits on the disk. Writes are
atomic: a reader sees either no file or the whole file, even after a crash or power cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from tornagram.storage.base import (
    KEY_PATTERN,
    KEYED_PREFIX,
    READ_CHUNK_BYTES,
    MediaInfo,
    MediaNotFound,
    check_content_type,
    check_ext,
    check_key,
    check_range,
    content_type_of,
    keyed_key,
)

# Temporary files start with a dot and never match a key, so listings skip them.
TEMP_PREFIX = ".tmp-"
# Media is public once published and may be served by nginx running as another user.
FILE_MODE = 0o644
# A temporary file older than this was left by a crash, not by a write in progress.
STALE_TEMP_AGE_SECS = 3600


class LocalStorage:
    def __init__(self, root: Path, *, secret: bytes) -> None:
        self.root = Path(root)
        self._secret = secret

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    async def put(self, data: bytes, *, ext: str, content_type: str) -> str:
        check_content_type(content_type)  # not stored: the extension implies it on disk
        check_ext(ext)
        # Hashing a large file takes milliseconds, so it runs in the thread with the write.
        return await asyncio.to_thread(self._store, bytes(data), ext)

    async def put_as(self, key: str, data: bytes, *, content_type: str) -> None:
        check_content_type(content_type)
        check_key(key)
        await asyncio.to_thread(self._write, key, bytes(data))

    async def stat(self, key: str) -> MediaInfo:
        path = self._path(key)
        try:
            result = await asyncio.to_thread(path.stat)
        except FileNotFoundError:
            raise MediaNotFound(key) from None
        return MediaInfo(key=key, size_bytes=result.st_size, content_type=content_type_of(key))

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        check_range(start, end)
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(path.open, "rb")
        except FileNotFoundError:
            raise MediaNotFound(key) from None
        try:
            await asyncio.to_thread(handle.seek, start)
            position = start
            while end is None or position < end:
                want = READ_CHUNK_BYTES if end is None else min(READ_CHUNK_BYTES, end - position)
                chunk = await asyncio.to_thread(handle.read, want)
                if not chunk:
                    break
                position += len(chunk)
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)

    async def close(self) -> None:
        return None

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise MediaNotFound(key) from None

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        path = self._path(key)
        return await asyncio.to_thread(path.is_file)

    async def iter_keys(self) -> AsyncIterator[str]:
        # One directory level per thread call: memory stays bounded however many files exist.
        for base, prefix in self._key_roots():
            fan1_dirs = await asyncio.to_thread(_subdirectories, base)
            for fan1 in fan1_dirs:
                for key in await asyncio.to_thread(self._keys_under, fan1, prefix):
                    yield key

    def local_path(self, key: str) -> Path:
        """The file on this disk (for tests and for operators; the site serves through read)."""
        return self._path(key)

    async def remove_stale_temp_files(self, older_than_secs: float = STALE_TEMP_AGE_SECS) -> int:
        """Delete temporary files a crash left behind; returns how many were removed."""
        return await asyncio.to_thread(self._remove_stale_temp_files, older_than_secs)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _store(self, data: bytes, ext: str) -> str:
        key = keyed_key(self._secret, data, ext)
        self._write(key, data)
        return key

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_size == len(data):
                return  # same key, same length: the same bytes are already there
        _make_dirs_durably(path.parent, self.root)
        fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as temp_file:
                temp_file.write(data)
                temp_file.flush()
                os.fsync(temp_file.fileno())
            os.chmod(temp_name, FILE_MODE)
            os.replace(temp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_name)
            raise
        # The rename is only durable once the directory entry itself reaches the disk.
        _fsync_directory(path.parent)

    def _key_roots(self) -> list[tuple[Path, str]]:
        """Where keys live: secret-derived keys under k/, the older plain ones at the root."""
        return [(self.root / KEYED_PREFIX.rstrip("/"), KEYED_PREFIX), (self.root, "")]

    def _keys_under(self, fan1: Path, prefix: str) -> list[str]:
        keys = []
        for fan2 in _subdirectories(fan1):
            with os.scandir(fan2) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
            for entry in entries:
                key = f"{prefix}{fan1.name}/{fan2.name}/{entry.name}"
                if entry.is_file(follow_symlinks=False) and KEY_PATTERN.fullmatch(key):
                    keys.append(key)
        return keys

    def _remove_stale_temp_files(self, older_than_secs: float) -> int:
        cutoff = time.time() - older_than_secs
        removed = 0
        fan1_dirs = [fan1 for base, _ in self._key_roots() for fan1 in _subdirectories(base)]
        for fan1 in fan1_dirs:
            for fan2 in _subdirectories(fan1):
                for path in fan2.glob(TEMP_PREFIX + "*"):
                    with contextlib.suppress(FileNotFoundError):
                        if path.stat().st_mtime < cutoff:
                            path.unlink()
                            removed += 1
        return removed


def _subdirectories(directory: Path) -> list[Path]:
    try:
        with os.scandir(directory) as scan:
            entries = list(scan)
    except FileNotFoundError:
        return []
    return sorted(
        Path(entry.path)
        for entry in entries
        if entry.is_dir(follow_symlinks=False) and not entry.name.startswith(".")
    )


def _make_dirs_durably(directory: Path, root: Path) -> None:
    """mkdir -p, making each new directory entry durable in its parent."""
    missing = []
    current = directory
    while not current.is_dir():
        missing.append(current)
        if current == root or current.parent == current:
            break
        current = current.parent
    for new_dir in reversed(missing):
        # Another writer may have made it a moment ago and not yet synced its parent, so the
        # parent is synced either way.
        new_dir.mkdir(parents=new_dir == root, exist_ok=True)
        _fsync_directory(new_dir.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
