"""The app API's streams across processes: a notification caused through one server reaches a
stream held by another (through Redis), and revoking the token on the first closes it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import tornado.websocket

from tests.api.support import REDIRECT, approve, pkce_pair, register_app
from tests.helpers import Client, free_port, wait_healthy

ROOT = Path(__file__).resolve().parents[2]
SECRET = "api-streams-secret-" + "q" * 32


def start_server(data_dir: Path, port: int, redis_url: str) -> subprocess.Popen:
    env = {**os.environ, "TORNAGRAM_COOKIE_SECRET": SECRET, "TORNAGRAM_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "tornagram", "serve", "--port", str(port), "--redis-url", redis_url],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def stop(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


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
    port_a, port_b = free_port(), free_port()
    a = start_server(tmp_path, port_a, redis_url)
    try:
        await asyncio.to_thread(wait_healthy, port_a, a)
        b = start_server(tmp_path, port_b, redis_url)
        try:
            await asyncio.to_thread(wait_healthy, port_b, b)
            base_a = f"http://127.0.0.1:{port_a}"
            alice_token, alice_app, alice_web = await token_on(base_a, "alice")
            bob_token, _, bob_web = await token_on(base_a, "bob")
            async with httpx.AsyncClient(base_url=base_a, timeout=30) as http:
                me = (await http.get("/api/v1/accounts/verify_credentials",
                                     headers={"Authorization": f"Bearer {alice_token}"})).json()
                stream = await tornado.websocket.websocket_connect(
                    f"ws://127.0.0.1:{port_b}/api/v1/streaming?stream=user:notification",
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
        finally:
            assert stop(b) == 0
    finally:
        assert stop(a) == 0
