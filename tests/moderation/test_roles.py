"""Roles from the command line, and what each role may do to whom."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from tests.moderation.support import staff_client
from tornagram.config import build_settings
from tornagram.context import build_context

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, input=None):
    return subprocess.run(
        [sys.executable, "-m", "tornagram", *args],
        cwd=ROOT, env=dict(os.environ), input=input, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def roles_in(data_dir: str) -> tuple[dict[str, str], list[str]]:
    async def read():
        ctx = build_context(build_settings(data_dir=data_dir, caches=False))
        try:
            users, _ = await ctx.moderation.users()
            entries, _ = await ctx.moderation.log()
            return {r.user.username: r.user.role for r in users}, [e.action for e in entries]
        finally:
            await ctx.close()

    return asyncio.run(read())


def test_createuser_with_a_role_and_set_role(tmp_path):
    data = str(tmp_path / "data")
    r = cli("createuser", "ruth", "--email", "ruth@example.org", "--role", "admin",
            "--password-stdin", "--data-dir", data, input="a good long password\n")  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "created @ruth" in r.stdout and "admin" in r.stdout
    r = cli("createuser", "fern", "--email", "fern@example.org", "--password-stdin",
            "--data-dir", data, input="a good long password\n")  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = cli("set-role", "FERN", "moderator", "--data-dir", data)
    assert r.returncode == 0 and "@fern is now moderator" in r.stdout
    assert cli("set-role", "nobody", "admin", "--data-dir", data).returncode == 2
    wrong = cli("set-role", "fern", "king", "--data-dir", data)
    assert wrong.returncode == 2 and "invalid choice" in wrong.stderr
    roles, actions = roles_in(data)
    assert roles == {"ruth": "admin", "fern": "moderator"}
    assert actions == ["user.role.moderator", "user.role.admin"]


async def test_the_first_account_is_a_member(site):
    first = await site.user_client("first")
    assert (await site.ctx.accounts.by_username("first")).role == "member"
    assert (await first.get("/admin/reports")).status_code == 403


async def test_who_may_act_on_whom(site):
    mod = await staff_client(site, "mod")
    other_mod = await staff_client(site, "mod2")
    admin = await staff_client(site, "ruth", "admin")
    await site.user_client("bo")
    ids = {n: (await site.ctx.accounts.by_username(n)).id for n in ("mod", "mod2", "ruth", "bo")}
    # A moderator acts on members only, never on staff or themselves.
    for target in ("mod2", "ruth", "mod"):
        r = await mod.post(f"/admin/users/{ids[target]}/suspend", {"note": ""})
        assert r.status_code == 403, target
    # Deleting is for admins.
    assert (await mod.post(f"/admin/users/{ids['bo']}/delete", {"note": ""})).status_code == 403
    # An admin may act on a moderator.
    r = await admin.post(f"/admin/users/{ids['mod2']}/suspend", {"note": "rogue"})
    assert r.status_code == 303
    assert (await site.ctx.accounts.by_username("mod2")).suspended_at is not None
    assert (await other_mod.get("/admin/reports")).status_code == 302  # signed out by it
