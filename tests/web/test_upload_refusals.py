"""The real /upload, over raw sockets where it matters: streamed fields are cleaned like
ordinary arguments, and a refusal sent while the body is still being read says
``Connection: close`` (Tornado drops such a connection after the response)."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from tests.helpers import post_id_from
from tornagram.photos.models import Photo, Post

BOUNDARY = "tornagram-test-boundary"


def multipart(fields: list[tuple[str, bytes]], files: list[tuple[str, str, bytes]]) -> bytes:
    out = b""
    for name, value in fields:
        out += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value
            + b"\r\n"
        )
    for name, filename, data in files:
        out += (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    return out + f"--{BOUNDARY}--\r\n".encode()


async def raw_post(site, client, body: bytes, path: str = "/upload", extra: str = ""):
    """Sends the request, then a GET on the same connection. Returns (status, headers of the
    first response, status of the second response or None if the server closed)."""
    port = int(site.base_url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    cookies = "; ".join(f"{k}={v}" for k, v in client.http.cookies.items())
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\nCookie: {cookies}\r\n{extra}\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    status, headers = await read_head(reader)
    await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", 0))), 10)
    second = None
    if headers.get("connection", "").lower() != "close":
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        try:
            second, _ = await read_head(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            second = None
    writer.close()
    return status, headers, second


async def read_head(reader) -> tuple[int, dict[str, str]]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers


async def test_a_refusal_on_the_last_chunk_says_connection_close(site, image_bytes):
    c = await site.user_client("kim")
    token = (await c.xsrf()).encode()
    cases = [
        # Caption that is not UTF-8: refused while parsing, on the body's last chunk.
        multipart([("_xsrf", token), ("caption", b"\xff\xfe")], [("photo", "a.png", b"x")]),
        # A wrong XSRF field: checked once the body is parsed.
        multipart([("_xsrf", b"2|00|00|00"), ("caption", b"")], [("photo", "a.png", b"x")]),
        # No closing boundary.
        multipart([("_xsrf", token)], [])[: -len(f"--{BOUNDARY}--\r\n")],
    ]
    for body in cases:
        status, headers, second = await raw_post(site, c, body)
        assert status in (400, 403), status
        # Either the connection is announced as closing, or it still answers.
        assert headers.get("connection", "").lower() == "close" or second == 200, (
            status,
            headers,
            second,
        )
    # An accepted upload keeps the connection open for the next request.
    good = multipart(
        [("_xsrf", token), ("caption", b"ok")], [("photo", "t.png", image_bytes("tiny.png"))]
    )
    status, headers, second = await raw_post(site, c, good)
    assert status == 201 and second == 200, (status, headers)


async def test_nul_and_control_characters_in_streamed_fields_are_cleaned(site, image_bytes):
    c = await site.user_client("lou")
    token = await c.xsrf()
    r = await c.http.post(
        "/upload",
        data={"_xsrf": token, "caption": "sun\x00set\x07 #sky\tline", "alt": "a\x00b\x1fc"},
        files=[("photo", ("t.png", image_bytes("tiny.png"), "image/png"))],
    )
    assert r.status_code == 303, r.text
    post_id = post_id_from(r)
    async with site.ctx.db.read() as s:
        post = await s.get(Post, post_id)
        photo = (await s.execute(select(Photo).where(Photo.post_id == post_id))).scalar_one()
    assert post.caption == "sun set  #sky\tline"
    assert photo.alt_text == "a b c"
