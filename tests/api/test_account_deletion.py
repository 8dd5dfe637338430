"""Deleting an account ends what the app API holds of it: its tokens (and their open streams,
at once) and the files of photos uploaded for a status that was never posted."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from tests.api.support import jpeg, upload_media
from tests.api.support import stream_connect as connect
from tests.api.support import stream_message as next_message
from tornagram.photos.models import MediaUploadFile


async def test_deleting_the_account_closes_streams_and_removes_uploads(site, api):
    alice = await api("alice")
    r = await upload_media(alice, jpeg(80, 60, (10, 200, 30)))
    assert r.status_code in (200, 202), r.text
    async with site.ctx.db.read() as session:
        keys = list((await session.execute(select(MediaUploadFile.key))).scalars())
    assert keys and all([await site.ctx.storage.exists(k) for k in keys])
    conn = await connect(site, alice.token, "stream=user")
    await asyncio.sleep(0.2)
    user = await site.ctx.accounts.by_username("alice")
    await site.ctx.deletion.remove(user)
    assert await next_message(conn) is None
    assert conn.close_code == 4001
    for key in keys:
        assert not await site.ctx.storage.exists(key)
    r = await alice.get("/api/v1/accounts/verify_credentials")
    assert r.status_code == 401
