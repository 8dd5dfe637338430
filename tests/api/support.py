"""What the API tests share: registering an app and getting a token through the real login
and consent pages."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx

REDIRECT = "https://app.example/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


async def register_app(http, *, scopes="read write follow push", redirect=REDIRECT, name="Test app"):
    r = await http.post(
        "/api/v1/apps",
        data={"client_name": name, "redirect_uris": redirect, "scopes": scopes},
    )
    assert r.status_code == 200, r.text
    return r.json()


async def approve(client, app, *, scope="read write follow push", redirect=REDIRECT, state="s1",
                  challenge=None) -> str:
    """The signed-in ``client`` approves ``app`` on the consent page; returns the code."""
    query = {
        "client_id": app["client_id"],
        "redirect_uri": redirect,
        "response_type": "code",
        "scope": scope,
        "state": state,
    }
    if challenge:
        query.update(code_challenge=challenge, code_challenge_method="S256")
    page = await client.get("/oauth/authorize", params=query)
    assert page.status_code == 200, page.text
    assert 'name="decision" value="approve"' in page.text
    r = await client.post("/oauth/authorize", {**query, "decision": "approve"})
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    if redirect == "urn:ietf:wg:oauth:2.0:oob":
        html = (await client.get(location)).text
        return re.search(r'readonly value="([^"]+)"', html).group(1)
    params = parse_qs(urlsplit(location).query)
    assert params["state"] == [state]
    return params["code"][0]


async def token_for(site, username: str, *, scope="read write follow push", client=None) -> str:
    """A token for ``username`` (signed up here unless ``client`` is given), by the code flow."""
    if client is None:
        client = await site.user_client(username)
    app = await register_app(client.http, scopes=scope)
    verifier, challenge = pkce_pair()
    code = await approve(client, app, scope=scope, challenge=challenge)
    r = await client.http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def bearer(site, token: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        base_url=site.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return client


def jpeg(width: int = 64, height: int = 48, color=(200, 80, 40)) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG")
    return out.getvalue()


async def upload_media(http, data: bytes | None = None, *, description="A red square", path="/api/v2/media"):
    r = await http.post(
        path,
        files={"file": ("photo.jpg", data or jpeg(), "image/jpeg")},
        data={"description": description} if description is not None else {},
    )
    return r


async def post_photo(http, text="Hello #Cats", *, count=1) -> dict:
    ids = []
    for _ in range(count):
        r = await upload_media(http)
        assert r.status_code in (200, 202), r.text
        ids.append(r.json()["id"])
    r = await http.post("/api/v1/statuses", data={"status": text, "media_ids[]": ids})
    assert r.status_code == 200, r.text
    return r.json()


STREAM_WAIT_SECS = 10


async def stream_connect(site, token: str, query: str = "stream=user"):
    """A streaming WebSocket with the token as its subprotocol, as browsers must send it."""
    import tornado.websocket

    url = site.base_url.replace("http://", "ws://") + "/api/v1/streaming?" + query
    return await tornado.websocket.websocket_connect(url, subprotocols=[token])


async def stream_message(conn) -> dict | None:
    """The next frame as JSON, or None once the server closed the socket."""
    import asyncio
    import json

    raw = await asyncio.wait_for(conn.read_message(), STREAM_WAIT_SECS)
    return None if raw is None else json.loads(raw)
