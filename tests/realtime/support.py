"""What the live tests share: a WebSocket to the real site as a person, reading what it is sent,
subscribing, and a room to talk in."""

from __future__ import annotations

import asyncio
import json

import tornado.httpclient
import tornado.websocket


async def connect(site, client=None, *, origin: str | None = "same", path: str = "/ws"):
    headers = {}
    if client is not None and client.session_cookie():
        headers["Cookie"] = f"session={client.session_cookie()}"
    if origin == "same":
        headers["Origin"] = site.base_url
    elif origin is not None:
        headers["Origin"] = origin
    url = site.base_url.replace("http://", "ws://") + path
    return await tornado.websocket.websocket_connect(
        tornado.httpclient.HTTPRequest(url, headers=headers)
    )


async def receive(ws, timeout: float = 5.0) -> list[dict]:
    """The next message as a list of objects (the server batches events into lists)."""
    raw = await asyncio.wait_for(ws.read_message(), timeout)
    assert raw is not None, "socket closed"
    value = json.loads(raw)
    return value if isinstance(value, list) else [value]


async def receive_until(ws, predicate, timeout: float = 5.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for item in await receive(ws, max(0.05, deadline - asyncio.get_running_loop().time())):
            if predicate(item):
                return item


async def subscribe(ws, channel: str, since: str | None = None) -> dict:
    message = {"op": "subscribe", "channel": channel}
    if since:
        message["since"] = since
    await ws.write_message(json.dumps(message))
    return await receive_until(
        ws, lambda m: m.get("channel") == channel and m.get("op") in ("subscribed", "error")
    )


async def open_room(site, client, slug="lake", title="By the lake"):
    r = await client.post("/rooms", {"slug": slug, "title": title, "cover": ""})
    assert r.status_code == 303, r.text
    return slug
