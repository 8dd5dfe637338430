"""Streaming form uploads through real HTTP on loopback: exact round trips, limits refused early
(413 before the body is sent), XSRF on both paths, bounded memory, and no temp file left behind."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import tornado.httpserver
import tornado.testing
import tornado.web

from tornagram.errors import UserError
from tornagram.i18n import msgids
from tornagram.web.uploads import (
    UPLOAD_ERROR_MESSAGES,
    BadUpload,
    StreamingFormMixin,
    UploadLimits,
    UploadTooLarge,
)

BOUNDARY = b"----TornagramTestBoundary7MA4YWxkTrZu0gW"
MULTIPART = "multipart/form-data; boundary=" + BOUNDARY.decode()
KIB = 1024
MIB = 1024 * 1024
# Low on purpose, like the site's limit for ordinary forms: uploads must raise it per request.
SERVER_MAX_BODY_BYTES = 256 * KIB
SMALL = UploadLimits(max_file_bytes=1 * MIB, max_files=3, max_field_bytes=2 * KIB, max_fields=8)
BIG = UploadLimits(max_file_bytes=32 * MIB, max_files=1)


# -- the test app -------------------------------------------------------------------------------


class EchoMixin:
    """post() answers with a description of the parsed form, proving every byte arrived."""

    def initialize(self, tmp_dir: Path, limits: UploadLimits, seen: dict, read_form=True):
        self.upload_tmp_dir = tmp_dir
        self.upload_limits = limits
        self.seen = seen
        self.read_form = read_form

    def get(self) -> None:
        self.write({"xsrf": self.xsrf_token.decode()})

    def data_received(self, chunk: bytes) -> None:
        self.seen["chunks"] = self.seen.get("chunks", 0) + 1
        super().data_received(chunk)

    async def post(self) -> None:
        self.seen["post_ran"] = True
        if not self.read_form:
            self.write({"ran": True})
            return
        if tracemalloc.is_tracing():
            self.seen["peak_bytes_before_post"] = tracemalloc.get_traced_memory()[1]
        form = self.form
        files = {
            name: [
                {
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "size": f.size,
                    "sha256": file_sha256(f.path),
                    "read_bytes_ok": f.size > MIB or sha(f.read_bytes()) == file_sha256(f.path),
                    "in_tmp_dir": f.path.parent == self.upload_tmp_dir and f.path.exists(),
                }
                for f in uploads
            ]
            for name, uploads in form.files.items()
        }
        self.write(
            {
                "fields": {k: v for k, v in form.fields.items() if k != "_xsrf"},
                "files": files,
                "caption": form.get("caption", "<none>"),
                "body_argument": self.get_body_argument("caption", "<none>"),
                "request_body_len": len(self.request.body),
                "user": getattr(self, "user", None),
            }
        )

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.render(lambda text: text) if isinstance(exc, UserError) else None
        self.finish({"status": status_code, "message": message})


@tornado.web.stream_request_body
class SyncEcho(EchoMixin, StreamingFormMixin, tornado.web.RequestHandler):
    """RequestHandler.prepare is synchronous."""


class AsyncBase(tornado.web.RequestHandler):
    async def prepare(self) -> None:
        await asyncio.sleep(0)  # like loading the user from a database
        self.user = "ana"


@tornado.web.stream_request_body
class AsyncEcho(EchoMixin, StreamingFormMixin, AsyncBase):
    """The base prepare is a coroutine, and this handler refuses some requests in prepare."""

    async def prepare(self) -> None:
        await super().prepare()
        if self.request.headers.get("X-Deny"):
            raise tornado.web.HTTPError(403)


@dataclass
class UploadSite:
    port: int
    tmp_dir: Path
    http: httpx.AsyncClient
    seen: dict = field(default_factory=dict)

    async def token(self) -> str:
        return (await self.http.get("/sync")).json()["xsrf"]

    def cookie(self) -> str:
        return self.http.cookies["_xsrf"]

    def leftovers(self) -> list[str]:
        return sorted(p.name for p in self.tmp_dir.iterdir()) if self.tmp_dir.exists() else []

    async def post(self, path: str, body: bytes, *, xsrf=True, content_type=MULTIPART, **headers):
        headers = {"Content-Type": content_type, **headers}
        if xsrf:
            headers["X-XSRFToken"] = await self.token()
        return await self.http.post(path, content=body, headers=headers)


@pytest.fixture
async def site(tmp_path) -> UploadSite:
    tmp_dir = tmp_path / "tmp"
    seen: dict = {}
    args = dict(tmp_dir=tmp_dir, seen=seen)
    app = tornado.web.Application(
        [
            (r"/sync", SyncEcho, dict(args, limits=SMALL)),
            (r"/async", AsyncEcho, dict(args, limits=SMALL)),
            (r"/big", SyncEcho, dict(args, limits=BIG)),
            (r"/blind", SyncEcho, dict(args, limits=SMALL, read_form=False)),
        ],
        cookie_secret="upload-test-secret-" + "x" * 40,
        xsrf_cookies=True,
    )
    sock, port = tornado.testing.bind_unused_port()
    server = tornado.httpserver.HTTPServer(app, max_body_size=SERVER_MAX_BODY_BYTES)
    server.add_sockets([sock])
    http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
    result = UploadSite(port, tmp_dir, http, seen)
    await result.token()  # the _xsrf cookie, as a browser gets it with the page
    try:
        yield result
    finally:
        await http.aclose()
        server.stop()
        await server.close_all_connections()


# -- building bodies ----------------------------------------------------------------------------


def text_part(name: str | bytes, value: str | bytes) -> bytes:
    name = name.encode() if isinstance(name, str) else name
    value = value.encode() if isinstance(value, str) else value
    head = b'Content-Disposition: form-data; name="' + name + b'"\r\n\r\n'
    return b"--" + BOUNDARY + b"\r\n" + head + value + b"\r\n"


def file_head(name: str, filename: str, content_type="image/jpeg") -> bytes:
    return (
        b"--"
        + BOUNDARY
        + b"\r\n"
        + f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'.encode()
        + f"Content-Type: {content_type}\r\n\r\n".encode()
    )


def file_part(name: str, filename: str, content: bytes, content_type="image/jpeg") -> bytes:
    return file_head(name, filename, content_type) + content + b"\r\n"


END = b"--" + BOUNDARY + b"--\r\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(256 * KIB):
            digest.update(block)
    return digest.hexdigest()


async def wait_for_temp_file(site: UploadSite, timeout_secs: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_secs
    while not site.leftovers() and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert site.leftovers(), "the file part should be on disk by now"


async def wait_until_empty(site: UploadSite, timeout_secs: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_secs
    while site.leftovers() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert site.leftovers() == []


# -- raw HTTP, for bodies that are never sent in full -------------------------------------------


async def open_upload(site: UploadSite, path: str, length: int, **extra: str):
    reader, writer = await asyncio.open_connection("127.0.0.1", site.port)
    headers = {
        "Host": f"127.0.0.1:{site.port}",
        "Content-Type": MULTIPART,
        "Content-Length": str(length),
        "Cookie": f"_xsrf={site.cookie()}",
        "X-XSRFToken": await site.token(),
        **extra,
    }
    head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(head.encode() + b"\r\n")
    await writer.drain()
    return reader, writer


async def read_response(reader: asyncio.StreamReader, timeout_secs=5.0, expect_close=True):
    """Status, JSON body, and whether the server then closed the connection."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout_secs)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.split(": ", 1) for line in lines[1:] if line)
    body = await asyncio.wait_for(reader.readexactly(int(headers["Content-Length"])), timeout_secs)
    if not expect_close:
        return status, json.loads(body), None
    closed = await asyncio.wait_for(reader.read(1), timeout_secs) == b""
    return status, json.loads(body), closed


