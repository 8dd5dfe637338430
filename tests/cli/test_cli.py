"""The command line: serve (with env vars, migrations, health, SIGTERM), migrate, createuser."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import free_port, run_cli, wait_healthy
from tornagram.config import ConfigError, build_settings, load_cookie_secret

ROOT = Path(__file__).resolve().parents[2]


def test_serve_from_env_migrates_answers_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "TORNAGRAM_PORT": str(port), "TORNAGRAM_DATA_DIR": str(tmp_path / "data")}
    env.pop("TORNAGRAM_COOKIE_SECRET", None)
    proc = subprocess.Popen([sys.executable, "-m", "tornagram", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(port, proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as r:
            assert r.read() == b'{"status": "ok"}'
        secret = tmp_path / "data" / "cookie_secret"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert len(secret.read_text().strip()) >= 32
        assert (tmp_path / "data" / "tornagram.db").exists()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_createuser_with_password_stdin_then_login_works(tmp_path):
    data = str(tmp_path / "data")
    r = run_cli("createuser", "fern", "--email", "fern@example.org", "--password-stdin", "--data-dir", data,
                input="a good long password\n")
    assert r.returncode == 0, r.stderr
    assert "created @fern" in r.stdout
    again = run_cli("createuser", "fern", "--email", "other@example.org", "--password-stdin", "--data-dir", data,
                    input="a good long password\n")
    assert again.returncode == 2 and "That username is taken." in again.stderr
    short = run_cli("createuser", "gus", "--email", "gus@example.org", "--password-stdin", "--data-dir", data, input="short\n")
    assert short.returncode == 2 and "at least 8" in short.stderr


def test_migrate_command(tmp_path):
    r = run_cli("migrate", "--data-dir", str(tmp_path / "d"))
    assert r.returncode == 0, r.stderr
    assert "revision" in r.stdout


def test_processes_without_redis_is_a_clear_error(tmp_path):
    r = run_cli("serve", "--processes", "2", "--data-dir", str(tmp_path))
    assert r.returncode == 2
    assert "--redis-url" in r.stderr


def test_bad_database_url_is_a_clear_error(tmp_path):
    r = run_cli("migrate", "--database-url", "mysql://x", "--data-dir", str(tmp_path))
    assert r.returncode == 2 and "--database-url must start with" in r.stderr


def test_short_cookie_secret_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TORNAGRAM_COOKIE_SECRET", "tooshort")
    with pytest.raises(ConfigError, match="at least 32"):
        load_cookie_secret(tmp_path)


def test_cookie_secret_is_made_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("TORNAGRAM_COOKIE_SECRET", raising=False)
    first = build_settings(data_dir=tmp_path).cookie_secret
    assert build_settings(data_dir=tmp_path).cookie_secret == first
    monkeypatch.setenv("TORNAGRAM_COOKIE_SECRET", "s" * 40)
    assert build_settings(data_dir=tmp_path).cookie_secret == "s" * 40


def test_serve_refuses_an_unmigrated_shared_database(tmp_path):
    from tornagram.server import prepare_database

    settings = build_settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/other.db", cookie_secret="c" * 40)
    with pytest.raises(ConfigError, match="tornagram migrate"):
        prepare_database(settings)


def test_gc_media_lists_and_removes_orphans(tmp_path):
    data = tmp_path / "data"
    assert run_cli("migrate", "--data-dir", str(data)).returncode == 0
    orphan = data / "media" / "ab" / "cd" / ("abcd" + "0" * 60 + ".jpg")
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left behind by a crash")
    dry = run_cli("gc-media", "--dry-run", "--data-dir", str(data))
    assert dry.returncode == 0 and "would remove ab/cd/abcd" in dry.stdout and orphan.exists()
    real = run_cli("gc-media", "--data-dir", str(data))
    assert real.returncode == 0 and "removed 1 unreferenced file(s)" in real.stdout
    assert not orphan.exists()


def test_metrics_are_off_unless_asked_for_and_need_a_port_of_their_own(tmp_path):
    settings = build_settings(data_dir=tmp_path, cookie_secret="s" * 40)
    assert settings.metrics_port == 0 and settings.metrics_host == "127.0.0.1"
    with pytest.raises(ConfigError, match="--metrics-port must differ"):
        build_settings(data_dir=tmp_path, cookie_secret="s" * 40, port=9000, metrics_port=9000)
    with pytest.raises(ConfigError, match="--metrics-port must differ"):
        # Worker 1 of 2 would take 9000.
        build_settings(
            data_dir=tmp_path, cookie_secret="s" * 40, port=9000, metrics_port=8999,
            processes=2, redis_url="redis://127.0.0.1:6379/0",
        )
    with pytest.raises(ConfigError, match="--metrics-port must be between"):
        build_settings(data_dir=tmp_path, cookie_secret="s" * 40, metrics_port=70000)
    with pytest.raises(ConfigError, match="--log-format"):
        build_settings(data_dir=tmp_path, cookie_secret="s" * 40, log_format="xml")
    result = run_cli("serve", "--data-dir", str(tmp_path), "--log-format", "xml")
    assert result.returncode == 2 and "--log-format" in result.stderr


def test_a_metrics_port_in_use_stops_the_start_with_its_name(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(
            "serve", "--data-dir", str(tmp_path), "--port", str(free_port()),
            "--metrics-port", str(port),
        )
    assert result.returncode == 2
    assert f"cannot listen for metrics on 127.0.0.1:{port}" in result.stderr


def test_reset_password_prints_a_link_from_the_site_url(tmp_path):
    data = str(tmp_path / "data")
    r = run_cli("createuser", "fern", "--email", "fern@example.org", "--password-stdin", "--data-dir", data,
                input="a good long password\n")
    assert r.returncode == 0, r.stderr
    r = run_cli("reset-password", "Fern", "--data-dir", data, "--site-url", "https://photos.example.org/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("https://photos.example.org/reset?token=")
    assert r.stdout.split("token=", 1)[1].strip() not in r.stderr  # not in the log lines
    nobody = run_cli("reset-password", "nobody", "--data-dir", data)
    assert nobody.returncode == 2 and "No one here goes by that name." in nobody.stderr


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--media-url", "https://bucket.example/"),
        ("--media-url", "s3://Bad_Bucket/x"),
        ("--media-url", "s3://bucket/../x"),
        ("--media-public-url", "javascript:alert(1)"),
        ("--media-public-url", "https://cdn.example/?q=1"),
        ("--signed-url-ttl-secs", "5"),
    ],
)
def test_bad_media_settings_are_clear_errors(tmp_path, flag, value):
    r = run_cli("serve", "--data-dir", str(tmp_path / "data"), flag, value)
    assert r.returncode == 2 and flag in r.stderr and "Traceback" not in r.stderr


def test_media_copy_and_migrate_media_commands(tmp_path):
    data = tmp_path / "data"
    assert run_cli("migrate", "--data-dir", str(data)).returncode == 0
    plain = data / "media" / "ab" / "cd" / ("abcd" + "0" * 60 + ".jpg")
    plain.parent.mkdir(parents=True)
    plain.write_bytes(b"not what the key names")
    moved = run_cli("migrate-media", "--data-dir", str(data))
    assert moved.returncode == 0 and "moved 0 file(s)" in moved.stdout

    copy = run_cli("media", "copy", "--data-dir", str(data), "--to", str(tmp_path / "copy"))
    assert copy.returncode == 1 and "damaged in the source, not copied: ab/cd/abcd" in copy.stdout
    same = run_cli("media", "copy", "--data-dir", str(data), "--to", str(data / "media"))
    assert same.returncode == 2 and "--to names the folder" in same.stderr
