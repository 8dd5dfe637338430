"""One HTTP/1.1 exchange over a plain socket: for paths and bodies an HTTP library would
normalise, fix or refuse to send."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

ANSWER_TIMEOUT_SECS = 15


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


async def exchange(port: int, request: bytes) -> RawResponse | None:
    """Send ``request`` (head and body, as bytes), return the first response, or None when
    the server closed without answering."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), ANSWER_TIMEOUT_SECS)
        except asyncio.IncompleteReadError:
            return None
        lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        body = await asyncio.wait_for(reader.readexactly(length), ANSWER_TIMEOUT_SECS)
        return RawResponse(int(lines[0].split()[1]), headers, body)
    finally:
        writer.close()


def get(path: str, *, host: str = "127.0.0.1", cookie: str = "") -> bytes:
    extra = f"Cookie: {cookie}\r\n" if cookie else ""
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}\r\n".encode(
        "latin-1"
    )


def post(path: str, body: bytes, *, content_type: str, cookie: str, length: int | None = None,
         extra: str = "") -> bytes:  # fmt: skip
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Accept: application/json\r\nCookie: {cookie}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body) if length is None else length}\r\n{extra}\r\n"
    )
    return head.encode("latin-1") + body