# -- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/sync", "/async"])
async def test_two_files_and_fields_round_trip_exactly(site, path):
    # Bytes that look like the start of a boundary, and every byte value, must come through.
    tricky = b"\r\n--" + BOUNDARY[:-3] + b"\r\n-" + bytes(range(256)) * 300
    photo2 = os.urandom(700 * KIB)
    body = (
        text_part("caption", "海边的日落 🌅 #sunset")
        + file_part("photo", "照片 (1).jpg", tricky)
        + text_part("alt", "")
        + file_part("photo", "IMG_0002.HEIC", photo2, "image/heic")
        + text_part("alt", "两只猫")
        + text_part("location", "")
        + END
    )
    r = await site.post(path, body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["fields"] == {
        "caption": ["海边的日落 🌅 #sunset"],
        "alt": ["", "两只猫"],
        "location": [""],
    }
    assert got["files"] == {
        "photo": [
            {
                "filename": "照片 (1).jpg",
                "content_type": "image/jpeg",
                "size": len(tricky),
                "sha256": sha(tricky),
                "read_bytes_ok": True,
                "in_tmp_dir": True,
            },
            {
                "filename": "IMG_0002.HEIC",
                "content_type": "image/heic",
                "size": len(photo2),
                "sha256": sha(photo2),
                "read_bytes_ok": True,
                "in_tmp_dir": True,
            },
        ]
    }
    assert got["caption"] == got["body_argument"] == "海边的日落 🌅 #sunset"
    assert got["request_body_len"] == 0
    assert got["user"] == ("ana" if path == "/async" else None)
    assert site.leftovers() == []  # the files lived until the response, not after


async def test_empty_file_input_is_skipped_and_missing_fields_default(site):
    body = file_part("photo", "", b"", "application/octet-stream") + text_part("caption", "") + END
    r = await site.post("/sync", body)
    assert r.status_code == 200, r.text
    assert r.json()["files"] == {} and r.json()["fields"] == {"caption": [""]}
    body = file_part("photo", "a.jpg", b"", "application/octet-stream") + END
    r = await site.post("/sync", body)
    assert r.json()["files"]["photo"][0]["size"] == 0 and r.json()["caption"] == "<none>"
    assert site.leftovers() == []


async def test_a_body_arriving_a_few_bytes_at_a_time(site):
    # Every boundary, header and value straddles chunks somewhere.
    content = b"\r\n--" + BOUNDARY[:10] + b"\r\n\r\n" + bytes(range(256))
    body = (
        text_part("caption", "一步一步 step by step")
        + file_part("photo", "慢.png", content, "image/png")
        + text_part("alt", "")
        + END
    )
    reader, writer = await open_upload(site, "/sync", len(body))
    for i in range(0, len(body), 3):
        writer.write(body[i : i + 3])
        await writer.drain()
        await asyncio.sleep(0.0005)
    status, got, _ = await read_response(reader, expect_close=False)
    writer.close()
    assert status == 200, got
    assert site.seen["chunks"] > 50, "the body should have arrived in many pieces"
    assert got["fields"] == {"caption": ["一步一步 step by step"], "alt": [""]}
    assert got["files"]["photo"][0]["filename"] == "慢.png"
    assert got["files"]["photo"][0]["sha256"] == sha(content)
    assert site.leftovers() == []


# -- too large: 413 before the body is read -----------------------------------------------------


async def test_declared_length_over_the_limit_is_refused_before_any_body(site):
    reader, writer = await open_upload(site, "/sync", 30 * MIB)
    status, body, closed = await read_response(reader)
    writer.close()
    assert status == 413 and closed
    assert body["message"] == "The upload is too large: at most 3 photos of 1 MB each."
    assert site.leftovers() == [] and "post_ran" not in site.seen


async def test_expect_100_continue_gets_413_instead_of_continue(site):
    reader, writer = await open_upload(site, "/sync", 30 * MIB, Expect="100-continue")
    status, _, closed = await read_response(reader)
    writer.close()
    assert status == 413 and closed


async def test_one_part_over_the_limit_is_refused_mid_stream(site):
    content = os.urandom(2 * MIB)  # fits the declared body limit, not the per-file one
    body = text_part("caption", "hi") + file_part("photo", "big.jpg", content) + END
    assert len(body) < SMALL.max_body_bytes
    reader, writer = await open_upload(site, "/sync", len(body))
    writer.write(body[: 512 * KIB])
    await writer.drain()
    await wait_for_temp_file(site)
    # A little past the limit, then wait like a slow phone would between packets.
    writer.write(body[512 * KIB : 1 * MIB + 100 * KIB])
    await writer.drain()
    started = time.monotonic()
    status, got, closed = await read_response(reader)
    writer.close()
    assert status == 413 and closed and time.monotonic() - started < 2
    assert got["message"] == "The file is too large. The limit is 1 MB per photo."
    assert site.leftovers() == [] and "post_ran" not in site.seen


@pytest.mark.parametrize("declared_mib", [None, 30], ids=["mid-stream", "declared-length"])
async def test_a_client_that_keeps_sending_still_gets_the_413(site, declared_mib):
    # A browser does not wait for an answer: it goes on sending while the server refuses. The
    # server must not close with unread input (a TCP reset can destroy the 413 in flight).
    body = file_part("photo", "big.jpg", os.urandom(3 * MIB)) + END
    length = declared_mib * MIB if declared_mib else len(body)
    reader, writer = await open_upload(site, "/sync", length)

    async def send_everything() -> None:
        with contextlib.suppress(ConnectionError):
            for i in range(0, len(body), 64 * KIB):
                writer.write(body[i : i + 64 * KIB])
                await writer.drain()

    sender = asyncio.create_task(send_everything())
    status, got, closed = await read_response(reader)
    await sender
    writer.close()
    assert status == 413 and closed
    assert "too large" in got["message"]
    assert site.leftovers() == [] and "post_ran" not in site.seen


# -- 400s ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message_key"),
    [
        pytest.param(
            b"".join(file_part("photo", f"{i}.jpg", b"x") for i in range(4)) + END,
            "too_many_files",
            id="too-many-files",
        ),
        pytest.param(
            b"".join(text_part(f"f{i}", "x") for i in range(9)) + END,
            "too_many_fields",
            id="too-many-fields",
        ),
        pytest.param(text_part("caption", "字" * 700) + END, "field_too_long", id="field-too-long"),
        pytest.param(text_part("caption", b"caf\xe9") + END, "invalid_text", id="invalid-utf8"),
        pytest.param(text_part(b"capt\xff", "x") + END, "invalid_text", id="invalid-utf8-name"),
        pytest.param(b"this is not multipart at all", "malformed", id="garbage"),
        pytest.param(
            file_part("photo", "a.jpg", b"x" * 1000), "malformed", id="no-closing-boundary"
        ),
        pytest.param(
            b"--" + BOUNDARY + b"\r\nContent-Disposition: attachment\r\n\r\nx\r\n" + END,
            "malformed",
            id="not-form-data",
        ),
        pytest.param(
            b"--" + BOUNDARY + b"\r\nX-Junk: " + b"j" * 10_000 + b"\r\n\r\nx\r\n" + END,
            "malformed",
            id="huge-part-header",
        ),
        pytest.param(
            b"--"
            + BOUNDARY
            + b"\r\n"
            + b"".join(b"X-%d: 1\r\n" % i for i in range(9))
            + b"\r\n\r\nx\r\n"
            + END,
            "malformed",
            id="too-many-part-headers",
        ),
        pytest.param(
            b"--" + BOUNDARY + b"\r\nBad Header\r\n\r\nx\r\n" + END,
            "malformed",
            id="bad-part-header",
        ),
    ],
)
async def test_bad_bodies_are_400_with_a_message(site, body, message_key):
    r = await site.post("/sync", body)
    assert r.status_code == 400, r.text
    params = {"count": 3} if "many_files" in message_key else {"count": 8}
    params["kb"] = 2
    expected = UPLOAD_ERROR_MESSAGES[message_key] % params
    assert r.json()["message"] == expected
    assert site.leftovers() == [] and "post_ran" not in site.seen


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "application/x-www-form-urlencoded",
        "text/plain",
    ],
)
async def test_wrong_content_type_is_400(site, content_type):
    r = await site.post("/sync", b"caption=hello&_xsrf=x", content_type=content_type)
    assert r.status_code == 400
    assert r.json()["message"] == UPLOAD_ERROR_MESSAGES["malformed"]


