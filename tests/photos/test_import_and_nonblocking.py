"""Import from a URL through the real site, and proof that slow work never blocks other pages."""

from __future__ import annotations

import asyncio
import html
import io
import re

import pytest
import tornado.testing
import tornado.web
from PIL import Image

from tests.helpers import post_id_from, upload
from tests.photos.support import assert_nothing_left


class Origin:
    """A little web server on loopback standing in for someone else's site."""

    def __init__(self, image: bytes) -> None:
        self.image = image
        self.release = asyncio.Event()
        self.slow_request_arrived = asyncio.Event()
        origin = self

        class ImageHandler(tornado.web.RequestHandler):
            def get(self):
                self.set_header("Content-Type", "image/jpeg")
                self.write(origin.image)

        class SlowHandler(tornado.web.RequestHandler):
            async def get(self):
                origin.slow_request_arrived.set()
                await origin.release.wait()
                self.set_header("Content-Type", "image/jpeg")
                self.write(origin.image)

        class RedirectHandler(tornado.web.RequestHandler):
            def get(self):
                self.redirect("http://169.254.169.254/latest/meta-data/")

        class BadRedirectHandler(tornado.web.RequestHandler):
            def get(self):
                # An unclosed IPv6 bracket: urljoin raises ValueError on it.
                self.set_status(302)
                self.set_header("Location", "http://[::1")

        class MissingHandler(tornado.web.RequestHandler):
            def get(self):
                raise tornado.web.HTTPError(404)

        app = tornado.web.Application(
            [(r"/photo.jpg", ImageHandler), (r"/slow.jpg", SlowHandler),
             (r"/redirect", RedirectHandler), (r"/missing", MissingHandler),
             (r"/bad-redirect", BadRedirectHandler)]
        )
        sock, self.port = tornado.testing.bind_unused_port()
        self.server = tornado.httpserver.HTTPServer(app)
        self.server.add_sockets([sock])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def close(self) -> None:
        self.release.set()
        self.server.stop()
        await self.server.close_all_connections()


@pytest.fixture
async def origin(image_bytes):
    server = Origin(image_bytes("camera-gps.jpg"))
    yield server
    await server.close()


async def test_import_from_url_creates_a_post(site, origin):
    c = await site.user_client("pia")
    r = await c.post("/upload/url", {"url": origin.url("/photo.jpg"), "caption": "from the web #found"})
    assert r.status_code == 303, r.text
    page = await c.get(f"/p/{post_id_from(r)}")
    assert "#found" in page.text and page.text.count('class="carousel-slide"') == 1


@pytest.mark.parametrize(
    ("path_or_url", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", "private or reserved network"),
        ("http://10.0.0.1/a.jpg", "private or reserved network"),
        ("ftp://example.org/a.jpg", "Only http:// and https://"),
        ("http://user:pw@example.org/a.jpg", "user name or password"),
        ("/redirect", "private or reserved network"),
        ("/missing", "answered with an error"),
        ("/bad-redirect", "does not look like a web address"),
        ("not a url", "does not look like a web address"),
    ],
)
async def test_import_refusals_are_clear_and_leave_nothing(site, origin, path_or_url, message):
    url = origin.url(path_or_url) if path_or_url.startswith("/") else path_or_url
    c = await site.user_client("quentin")
    r = await c.post("/upload/url", {"url": url, "caption": ""})
    assert r.status_code == 400
    assert message in html.unescape(r.text)
    assert f'value="{html.escape(url, quote=True)}"' in r.text or "not a url" in url
    await assert_nothing_left(site)


async def test_import_of_something_that_is_not_an_image(site, origin):
    origin.image = b"<html>not an image</html>"
    c = await site.user_client("rena")
    r = await c.post("/upload/url", {"url": origin.url("/photo.jpg"), "caption": ""})
    assert r.status_code == 400 and "not supported" in html.unescape(r.text)
    await assert_nothing_left(site)


def big_png(width: int = 7000, height: int = 5000) -> bytes:
    """35 megapixels (PNG has no reduced-size decode, unlike JPEG): seconds of work."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_slow_import_and_big_image_do_not_stall_other_pages(site, origin):
    c = await site.user_client("sven")
    reader = site.client()
    order: list[str] = []

    async def slow_import():
        r = await c.post("/upload/url", {"url": origin.url("/slow.jpg"), "caption": ""})
        assert r.status_code == 303, r.text
        order.append("import")

    async def big_upload():
        r = await upload(c, [("big.png", await asyncio.to_thread(big_png))])
        assert r.status_code == 303, r.text
        order.append("upload")

    importing = asyncio.create_task(slow_import())
    uploading = asyncio.create_task(big_upload())
    await origin.slow_request_arrived.wait()
    while site.ctx.images.in_flight < 1:  # the big image is now being processed
        await asyncio.sleep(0.005)
    for path in ("/healthz", "/@sven", "/login"):
        r = await reader.get(path)
        assert r.status_code == 200
        order.append(path)
    assert site.ctx.images.in_flight >= 1 and not importing.done()
    origin.release.set()
    await asyncio.gather(importing, uploading)
    assert order[:3] == ["/healthz", "/@sven", "/login"], order
    assert set(order[3:]) == {"import", "upload"}
    assert re.search(r"<strong>2</strong>", (await reader.get("/@sven")).text)
