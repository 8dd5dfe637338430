"""Hostile requests through the real site: malformed multipart bodies to /upload, traversal
and NUL bytes under /media and /static. Zero 5xx, every request answered, no secret served,
nothing left in the data dir's tmp. (Out-of-range and Unicode-digit ids and cursors on every
route are walked by tests/web/test_params.py.)"""

from __future__ import annotations

from tests.hostile.rawhttp import exchange, get, post
from tests.photos.support import files_under

B = "hostile-boundary"
MULTIPART = f"multipart/form-data; boundary={B}"


def part(headers: str, body: bytes) -> bytes:
    return f"--{B}\r\n{headers}\r\n\r\n".encode() + body + b"\r\n"


def field(name: str, value: bytes) -> bytes:
    return part(f'Content-Disposition: form-data; name="{name}"', value)


def file(filename: str, data: bytes, name: str = "photo") -> bytes:
    return part(
        f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        "Content-Type: image/png",
        data,
    )


END = f"--{B}--\r\n".encode()


def multipart_cases(xsrf: bytes, png: bytes) -> list[tuple[str, bytes, dict]]:
    ok = field("_xsrf", xsrf)
    return [
        ("no closing boundary", ok + file("a.png", png), {}),
        ("only the closing boundary", END, {}),
        ("garbage", b"\x00\xff" * 500, {}),
        ("LF line ends", (ok + file("a.png", png) + END).replace(b"\r\n", b"\n"), {}),
        ("header without colon", ok + f"--{B}\r\nNonsense\r\n\r\nx\r\n".encode() + END, {}),
        ("part without name", ok + part("Content-Disposition: form-data", b"x") + END, {}),
        ("not form-data", ok + part('Content-Disposition: attachment; name="x"', b"x") + END, {}),
        ("huge part header", ok + part("X-Pad: " + "a" * 20_000, b"x") + END, {}),
        ("many part headers", ok + part("\r\n".join(f"X-{i}: 1" for i in range(50)), b"x") + END, {}),
        ("traversal filename", ok + file("../../../etc/passwd", png) + END, {}),
        ("NUL in filename", ok + file("a\x00.png", png) + END, {}),
        ("NUL in field name", ok + field("cap\x00tion", b"x") + file("a.png", png) + END, {}),
        ("non-UTF-8 field", ok + field("caption", b"\xc3\x28") + file("a.png", png) + END, {}),
        ("NUL and controls in caption", ok + field("caption", b"a\x00b\x1b[31m") + file("a.png", png) + END, {}),
        ("non-UTF-8 field name", ok + field("\udcff".encode("utf-8", "surrogateescape"), b"x") + END, {}),
        ("a thousand fields", ok + b"".join(field(f"f{i}", b"x") for i in range(1000)) + END, {}),
        ("field too long", ok + field("caption", b"x" * 100_000) + END, {}),
        ("eleven files", ok + b"".join(file(f"{i}.png", png) for i in range(11)) + END, {}),
        ("nested multipart", ok + part(f"Content-Disposition: form-data; name=\"photo\"; filename=\"a\"\r\nContent-Type: multipart/mixed; boundary={B}", field("x", b"y")) + END, {}),
        ("no xsrf", file("a.png", png) + END, {}),
        ("two xsrf fields", ok + field("_xsrf", b"2|00|00|00") + file("a.png", png) + END, {}),
        ("empty filename", ok + file("", b"") + END, {}),
        ("declared shorter than sent", ok + file("a.png", png) + END, {"length": 40}),
        ("no boundary", ok + END, {"content_type": "multipart/form-data"}),
        ("empty boundary", ok + END, {"content_type": "multipart/form-data; boundary="}),
        ("boundary of 300 characters", ok + END, {"content_type": "multipart/form-data; boundary=" + "b" * 300}),
        ("wrong boundary", ok + END, {"content_type": "multipart/form-data; boundary=other"}),
        ("urlencoded", b"_xsrf=" + xsrf + b"&caption=x", {"content_type": "application/x-www-form-urlencoded"}),
        ("gzip", ok + END, {"extra": "Content-Encoding: gzip\r\n"}),
        ("zero length", b"", {}),
    ]  # fmt: skip


async def test_malformed_multipart_is_refused_never_a_5xx(site, image_bytes):
    c = await site.user_client("trudy")
    xsrf = (await c.xsrf()).encode()
    cookie = "; ".join(f"{k}={v}" for k, v in c.http.cookies.items())
    port = int(site.base_url.rsplit(":", 1)[1])
    png = image_bytes("tiny.png")
    for name, body, options in multipart_cases(xsrf, png):
        request = post(
            "/upload",
            body,
            content_type=options.get("content_type", MULTIPART),
            cookie=cookie,
            length=options.get("length"),
            extra=options.get("extra", ""),
        )
        response = await exchange(port, request)
        assert response is not None, f"{name}: no answer"
        assert response.status < 500, (name, response.status, response.body[:300])
        assert response.status != 201 or name in ("LF line ends", "NUL in filename",
            "NUL and controls in caption", "traversal filename", "two xsrf fields",
            "NUL in field name"), name  # fmt: skip
    assert files_under(site.ctx.settings.data_dir / "tmp") == []
    # Nothing was written outside the media dir under a name the client chose.
    assert not any("passwd" in str(p) for p in files_under(site.ctx.settings.data_dir))


TRAVERSALS = [
    "/{root}/../tornagram.db",
    "/{root}/..%2ftornagram.db",
    "/{root}/%2e%2e/tornagram.db",
    "/{root}/%2e%2e%2f%2e%2e%2fcookie_secret",
    "/{root}/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/{root}/..%5c..%5ccookie_secret",
    "/{root}/%252e%252e%252fcookie_secret",
    "/{root}/%00../cookie_secret",
    "/{root}/%00",
    "/{root}/a%00.jpg",
    "/{root}/%00../../tornagram.db",
    "/{root}/%0a",
    "/{root}/%ff%fe",
    "/{root}/%c0%ae%c0%ae/cookie_secret",
    "/{root}/" + "a/" * 200 + "x",
    "/{root}//etc/passwd",
    "/{root}/.",
    "/{root}/..",
]


async def test_traversal_and_nul_under_media_and_static_are_never_served(site):
    port = int(site.base_url.rsplit(":", 1)[1])
    secret = site.ctx.settings.cookie_secret.encode()
    for root in ("media", "static"):
        for template in TRAVERSALS:
            path = template.format(root=root)
            response = await exchange(port, get(path))
            assert response is not None, f"{path}: no answer"
            assert response.status in (301, 302, 400, 403, 404), (path, response.status)
            assert secret not in response.body and b"SQLite format" not in response.body
            assert b"root:" not in response.body
            if "%00" in path:
                assert response.status == 404, (path, response.status)