async def test_empty_chunked_and_compressed_bodies_are_400(site):
    assert (await site.post("/sync", b"")).status_code == 400
    r = await site.post("/sync", END, **{"Content-Encoding": "gzip"})
    assert r.status_code == 400

    async def chunks():
        yield text_part("caption", "x") + END

    headers = {"Content-Type": MULTIPART, "X-XSRFToken": await site.token()}
    r = await site.http.post("/sync", content=chunks(), headers=headers)
    assert r.status_code == 400
    assert "post_ran" not in site.seen


# -- XSRF on both paths -------------------------------------------------------------------------


async def test_xsrf_by_header(site):
    body = file_part("photo", "a.jpg", b"abc") + END
    r = await site.post("/sync", body)
    assert r.status_code == 200 and r.json()["files"]["photo"][0]["sha256"] == sha(b"abc")
    r = await site.post("/sync", body, xsrf=False, **{"X-XSRFToken": "2|00|00|1"})
    assert r.status_code == 403
    assert site.leftovers() == []


async def test_xsrf_by_form_field_like_a_plain_html_form(site):
    body = text_part("_xsrf", await site.token()) + file_part("photo", "a.jpg", b"abc") + END
    r = await site.post("/sync", body, xsrf=False)
    assert r.status_code == 200, r.text
    assert r.json()["files"]["photo"][0]["size"] == 3
    assert site.leftovers() == []


