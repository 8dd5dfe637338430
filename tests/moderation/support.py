"""Helpers for the moderation tests: people with roles, posts, reports through the real forms."""

from __future__ import annotations

import re

from tests.helpers import fixture_bytes, post_id_from, upload


async def share(client, caption: str = "") -> int:
    """Posts one small photo through the real upload form; returns the post id."""
    response = await upload(client, [("tiny.png", fixture_bytes("tiny.png"))], caption=caption)
    return post_id_from(response)


async def staff_client(site, username: str, role: str = "moderator"):
    client = await site.user_client(username)
    await site.ctx.moderation.set_role(username, role)
    return client


async def report(client, kind: str, target_id: int, reason: str = "spam", note: str = ""):
    return await client.post(
        "/report", {"kind": kind, "id": str(target_id), "reason": reason, "note": note}
    )


def report_ids(html: str) -> list[int]:
    """The reports listed on a queue page, in order."""
    return [int(i) for i in re.findall(r'data-report="([0-9]+)"', html)]


async def resolve(client, report_id: int, resolution: str, note: str = ""):
    return await client.post(
        f"/admin/reports/{report_id}/resolve", {"resolution": resolution, "note": note}
    )


def post_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'href="/p/([0-9]+)"', html)}


SITE_FORM = {
    "name": "Tornagram",
    "description": "",
    "contact_email": "",
    "registration": "open",
    "approval_question": "",
}


async def save_site(client, *, rules=(), **changes):
    """Posts /admin/settings as an admin would: every field, ``changes`` applied."""
    data = {**SITE_FORM, **changes}
    if data.pop("members_may_invite", False):
        data["members_may_invite"] = "on"
    data["rule"] = list(rules)
    return await client.post("/admin/settings", data)


async def admin_client(site, username: str = "ada"):
    return await staff_client(site, username, "admin")


async def sign_up_form(client, username: str, **fields):
    """POST /signup with every field a person fills; returns the response as it is."""
    data = {
        "username": username,
        "email": f"{username}@example.org",
        "password": "long enough password",
        **fields,
    }
    return await client.post("/signup", data)
