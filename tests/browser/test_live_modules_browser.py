"""The live modules in real Chromium, under the site's CSP, against a stand-in server.

The Node tests cover the logic on fakes; this checks what only a browser can: the modules load
as ES modules from /static, a real WebSocket connects, Web Animations run, toasts and lists
render, and nothing trips the Content-Security-Policy (no inline style or script anywhere).
The stand-in speaks the protocol of docs/realtime.md; the real server has its own tests.
"""

from __future__ import annotations

import asyncio
import json
import queue
import shutil
import threading
import time
from pathlib import Path

import pytest
import tornado.web
import tornado.websocket
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from tests.helpers import require
from tornagram.web.security import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.browser

STATIC_DIR = Path(__file__).resolve().parents[2] / "tornagram" / "static"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]

HEAD = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>t</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/css/app.css"><link rel="stylesheet" href="/static/css/live.css">
<script type="module" src="/static/js/app.js"></script>
<script type="module" src="/static/js/live-pages.js"></script></head>"""

POST_PAGE = (
    HEAD
    + """
<body data-user-channel="user:1" data-username="ada" data-msg-dismiss="关闭">
<nav><a href="/notifications">通知 <span class="badge" data-unread-badge hidden>0</span></a></nav>
<main class="page"><article class="post-card" data-live-channel="post:42" data-live-since="7-0">
  <div class="carousel ar-100" data-danmaku-stage><div class="room-stage-empty"></div></div>
  <button type="button" class="btn btn-small" data-danmaku-toggle aria-pressed="true">弹幕</button>
  <a class="like-count" href="/p/42/likes" data-like-count="1" data-zero="还没有人赞" data-one="1 个赞"
     data-many="%(count)s 个赞">1 个赞</a>
  <ul data-comment-list><li class="comment" id="c1">first</li></ul>
  <form method="post" action="/p/42/comments" data-live-comment-form data-msg-disconnected="连接中断">
    <textarea name="body" aria-label="评论"></textarea>
    <button type="submit">发布</button><p class="field-error" role="alert" data-send-error hidden></p>
  </form></article></main></body></html>"""
)

ROOM_PAGE = (
    HEAD
    + """
<body data-user-channel="user:1" data-username="ada">
<main class="page"><article class="room" data-live-channel="room:tea">
  <p><span data-presence data-label="%(count)d 人在看" data-initial="1">1 人在看</span></p>
  <div class="room-stage" data-room-stage data-danmaku-stage><div class="room-stage-empty"></div>
    <button type="button" class="btn btn-small danmaku-toggle" data-danmaku-toggle aria-pressed="true">弹幕</button></div>
  <ol class="message-list" data-message-list aria-live="polite"></ol>
  <form method="post" action="/rooms/tea/messages" class="room-form" data-live-send-form>
    <input name="body" aria-label="消息" required><button type="submit">发送</button>
    <p class="field-error" role="alert" data-send-error></p></form>
