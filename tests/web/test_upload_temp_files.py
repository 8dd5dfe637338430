"""Upload temp files: gone before the answer, a failing delete never cuts the answer, and what a
crash left is swept at start-up and by gc-media."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.helpers import form_error, upload
from tornagram.photos.handlers import UploadHandler

NOT_AN_IMAGE = b"plain text, not a photo\n" * 100


def parts_in(tmp_dir: Path) -> list[str]:
    return sorted(p.name for p in tmp_dir.glob("upload-*.part")) if tmp_dir.exists() else []


async def test_a_refused_uploads_temp_file_is_gone_before_the_answer(site, monkeypatch):
    tmp_dir = site.ctx.settings.data_dir / "tmp"
    seen_at_answer: list[list[str]] = []
    original_flush = UploadHandler.flush

    def flush(self, *args, **kwargs):
        seen_at_answer.append(parts_in(tmp_dir))
        return original_flush(self, *args, **kwargs)

    monkeypatch.setattr(UploadHandler, "flush", flush)
    client = await site.user_client("tess")
    r = await upload(client, [("notes.jpg", NOT_AN_IMAGE)])
    assert r.status_code == 400
    assert seen_at_answer and all(names == [] for names in seen_at_answer)
    assert parts_in(tmp_dir) == []


async def test_a_temp_file_that_cannot_be_deleted_does_not_cut_the_answer(site, monkeypatch):
    tmp_dir = site.ctx.settings.data_dir / "tmp"
    original_unlink = Path.unlink

    def unlink(self, *args, **kwargs):
        if self.name.startswith("upload-"):
            raise PermissionError(13, "Permission denied", str(self))
        return original_unlink(self, *args, **kwargs)

    client = await site.user_client("ugo")
    monkeypatch.setattr(Path, "unlink", unlink)
    # Refused after the body is read (not an image), and while it is read (one file too many).
    r = await upload(client, [("notes.jpg", NOT_AN_IMAGE)])
    assert r.status_code == 400
    assert form_error(r.text)
    r = await upload(client, [(f"n{i}.jpg", NOT_AN_IMAGE) for i in range(11)])
    monkeypatch.setattr(Path, "unlink", original_unlink)
    assert r.status_code == 400
    assert "at most 10 photos" in r.text
    # The files stay for the sweep.
    assert len(parts_in(tmp_dir)) == 11


def make_debris(data_dir: Path) -> dict[str, Path]:
    """Files a crash leaves: old ones to sweep, and fresh ones (another process's, in use)."""
    tmp_dir = data_dir / "tmp"
    fan = data_dir / "media" / "ab" / "cd"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fan.mkdir(parents=True, exist_ok=True)
    files = {
        "old_part": tmp_dir / "upload-k3j2.part",
        "old_media_tmp": fan / ".tmp-q9x1",
        "fresh_part": tmp_dir / "upload-fresh.part",
        "fresh_media_tmp": fan / ".tmp-fresh",
    }
    a_day_ago = time.time() - 86400
    for name, path in files.items():
        path.write_bytes(b"half")
        if name.startswith("old"):
            os.utime(path, (a_day_ago, a_day_ago))
    return files


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


def test_gc_media_removes_temp_files_a_crash_left(data_dir):
    from tests.helpers import run_cli

    assert run_cli("migrate", "--data-dir", str(data_dir)).returncode == 0
    files = make_debris(data_dir)
    result = run_cli("gc-media", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert "removed 0 unreferenced file(s)" in result.stdout
    assert "removed 2 temp file(s)" in result.stdout
    assert not files["old_part"].exists() and not files["old_media_tmp"].exists()
    assert files["fresh_part"].exists() and files["fresh_media_tmp"].exists()


async def test_start_up_sweeps_temp_files_a_crash_left(data_dir):
    from tests.server.support import ServerProcess

    files = make_debris(data_dir)
    server = ServerProcess(data_dir)
    try:
        await server.wait_healthy()
        assert not files["old_part"].exists() and not files["old_media_tmp"].exists()
        assert files["fresh_part"].exists() and files["fresh_media_tmp"].exists()
    finally:
        server.stop()
