"""The app API's streams across processes: a notification caused through one server reaches a
stream held by another (through Redis), and revoking the token on the first closes it."""

from __future__ import annotations

import asyncio
import json

import httpx
import tornado.websocket

from tests.api.support import REDIRECT, approve, pkce_pair, register_app
from tests.helpers import Client
from tests.realtime.support import two_servers


async def token_on(base: str, username: str) -> tuple[str, dict, Client]:
    browser = Client(base)
    await browser.signup(username)
    app = await register_app(browser.http)
    verifier, challenge = pkce_pair()
    code = await approve(browser, app, challenge=challenge)
    r = await browser.http.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "client_id": app["client_id"],
        "client_secret": app["client_secret"], "redirect_uri": REDIRECT, "code_verifier": verifier})
    return r.json()["access_token"], app, browser


async def test_a_stream_on_b_hears_a_and_closes_when_a_revokes(tmp_path, redis_url):
    async with two_servers(tmp_path, redis_url) as (base_a, base_b):
        alice_token, alice_app, alice_web = await token_on(base_a, "alice")
        bob_token, _, bob_web = await token_on(base_a, "bob")
        async with httpx.AsyncClient(base_url=base_a, timeout=30) as http:
            me = (await http.get("/api/v1/accounts/verify_credentials",
                                 headers={"Authorization": f"Bearer {alice_token}"})).json()
            stream = await tornado.websocket.websocket_connect(
                base_b.replace("http://", "ws://") + "/api/v1/streaming?stream=user:notification",
                subprotocols=[alice_token],
            )
            # The handshake answers before the stream's subscription (through Redis) is
            # in place; give it a moment, it takes milliseconds.
            await asyncio.sleep(1.0)
            r = await http.post(f"/api/v1/accounts/{me['id']}/follow",
                                headers={"Authorization": f"Bearer {bob_token}"})
            assert r.status_code == 200
            message = json.loads(await asyncio.wait_for(stream.read_message(), 10))
            assert message["stream"] == ["user:notification"]
            assert json.loads(message["payload"])["type"] == "follow"
            r = await http.post("/oauth/revoke", data={
                "client_id": alice_app["client_id"],
                "client_secret": alice_app["client_secret"], "token": alice_token})
            assert r.status_code == 200
            assert await asyncio.wait_for(stream.read_message(), 10) is None
            assert stream.close_code == 4001
        await alice_web.aclose()
        await bob_web.aclose()