</article></main></body></html>"""
)


class StandIn:
    """A thread running Tornado: pages, /static, and a /ws the test plays the server through."""

    def __init__(self) -> None:
        self.received: queue.Queue[dict] = queue.Queue()
        self.sockets: list[tornado.websocket.WebSocketHandler] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        assert ready.wait(10), "stand-in server did not start"

    def _run(self, ready: threading.Event) -> None:
        stand_in = self

        class Page(tornado.web.RequestHandler):
            def initialize(self, html: str) -> None:
                self.html = html

            def get(self) -> None:
                self.set_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                self.write(self.html)

        class Socket(tornado.websocket.WebSocketHandler):
            def open(self) -> None:
                stand_in.sockets.append(self)

            def on_message(self, message) -> None:
                request = json.loads(message)
                stand_in.received.put(request)
                if request["op"] == "subscribe":
                    self.write_message({"op": "subscribed", "channel": request["channel"]})

        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            app = tornado.web.Application(
                [
                    (r"/", Page, {"html": POST_PAGE}),
                    (r"/room", Page, {"html": ROOM_PAGE}),
                    (r"/ws", Socket),
                ],
                static_path=str(STATIC_DIR),
            )
            sockets = bind_sockets(0, "127.0.0.1")
            self.port = sockets[0].getsockname()[1]
            HTTPServer(app).add_sockets(sockets)
            ready.set()
            await asyncio.Event().wait()

        asyncio.run(main())

    def push(self, message) -> None:
        """Sends to the newest socket, as the hub would."""
        text = json.dumps(message, ensure_ascii=False)
        self.loop.call_soon_threadsafe(lambda: self.sockets[-1].write_message(text))

    def close_newest(self, code: int) -> None:
        self.loop.call_soon_threadsafe(lambda: self.sockets[-1].close(code))

    def expect(self, op: str, timeout_secs: float = 10) -> dict:
        deadline = time.monotonic() + timeout_secs
        while True:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {op!r} from the page"
            request = self.received.get(timeout=remaining)
            if request["op"] == op:
                return request


@pytest.fixture(scope="module")
def stand_in() -> StandIn:
    return StandIn()


@pytest.fixture
def page(stand_in):
    require(
        Path(CHROMIUM).exists() or shutil.which("chromium") is not None,
        "Chromium",
        f"{CHROMIUM} is missing (apt-get install chromium)",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 900})
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on(
                "console",
                lambda msg: (
                    msg.type in ("error", "warning")
                    and problems.append(f"console {msg.type}: {msg.text}")
                ),
            )
            page.problems = problems
            yield page
        finally:
            browser.close()
    # CSP violations are reported on the console, so this also proves the CSP held.
    assert problems == [], problems


def drain(stand_in: StandIn) -> None:
    while not stand_in.received.empty():
        stand_in.received.get_nowait()


def test_post_page_lists_flies_notifies_and_sends(stand_in, page):
    from playwright.sync_api import expect

    drain(stand_in)
    page.goto(f"http://127.0.0.1:{stand_in.port}/")
    subscribed = {stand_in.expect("subscribe")["channel"], stand_in.expect("subscribe")["channel"]}
    assert subscribed == {"user:1", "post:42"}

    comment = {
        "id": "2",
        "post_id": "42",
        "parent_id": None,
        "body": "好美 <3",
        "html": "好美 &lt;3",
        "author": {"username": "ada", "name": "Ada", "avatar": None},
    }
    stand_in.push(
        [{"channel": "post:42", "event": "comment.created", "id": "9-0", "data": comment}]
    )
    # This stand-in page has no comment template: the text with its author, escaped.
    expect(page.locator("#c2 .comment-text")).to_have_text("ada 好美 <3")
    flying = page.locator("[data-danmaku-stage] .danmaku-layer .danmaku-item.danmaku-self")
    expect(flying).to_have_text("好美 <3")
    assert flying.evaluate("el => el.getAnimations().length") == 1

    stand_in.push(
        {
            "channel": "user:1",
            "event": "notification.created",
            "id": "3-0",
            # A photo other than the one on screen (news about that one is not toasted).
            "data": {"kind": "like", "unread": 4, "text": "bo 赞了你的照片", "post_id": "43"},
        }
    )
    expect(page.locator(".live-toasts[role=status] a[href='/p/43']")).to_have_text(
        "bo 赞了你的照片"
    )
    expect(page.locator("[data-unread-badge]")).to_have_text("4")
    expect(page.locator("[data-unread-badge]")).to_be_visible()
    # Read in another tab: the badge goes here too.
    stand_in.push(
        {"channel": "user:1", "event": "notifications.read", "id": "4-0", "data": {"unread": 0}}
    )
    expect(page.locator("[data-unread-badge]")).to_be_hidden()
    # Someone else likes the photo: the count follows, in the page's words.
    stand_in.push(
        {"channel": "post:42", "event": "like.changed", "id": "10-0",
         "data": {"post_id": "42", "count": 2}}
    )  # fmt: skip
    expect(page.locator("[data-like-count]")).to_have_text("2 个赞")

    page.fill("textarea[name=body]", "太好看了")
    page.click("button[type=submit]")
    assert stand_in.expect("send") == {"op": "send", "channel": "post:42", "body": "太好看了"}
    stand_in.push(
        {"op": "error", "code": "rate_limited", "message": "发送太快了", "channel": "post:42"}
    )
    expect(page.locator("[data-send-error]")).to_have_text("发送太快了")
    expect(page.locator("textarea[name=body]")).to_have_value("太好看了")

    # Backpressure: the server closes with 1013; the page comes back and resumes with since.
    stand_in.close_newest(1013)
    resumed = {}
    for _ in range(2):
        request = stand_in.expect("subscribe")
        resumed[request["channel"]] = request.get("since")
    assert resumed == {"user:1": "4-0", "post:42": "10-0"}

    page.click("[data-danmaku-toggle]")
    expect(page.locator("[data-danmaku-toggle]")).to_have_attribute("aria-pressed", "false")
    expect(page.locator(".danmaku-layer")).to_be_hidden()
    assert page.evaluate("localStorage.getItem('tornagram.danmaku')") == "off"


def test_room_page_counts_lists_and_fades_with_reduced_motion(stand_in, page):
    from playwright.sync_api import expect

    drain(stand_in)
    page.emulate_media(reduced_motion="reduce")
    page.goto(f"http://127.0.0.1:{stand_in.port}/room")
    assert stand_in.expect("subscribe")["channel"] in ("user:1", "room:tea")
    assert stand_in.expect("subscribe")["channel"] in ("user:1", "room:tea")
    stand_in.push(
        [
            {
                "channel": "room:tea",
                "event": "presence.changed",
                "id": "1-0",
                "data": {"node": "a", "watching": 2},
            },
            {
                "channel": "room:tea",
                "event": "presence.changed",
                "id": "1-1",
                "data": {"node": "b", "watching": 3},
            },
            {
                "channel": "room:tea",
                "event": "message.created",
                "id": "2-0",
                "data": {
                    "id": "77",
                    "room": "tea",
                    "body": "<b>大家好</b>",
                    "author": {"username": "bo"},
                },
            },
        ]
    )
    expect(page.locator("[data-presence]")).to_have_text("5 人在看")
    expect(page.locator("#m77 .message-body")).to_have_text("<b>大家好</b>")
    expect(page.locator("#m77 .message-author")).to_have_attribute("href", "/@bo")
    expect(page.locator(".danmaku-list .danmaku-static")).to_have_text("<b>大家好</b>")
    assert page.locator(".danmaku-item").count() == 0, "nothing flies with reduced motion"
