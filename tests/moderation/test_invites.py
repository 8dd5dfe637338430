"""Invite links: who may make them, their expiry and use count, revoking, and signing up
through one, also when sign-up is invite-only or needs approval."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from sqlalchemy import select, update

from tests.moderation.support import admin_client, save_site, sign_up_form, staff_client
from tornagram.db.base import utcnow
from tornagram.moderation.models import Invite


async def make_invite(client, days: int = 7, uses: int = 1) -> str:
    r = await client.post("/invites", {"days": str(days), "uses": str(uses)})
    assert r.status_code == 303, r.text
    page = (await client.get(r.headers["location"])).text
    return re.search(r"/signup\?invite=([A-Za-z0-9_-]+)", page).group(1)


async def test_members_invite_only_when_the_site_allows(site):
    root = await admin_client(site)
    member = await site.user_client("mia")
    assert "only admins make invite links" in (await member.get("/invites")).text
    assert (await member.post("/invites", {"days": "7", "uses": "1"})).status_code == 403
    await save_site(root, members_may_invite=True)
    code = await make_invite(member)
    assert len(code) >= 16
    # Admins always may, and see everyone's links.
    await save_site(root, members_may_invite=False)
    await make_invite(root)
    listed = (await root.get("/invites")).text
    assert code in listed and "@mia" in listed


async def test_bad_choices_are_refused(site):
    root = await admin_client(site)
    r = await root.post("/invites", {"days": "365", "uses": "1000000"})
    assert r.status_code == 400
    assert "Choose how long the link works." in r.text


async def test_an_invite_lets_in_as_many_as_it_allows_even_invite_only(site):
    root = await admin_client(site)
    await save_site(root, registration="invite")
    code = await make_invite(root, uses=2)
    visitor = site.client()
    page = await visitor.get(f"/signup?invite={code}")
    assert page.status_code == 200 and "You were invited" in page.text
    assert f'name="invite" value="{code}"' in page.text
    for name in ("ina", "ivo"):
        r = await sign_up_form(site.client(), name, invite=code)
        assert r.status_code == 303 and r.headers["location"] == "/"
    r = await site.client().get(f"/signup?invite={code}")
    assert r.status_code == 410 and "already been used as many times" in r.text
    r = await sign_up_form(site.client(), "third", invite=code)
    assert r.status_code == 410
    listed = (await root.get("/invites")).text
    assert "2 of 2 used" in listed and 'data-state="used"' in listed


async def test_uses_are_counted_atomically(site):
    root = await admin_client(site)
    code = await make_invite(root, uses=1)
    results = await asyncio.gather(
        *(sign_up_form(site.client(), f"racer{i}", invite=code) for i in range(4))
    )
    assert sorted(r.status_code for r in results) == [303, 410, 410, 410]
    async with site.ctx.db.read() as session:
        uses = await session.scalar(select(Invite.uses).where(Invite.code == code))
    assert uses == 1


async def test_expired_revoked_and_unknown_links_say_why(site):
    root = await admin_client(site)
    expired, revoked = await make_invite(root), await make_invite(root)
    async with site.ctx.db.write() as session:
        await session.execute(
            update(Invite)
            .where(Invite.code == expired)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    invite_id = next(r.invite.id for r in await site.ctx.invites.listed(await _user(site, "ada"))
                     if r.invite.code == revoked)  # fmt: skip
    assert (await root.post(f"/invites/{invite_id}/revoke")).status_code == 303
    r = await site.client().get(f"/signup?invite={expired}")
    assert r.status_code == 410 and "This invite link has expired." in r.text
    r = await site.client().get(f"/signup?invite={revoked}")
    assert r.status_code == 410 and "withdrawn" in r.text
    r = await site.client().get("/signup?invite=nonsense")
    assert r.status_code == 404 and "not valid" in r.text
    assert (await sign_up_form(site.client(), "late", invite=expired)).status_code == 410
    # Someone else cannot revoke your link.
    other = await site.user_client("mia")
    assert (await other.post(f"/invites/{invite_id}/revoke")).status_code == 404


async def test_an_invited_person_does_not_wait_for_approval(site):
    root = await admin_client(site)
    await save_site(root, registration="approval", approval_question="Why?")
    code = await make_invite(root)
    r = await sign_up_form(site.client(), "vip", invite=code)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert not (await _user(site, "vip")).is_pending


async def test_a_closed_site_takes_no_invite(site):
    root = await admin_client(site)
    code = await make_invite(root)
    await save_site(root, registration="closed")
    assert (await site.client().get(f"/signup?invite={code}")).status_code == 403


async def _user(site, name):
    return await site.ctx.accounts.by_username(name)


async def test_moderators_count_as_members_for_inviting(site):
    mod = await staff_client(site, "mod")
    assert (await mod.post("/invites", {"days": "7", "uses": "1"})).status_code == 403
