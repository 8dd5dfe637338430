"""A browser client on another origin (as Elk or Phanpy are): it gets a token through the real
consent page, then calls the API with fetch. CORS must let it read the answers and the Link
and rate-limit headers, and the preflight must allow Authorization."""

from __future__ import annotations

import http.server
import threading
from urllib.parse import urlencode

import pytest

from tests.browser.support import sign_up
from tests.helpers import free_port

CLIENT_PAGE = b"<!doctype html><title>client</title><p>an app on another origin</p>"


class _ClientPage(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(CLIENT_PAGE)

    def log_message(self, *args):
        pass


@pytest.fixture
def other_origin():
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _ClientPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_on_another_origin_uses_the_api(live_server, browser, other_origin):
    base = live_server
    context = browser.new_context()
    page = context.new_page()
    sign_up(page, base, "alice")
    app = page.request.post(base + "/api/v1/apps", form={
        "client_name": "Browser client", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": "read write"}).json()
    page.goto(base + "/oauth/authorize?" + urlencode({
        "client_id": app["client_id"], "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
        "response_type": "code", "scope": "read write"}))
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_load_state()
    code = page.locator("#oauth-code").input_value()

    client = context.new_page()
    client.goto(other_origin + "/")
    result = client.evaluate(
        """async ([base, app, code]) => {
            const form = new URLSearchParams({grant_type: "authorization_code", code,
                client_id: app.client_id, client_secret: app.client_secret,
                redirect_uri: "urn:ietf:wg:oauth:2.0:oob"});
            const token = await (await fetch(base + "/oauth/token", {method: "POST", body: form})).json();
            const auth = {Authorization: "Bearer " + token.access_token};
            const me = await fetch(base + "/api/v1/accounts/verify_credentials", {headers: auth});
            // A photo drawn here, uploaded with FormData, then posted: the public timeline
            // has a page, and so a Link header.
            const canvas = document.createElement("canvas");
            canvas.width = 40; canvas.height = 30;
            const g = canvas.getContext("2d"); g.fillStyle = "#c33"; g.fillRect(0, 0, 40, 30);
            const blob = await new Promise(done => canvas.toBlob(done, "image/png"));
            const upload = new FormData();
            upload.append("file", blob, "red.png");
            upload.append("description", "A red rectangle");
            const media = await (await fetch(base + "/api/v2/media",
                {method: "POST", headers: auth, body: upload})).json();
            await fetch(base + "/api/v1/statuses", {method: "POST",
                headers: {...auth, "Content-Type": "application/json"},
                body: JSON.stringify({status: "From a browser app", media_ids: [media.id]})});
            const tl = await fetch(base + "/api/v1/timelines/public?limit=1", {headers: auth});
            const missing = await fetch(base + "/api/v1/nope", {headers: auth});
            const post = await fetch(base + "/api/v1/statuses", {method: "POST",
                headers: {...auth, "Content-Type": "application/json", "Idempotency-Key": "k1"},
                body: JSON.stringify({status: "no photo"})});
            return {
                username: (await me.json()).username,
                limit: me.headers.get("X-RateLimit-Limit"),
                remaining: me.headers.get("X-RateLimit-Remaining"),
                reset: me.headers.get("X-RateLimit-Reset"),
                requestId: me.headers.get("X-Request-Id"),
                timeline: tl.status,
                link: tl.headers.get("Link"),
                alt: (await tl.json())[0].media_attachments[0].description,
                missing: [missing.status, await missing.json()],
                post: [post.status, (await post.json()).error !== undefined],
            };
        }""",
        [base, app, code],
    )
    assert result["username"] == "alice"
    assert result["limit"] == "300" and int(result["remaining"]) < 300 and result["reset"]
    assert result["requestId"]
    assert result["timeline"] == 200 and result["alt"] == "A red rectangle"
    assert 'rel="next"' in result["link"] and result["link"].startswith("<" + base + "/api/v1/")
    assert result["missing"] == [404, {"error": "Record not found"}]
    # A JSON POST with Authorization and Idempotency-Key passed its preflight; the 422 is read.
    assert result["post"] == [422, True]
    context.close()
