"""Headers, XSRF, error pages, request ids, static files and health, through real HTTP."""

from __future__ import annotations

import html
import logging
import re

import pytest

from tornagram.web.base import BaseHandler
from tornagram.web.security import safe_next


async def test_healthz(site):
    r = await site.client().get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    site.ctx.ready = False
    r = await site.client().get("/healthz")
    assert r.status_code == 503 and r.json() == {"status": "starting"}


async def test_security_headers_on_pages_errors_and_static(site):
    c = site.client()
    home = await c.get("/")
    css_url = re.search(r'href="(/static/css/app\.css\?v=[^"]+)"', home.text).group(1)
    for r in (home, await c.get("/no/such/page"), await c.get(css_url)):
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "strict-origin-when-cross-origin"


async def test_one_import_map_maps_every_module_to_the_url_pages_load(site):
    """Pages load /static/js/x.js?v=…, modules import ./x.js: the map makes them one module,
    and the CSP allows exactly that inline text by its hash."""
    import base64
    import hashlib
    import json

    c = await site.user_client("yolanda")
    r = await c.get("/explore")
    maps = re.findall(r'<script type="importmap">(.*?)</script>', r.text, re.S)
    assert len(maps) == 1
    assert r.text.index('type="importmap"') < r.text.index('<script type="module"')
    imports = json.loads(maps[0])["imports"]
    for src in re.findall(r'<script type="module" src="([^"]+)"', r.text):
        assert imports[src.split("?")[0]] == src
    assert imports["/static/js/blurhash.js"].startswith("/static/js/blurhash.js?v=")
    digest = base64.b64encode(hashlib.sha256(maps[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in r.headers["content-security-policy"]


async def test_no_inline_script_or_style_in_pages(site):
    c = await site.user_client("xena")
    await c.post("/settings/security/setup")  # the page then shows its QR code
    for path in ("/", "/settings/profile", "/settings/password", "/settings/sessions",
                 "/settings/security", "/settings/delete", "/settings/export", "/settings/email", "/confirm-email?token=x", "/@xena", "/nope", "/forgot", "/reset?token=x"):
        html = (await c.get(path)).text
        assert not re.search(r'<script(?![^>]*\bsrc=)(?! type="importmap">)', html), path
        assert " style=" not in html and "<style" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path


@pytest.mark.parametrize("path", ["/signup", "/login", "/logout", "/settings/profile", "/settings/language",
                                  "/forgot", "/reset", "/login/code", "/settings/security/setup",
                                  "/settings/delete", "/settings/export", "/settings/email",
                                  "/confirm-email"])
async def test_post_without_xsrf_is_403(site, path):
    c = site.client()
    await c.xsrf()
    r = await c.post(path, {"username": "yuri", "email": "y@example.org", "password": "long enough pw"}, xsrf=False)
    assert r.status_code == 403
    assert "Not allowed" in r.text


async def test_post_with_wrong_xsrf_is_403_and_creates_nothing(site):
    c = site.client()
    await c.xsrf()
    r = await c.post("/signup", {"_xsrf": "2|deadbeef|cafe|1", "username": "zoe", "email": "z@example.org", "password": "long enough pw"})
    assert r.status_code == 403
    assert (await site.client().get("/@zoe")).status_code == 404


async def test_get_on_post_only_route_is_405(site):
    c = await site.user_client("abel")
    for path in ("/logout", "/settings/sessions/revoke-others", "/settings/language"):
        r = await c.get(path)
        assert r.status_code == 405, path
        assert "does not accept" in r.text


async def test_friendly_404_keeps_the_user_signed_in(site):
    c = await site.user_client("bea")
    r = await c.get("/definitely/not/here")
    assert r.status_code == 404
    assert "This page isn't here" in html.unescape(r.text)
    assert "bea" in r.text  # the top bar still shows who is signed in


class Boom(BaseHandler):
    async def get(self):
        raise RuntimeError("secret internals")


async def test_500_page_hides_the_traceback(site):
    site.app.add_handlers(r".*", [(r"/boom", Boom, dict(ctx=site.ctx))])
    r = await site.client().get("/boom")
    assert r.status_code == 500
    assert "Something went wrong" in r.text
    assert "secret internals" not in r.text and "Traceback" not in r.text


async def test_500_page_shows_the_traceback_in_debug(site):
    site.app.add_handlers(r".*", [(r"/boom", Boom, dict(ctx=site.ctx))])
    site.app.settings["serve_traceback"] = True
    r = await site.client().get("/boom")
    assert r.status_code == 500 and "secret internals" in r.text and "Traceback" in r.text


async def test_request_id_is_echoed_and_logged(site, caplog):
    c = site.client()
    with caplog.at_level(logging.INFO, logger="tornagram.access"):
        r = await c.get("/login", headers={"X-Request-Id": "proxy-abc-12345"})
        fresh = await c.get("/login")
    assert r.headers["x-request-id"] == "proxy-abc-12345"
    assert re.fullmatch(r"[0-9a-f]{16}", fresh.headers["x-request-id"])
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "tornagram.access"]
    assert any("GET /login 200" in line and "rid=proxy-abc-12345" in line and "ms" in line for line in lines)
    # A request id a client made up must not be able to inject into the logs.
    r = await c.get("/login", headers={"X-Request-Id": "bad id <script> rid=forged"})
    assert re.fullmatch(r"[0-9a-f]{16}", r.headers["x-request-id"])


async def test_static_files_are_versioned_and_cached(site):
    c = site.client()
    home = await c.get("/")
    js = re.search(r'src="(/static/js/app\.js\?v=[0-9a-f]+)"', home.text).group(1)
    r = await c.get(js)
    assert r.status_code == 200 and "javascript" in r.headers["content-type"]
    assert "max-age" in r.headers["cache-control"]


async def test_media_path_traversal_is_refused(site):
    (site.ctx.settings.data_dir / "secret.txt").write_text("top secret")
    for path in ("/media/../secret.txt", "/media/%2e%2e/secret.txt", "/media/..%2fsecret.txt"):
        r = await site.client().get(path)
        assert r.status_code in (403, 404), path
        assert "top secret" not in r.text


async def test_secure_cookie_over_https(site):
    """Behind TLS termination the session cookie gets Secure (xheaders trust X-Forwarded-Proto)."""
    from tornagram.accounts.handlers import SignupHandler

    class HttpsSignup(SignupHandler):
        def prepare(self):
            self.request.protocol = "https"
            return super().prepare()

    site.app.add_handlers(r".*", [(r"/signup-https", HttpsSignup, dict(ctx=site.ctx))])
    c = site.client()
    token = await c.xsrf()
    r = await c.http.post("/signup-https", data={"_xsrf": token, "username": "cleo", "email": "c@example.org", "password": "long enough pw"})
    assert r.status_code == 303
    assert "Secure" in r.headers["set-cookie"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/settings", "/settings"), ("/p/1?x=2#c", "/p/1?x=2#c"), ("", "/"), (None, "/"),
     ("//evil.example", "/"), ("/\\evil.example", "/"), ("\\/evil.example", "/"),
     ("https://evil.example", "/"), ("javascript:alert(1)", "/"), ("/ok\r\nSet-Cookie: x", "/"),
     ("/\tevil", "/"), ("relative/path", "/"), ("/" + "a" * 3000, "/")],
)
def test_safe_next(target, expected):
    assert safe_next(target) == expected


async def test_no_metrics_are_kept_unless_asked_for(site):
    assert site.ctx.metrics is None
    assert site.ctx.images.observers == []