@pytest.mark.parametrize("token", [None, "", "2|deadbeef|cafebabe|1", "not-a-token"])
@pytest.mark.parametrize("path", ["/sync", "/blind"])
async def test_missing_or_wrong_xsrf_is_403_and_nothing_is_kept(site, token, path):
    # /blind's post() never looks at the form: the check must not depend on it doing so.
    fields = text_part("_xsrf", token) if token is not None else b""
    body = fields + file_part("photo", "a.jpg", os.urandom(300 * KIB)) + END
    r = await site.post(path, body, xsrf=False)
    assert r.status_code == 403
    assert "post_ran" not in site.seen
    assert site.leftovers() == []


async def test_xsrf_cookie_from_another_browser_is_403(site):
    token = await site.token()
    site.http.cookies.clear()
    await site.http.get("/sync")  # a fresh cookie that the token does not belong to
    r = await site.post("/sync", text_part("_xsrf", token) + END, xsrf=False)
    assert r.status_code == 403


# -- the request ending every other way ---------------------------------------------------------


async def test_client_disconnecting_mid_upload_leaves_nothing(site):
    content = os.urandom(900 * KIB)
    body = file_part("photo", "a.jpg", content) + END
    _reader, writer = await open_upload(site, "/sync", len(body))
    writer.write(body[: 600 * KIB])
    await writer.drain()
    await wait_for_temp_file(site)
    writer.close()
    await wait_until_empty(site)
    assert "post_ran" not in site.seen


