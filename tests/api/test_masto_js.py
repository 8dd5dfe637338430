"""masto.js (npm ``masto``) drives a whole session from Node against a live server: the
tokens come through the real login and consent pages (tests/api/support.py), then the Node
script posts photos with alt text, follows, favourites, comments, reads notifications, pages
the home timeline, reads a hashtag timeline, searches, deletes and streams; the test revokes
the token afterwards and checks it is dead.

masto is installed from the npm registry into a cache outside the tracked files
(``.cache/masto-js``, or ``$TORNAGRAM_NPM_CACHE``). Without node/npm the test skips locally
and fails under CI=true."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api.support import jpeg
from tests.helpers import require

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("masto_session.mjs")
MASTO = "masto@6.10.4"
REGISTRY = "https://registry.npmjs.org/"


def _install() -> Path:
    """node_modules/masto in the cache dir (installed once), with the script beside it, so
    that Node resolves ``masto`` from there."""
    node, npm = shutil.which("node"), shutil.which("npm")
    require(node is not None and npm is not None, "node and npm", "the masto.js test runs in Node")
    cache = Path(os.environ.get("TORNAGRAM_NPM_CACHE") or ROOT / ".cache" / "masto-js")
    cache.mkdir(parents=True, exist_ok=True)
    marker = cache / "node_modules" / "masto" / "package.json"
    if not marker.exists() or json.loads(marker.read_text())["version"] != MASTO.split("@")[1]:
        (cache / "package.json").write_text('{"private": true}\n')
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--registry", REGISTRY, MASTO],
            cwd=cache, check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    shutil.copyfile(SCRIPT, cache / SCRIPT.name)
    return cache


@pytest.fixture(scope="module")
def masto_dir() -> Path:
    return _install()


async def test_a_masto_js_session(site, api, masto_dir, tmp_path):
    alice = await api("alice")
    bob = await api("bob")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg(120, 90))
    process = await asyncio.create_subprocess_exec(
        shutil.which("node"), str(masto_dir / SCRIPT.name),
        env={**os.environ, "SITE": site.base_url, "ALICE_TOKEN": alice.token,
             "BOB_TOKEN": bob.token, "PHOTO": str(photo)},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()[-3000:]
    seen = json.loads(out.decode().strip().splitlines()[-1])
    assert seen["version"].startswith("4.2.0") and seen["me"] == "alice"
    assert seen["ownUpdate"] and seen["tagUpdate"]
    assert seen["followNotification"] == "follow"
    assert seen["notificationTypes"] == ["favourite", "follow", "mention"]
    assert seen["homePages"][:2] == [2, 2] and seen["tagged"] == 4
    assert "bob" in seen["searchAccounts"] and seen["favourites"]
    assert seen["deleteEvent"] and seen["afterDelete"] == 404
    # Revoked, the token is dead at once.
    user = await site.ctx.accounts.by_username("alice")
    for app in await site.ctx.oauth.authorized_apps(user):
        await site.ctx.oauth.revoke_app(user, app.app.id)
    assert (await alice.get("/api/v1/accounts/verify_credentials")).status_code == 401
