"""Every /admin route refuses anyone who is not a moderator, on the server, for every method;
state changes need XSRF even from a moderator."""

from __future__ import annotations

import re

import pytest

from tests.moderation.support import report, share, staff_client

GROUP = re.compile(r"\((?:[^()]|\([^()]*\))*\)")


def admin_paths(app, sample_id: int) -> list[str]:
    """Every /admin route in the route table, with its groups filled in (each alternative of an
    ``(a|b)`` group, an id for an id group)."""
    paths: list[str] = []
    for rule in app.wildcard_router.rules:
        pattern = rule.matcher.regex.pattern.rstrip("$")
        if not pattern.startswith("/admin"):
            continue
        expanded = [pattern]
        while any(GROUP.search(p) for p in expanded):
            nxt = []
            for p in expanded:
                group = GROUP.search(p)
                if group is None:
                    nxt.append(p)
                    continue
                inner = group.group(0)[1:-1]
                choices = [str(sample_id)] if "[0-9]" in inner else inner.split("|")
                nxt.extend(p[: group.start()] + c + p[group.end() :] for c in choices)
            expanded = nxt
        paths.extend(expanded)
    return paths


@pytest.fixture
async def guarded(site, image_bytes):
    """A site with a report on file, so id routes point at something real."""
    mod = await staff_client(site, "mod")
    ana = await site.user_client("ana")
    bo = await site.user_client("bo")
    post_id = await share(bo, "beach")
    assert (await report(ana, "post", post_id)).status_code == 303
    [row], _ = await site.ctx.moderation.queue()
    paths = admin_paths(site.app, row.report.id)
    bo_id = (await site.ctx.accounts.by_username("bo")).id
    paths += [p.replace(str(row.report.id), str(bo_id)) for p in paths if "/users/" in p]
    return site, mod, ana, paths


async def test_the_walk_finds_every_admin_page(guarded):
    site, _mod, _ana, paths = guarded
    bo_id = (await site.ctx.accounts.by_username("bo")).id
    for path in (
        "/admin",
        "/admin/reports",
        "/admin/users",
        "/admin/log",
        f"/admin/users/{bo_id}",
        f"/admin/users/{bo_id}/suspend",
        f"/admin/users/{bo_id}/delete",
    ):
        assert path in paths
    assert any(p.endswith("/resolve") for p in paths)


async def test_members_and_strangers_are_refused_everywhere(guarded):
    site, _mod, ana, paths = guarded
    stranger = site.client()
    for path in paths:
        r = await stranger.get(path)
        assert r.status_code == 302 and r.headers["location"].startswith("/login?next="), path
        assert (await stranger.post(path, {"resolution": "dismiss", "note": ""})).status_code == 403, path
        assert (await ana.get(path)).status_code == 403, path
        assert (await ana.post(path, {"resolution": "dismiss", "note": ""})).status_code == 403, path
    # Nothing happened: the report is still open and bo is still here, not suspended.
    [row], _ = await site.ctx.moderation.queue()
    assert row.report.status == "open"
    bo = await site.ctx.accounts.by_username("bo")
    assert bo.suspended_at is None and not bo.password_reset_required
    entries, _ = await site.ctx.moderation.log()
    assert [e.action for e in entries] == ["user.role.moderator"]


async def test_a_moderator_gets_in_but_needs_xsrf_to_change_anything(guarded):
    site, mod, _ana, paths = guarded
    for path in paths:
        r = await mod.post(path, {"resolution": "dismiss", "note": ""}, xsrf=False)
        assert r.status_code == 403, path
    for path in ("/admin/reports", "/admin/users", "/admin/log"):
        assert (await mod.get(path)).status_code == 200
    assert (await mod.get("/admin")).headers["location"] == "/admin/reports"
    [row], _ = await site.ctx.moderation.queue()
    assert row.report.status == "open"