async def test_refused_in_prepare_before_the_body(site):
    reader, writer = await open_upload(site, "/async", 2 * MIB, **{"X-Deny": "1"})
    status, _, closed = await read_response(reader)
    writer.close()
    assert status == 403 and closed and site.leftovers() == []


async def test_keep_alive_after_a_successful_upload(site):
    body = file_part("photo", "a.jpg", b"1") + END
    reader, writer = await open_upload(site, "/sync", len(body))
    writer.write(body)
    status, _, _ = await read_response(reader, expect_close=False)
    assert status == 200 and site.leftovers() == []
    # The same connection carries the next upload: only refusals close it.
    head = (
        f"POST /sync HTTP/1.1\r\nHost: x\r\nContent-Type: {MULTIPART}\r\n"
        f"Content-Length: {len(body)}\r\nCookie: _xsrf={site.cookie()}\r\n"
        f"X-XSRFToken: {await site.token()}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    status, got, _ = await read_response(reader, expect_close=False)
    writer.close()
    assert status == 200 and got["files"]["photo"][0]["size"] == 1
    assert site.leftovers() == []


# -- memory -------------------------------------------------------------------------------------


async def test_a_20_mb_upload_never_holds_the_body_in_memory(site):
    block = os.urandom(64 * KIB)
    blocks = 320  # 20 MiB
    head = text_part("caption", "big one") + file_head("photo", "big.jpg")
    length = len(head) + len(block) * blocks + 2 + len(END)
    digest = hashlib.sha256()
    await site.token()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        reader, writer = await open_upload(site, "/big", length)
        writer.write(head)
        for _ in range(blocks):
            writer.write(block)
            digest.update(block)
            await writer.drain()
        writer.write(b"\r\n" + END)
        await writer.drain()
        status, got, _ = await read_response(reader, timeout_secs=30, expect_close=False)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    writer.close()
    assert status == 200, got
    assert got["files"]["photo"][0]["size"] == 20 * MIB
    assert got["files"]["photo"][0]["sha256"] == digest.hexdigest()
    assert got["request_body_len"] == 0
    # Client, server and parser together; buffering the body anywhere would be 20 MiB.
    assert site.seen["peak_bytes_before_post"] < 4 * MIB, site.seen["peak_bytes_before_post"]
    assert peak_bytes < 4 * MIB, peak_bytes
    assert site.leftovers() == []


# -- the pieces on their own ------------------------------------------------------------------


def test_messages_are_found_by_the_translation_check():
    assert set(UPLOAD_ERROR_MESSAGES.values()) <= msgids()


def test_refusals_are_http_errors_that_pages_can_explain():
    too_large = UploadTooLarge("file_too_large", mb=25)
    assert isinstance(too_large, tornado.web.HTTPError) and isinstance(too_large, UserError)
    assert too_large.status_code == too_large.status == 413
    assert (
        too_large.render(lambda text: text)
        == "The file is too large. The limit is 25 MB per photo."
    )
    assert (
        too_large.render({UPLOAD_ERROR_MESSAGES["file_too_large"]: "最大 %(mb)d MB"}.get)
        == "最大 25 MB"
    )
    bad = BadUpload("too_many_files", count=10)
    assert (
        bad.status_code == 400 and bad.render(str) == "You can upload at most 10 photos at a time."
    )


def test_default_limits():
    limits = UploadLimits()
    assert (limits.max_file_bytes, limits.max_files) == (25 * MIB, 10)
    # Room for ten full photos plus every text field, and not much more.
    assert 250 * MIB < limits.max_body_bytes < 250 * MIB + 2 * MIB
    with pytest.raises(ValueError):
        UploadLimits(max_files=0)
