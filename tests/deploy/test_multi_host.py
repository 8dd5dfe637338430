"""Two Tornagram hosts behind nginx, each in a network namespace of its own, sharing PostgreSQL,
Redis and an S3 bucket across veth links: the layout and the nginx configuration of
docs/deployment.md ("Two hosts"), which this test reads from there.

The database host is a namespace too. Its Redis and S3 (moto) are processes of its own; its
PostgreSQL is the machine's, reached through a TCP relay in that namespace to PostgreSQL's Unix
socket (tests/deploy/relay.py), because the machine's server listens on 127.0.0.1 only and a
second cluster takes too long to make. So every hop from a Tornagram host to a service is real
TCP across the test network; only the last step, relay to server, is a local socket.

Needs root, ``ip`` and nginx; skips without them on a laptop, fails under CI=true.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import tornado.httpclient
import tornado.websocket

from tests.deploy.netns import Hosts, why_not_here
from tests.helpers import photo_bytes, post_id_from, require

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deployment.md"
PG_ADMIN_DSN = os.environ.get("TORNAGRAM_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test")
PG_SOCKET = os.environ.get("TORNAGRAM_TEST_PG_SOCKET", "/var/run/postgresql/.s.PGSQL.5432")
SECRET = "multi-host-secret-" + "q" * 40
BUCKET = "tornagram-hosts"
APP_PORT = 8888
# The addresses the doc's example uses, which the test swaps for its own.
DOC_HOSTS = ("10.0.0.21:8888", "10.0.0.22:8888")

pytestmark = pytest.mark.slow


def site_config(h1: str, h2: str, listen: str) -> str:
    """The nginx block of docs/deployment.md's two-host example, on the test's addresses."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"```nginx\n(# tornagram: two hosts\n.*?)```", text, re.S)
    assert match, "docs/deployment.md has no '# tornagram: two hosts' nginx block"
    conf = match.group(1)
    for needle in (*DOC_HOSTS, "listen 443 ssl http2;", "ssl_certificate "):
        assert needle in conf, f"the doc's nginx block no longer has {needle!r}"
    conf = conf.replace(DOC_HOSTS[0], f"{h1}:{APP_PORT}").replace(DOC_HOSTS[1], f"{h2}:{APP_PORT}")
    conf = conf.replace("listen 443 ssl http2;", f"listen {listen}:80;")
    return "\n".join(line for line in conf.splitlines() if "ssl_certificate" not in line) + "\n"


def nginx_config(directory: Path, site: Path) -> str:
    temp = {name: directory / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(parents=True, exist_ok=True)
    return f"""
daemon off;
worker_processes 1;
user root;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {directory}/access.log;
    client_body_temp_path {temp['body']};
    proxy_temp_path {temp['proxy']};
    fastcgi_temp_path {temp['fastcgi']};
    uwsgi_temp_path {temp['uwsgi']};
    scgi_temp_path {temp['scgi']};
    # For the test only: which host answered (the site's own blocks add no headers).
    add_header X-Upstream $upstream_addr always;
    include {site};
}}
"""


class Deployment:
    def __init__(self, hosts: Hosts, directory: Path, database: str) -> None:
        self.hosts = hosts
        self.directory = directory
        self.database = database
        self.base = f"http://{hosts.front}"
        self.servers: dict[str, subprocess.Popen] = {}

    def upstream(self, host: str) -> str:
        return f"{self.hosts.addresses[host]}:{APP_PORT}"

    def reachable(self, from_host: str, address: str, port: int) -> bool:
        probe = subprocess.run(
            ["ip", "netns", "exec", self.hosts.ns(from_host), "bash", "-c",
             f"exec 3<>/dev/tcp/{address}/{port}"],
            capture_output=True, timeout=10, check=False,
        )
        return probe.returncode == 0

    def wait_reachable(self, from_host: str, address: str, port: int, what: str, proc=None):
        deadline = time.monotonic() + 30
        while not self.reachable(from_host, address, port):
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"{what} exited: {self.log_tail(what)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not come up: {self.log_tail(what)}")
            time.sleep(0.1)

    def log(self, name: str):
        return open(self.directory / f"{name}.log", "ab")

    def log_tail(self, name: str) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stream_bodies(self, channel: str) -> set[str]:
        """The bodies of the comment.created events in ``channel``'s replay stream."""
        db = self.hosts.addresses["db"]
        out = subprocess.run(
            ["ip", "netns", "exec", self.hosts.ns("db"), "redis-cli", "-h", db, "--raw",
             "XRANGE", f"tg:stream:{channel}", "-", "+"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
        return set(re.findall(r'"body": ?"(w[0-9]+-[0-9]+)"', out))

    def start_services(self) -> None:
        db = self.hosts.addresses["db"]
        self.hosts.run("db", [sys.executable, str(Path(__file__).with_name("relay.py")),
                              db, "5432", PG_SOCKET], stdout=self.log("relay"),
                       stderr=subprocess.STDOUT)
        self.hosts.run("db", ["redis-server", "--bind", db, "--port", "6379", "--save", "",
                              "--appendonly", "no", "--protected-mode", "no"],
                       stdout=self.log("redis"), stderr=subprocess.STDOUT)
        moto = str(Path(sys.executable).with_name("moto_server"))
        self.hosts.run("db", [moto, "-H", db, "-p", "9000"], stdout=self.log("moto"),
                       stderr=subprocess.STDOUT)
        for port, what in ((5432, "relay"), (6379, "redis"), (9000, "moto")):
            self.wait_reachable("h1", db, port, what)
        made = subprocess.run(
            ["ip", "netns", "exec", self.hosts.ns("db"), sys.executable, "-c",
             "import urllib.request as u; u.urlopen(u.Request("
             f"'http://{db}:9000/{BUCKET}', method='PUT'), timeout=10)"],
            capture_output=True, text=True, timeout=30, check=False,
        )
        assert made.returncode == 0, made.stderr

    def start_server(self, host: str) -> subprocess.Popen:
        db = self.hosts.addresses["db"]
        data = self.directory / host
        data.mkdir(exist_ok=True)
        env = {
            **os.environ,
            "TORNAGRAM_COOKIE_SECRET": SECRET,
            "AWS_ACCESS_KEY_ID": "test-access-key",
            "AWS_SECRET_ACCESS_KEY": "test-secret-key",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_S3": f"http://{db}:9000",
        }
        proc = self.hosts.run(
            host,
            [sys.executable, "-m", "tornagram", "serve",
             "--host", self.hosts.addresses[host], "--port", str(APP_PORT),
             "--data-dir", str(data), "--behind-proxy",
             "--database-url", f"postgresql+asyncpg://postgres@{db}:5432/{self.database}",
             "--redis-url", f"redis://{db}:6379/0", "--session-store", "redis",
             "--media-url", f"s3://{BUCKET}/site", "--site-url", self.base],
            cwd=ROOT, env=env, stdout=self.log(host), stderr=subprocess.STDOUT,
        )
        self.servers[host] = proc
        return proc

    def start_nginx(self) -> None:
        nginx_dir = self.directory / "nginx"
        nginx_dir.mkdir(exist_ok=True)
        site = nginx_dir / "tornagram.conf"
        site.write_text(
            site_config(self.hosts.addresses["h1"], self.hosts.addresses["h2"], self.hosts.front)
        )
        main = nginx_dir / "nginx.conf"
        main.write_text(nginx_config(nginx_dir, site))
        checked = subprocess.run(
            ["ip", "netns", "exec", self.hosts.ns("lb"), "nginx", "-t", "-c", str(main)],
            capture_output=True, text=True, timeout=20, check=False,
        )
        assert checked.returncode == 0, checked.stderr
        self.hosts.run("lb", ["nginx", "-c", str(main)], stdout=self.log("nginx"),
                       stderr=subprocess.STDOUT)


async def _pg(statement: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


async def _pg_column(database: str, query: str, *args) -> list:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + "/" + database, timeout=5)
    try:
        return [row[0] for row in await conn.fetch(query, *args)]
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    problem = why_not_here()
    require(problem is None, "network namespaces with nginx", problem or "")
    directory = tmp_path_factory.mktemp("hosts")
    database = f"tornagram_hosts_{os.getpid()}"
    try:
        asyncio.run(_pg(f'CREATE DATABASE "{database}"'))
    except OSError as exc:
        require(False, "PostgreSQL on 127.0.0.1", str(exc))
    hosts = Hosts()
    try:
        migrated = subprocess.run(
            [sys.executable, "-m", "tornagram", "migrate", "--data-dir", str(directory / "m"),
             "--database-url", f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"],
            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        )
        assert migrated.returncode == 0, migrated.stderr[-2000:]
        hosts.build()
        site = Deployment(hosts, directory, database)
        site.start_services()
        servers = [site.start_server("h1"), site.start_server("h2")]
        for host, proc in zip(("h1", "h2"), servers, strict=True):
            site.wait_reachable("lb", hosts.addresses[host], APP_PORT, host, proc)
        site.start_nginx()
        site.wait_reachable("lb", hosts.front, 80, "nginx")
        yield site
    finally:
        hosts.remove()
        assert hosts.leftovers() == [], "namespaces left behind"
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


# -- talking to one host through nginx -------------------------------------------------------


class Browser:
    """A cookie jar and XSRF through nginx; ``on(host)`` makes the next request land there."""

    def __init__(self, site: Deployment) -> None:
        self.site = site
        self.http = httpx.AsyncClient(base_url=site.base, follow_redirects=False, timeout=30)

    async def on(self, host: str) -> None:
        """nginx takes its hosts in turn (one worker, equal weights): ask until the last
        answer came from the other host, so the next request goes to ``host``."""
        want = self.site.upstream(host)
        for _ in range(4):
            r = await self.http.get("/healthz")
            if r.headers.get("x-upstream") != want:
                return
        raise AssertionError(f"nginx keeps sending everything to {want}")

    async def xsrf(self) -> str:
        if "_xsrf" not in self.http.cookies:
            await self.http.get("/login")
        return self.http.cookies["_xsrf"]

    async def post(self, path: str, data: dict) -> httpx.Response:
        return await self.http.post(path, data={**data, "_xsrf": await self.xsrf()})

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())

    async def aclose(self) -> None:
        await self.http.aclose()


def served_by(response) -> str:
    return response.headers.get("x-upstream", "")


async def signed_up(site: Deployment) -> tuple[Browser, str]:
    browser = Browser(site)
    name = f"u{uuid.uuid4().hex[:10]}"
    r = await browser.post(
        "/signup", {"username": name, "email": f"{name}@example.org", "password": "a long passphrase"}
    )
    assert r.status_code == 303, r.text
    return browser, name


async def socket_to(site: Deployment, host: str, channel: str, browser: Browser, since=None):
    """A WebSocket through nginx, landed on ``host``, subscribed to ``channel``."""
    await browser.on(host)
    ws = await open_socket(site, browser)
    assert ws.headers.get("X-Upstream") == site.upstream(host)
    await subscribe(ws, channel, since)
    return ws


async def open_socket(site: Deployment, browser: Browser):
    request = tornado.httpclient.HTTPRequest(
        site.base.replace("http://", "ws://") + "/ws",
        headers={"Origin": site.base, "Cookie": browser.cookie_header()},
    )
    return await tornado.websocket.websocket_connect(request)


async def subscribe(ws, channel: str, since=None) -> list[dict]:
    """Subscribe; the events that came with the answer (a replay may come first) are returned."""
    message = {"op": "subscribe", "channel": channel, **({"since": since} if since else {})}
    await ws.write_message(json.dumps(message))
    others: list[dict] = []
    while True:
        for item in await frames(ws, 10):
            if item.get("op") == "subscribed":
                return others
            assert item.get("op") != "error", item
            others.append(item)


async def frames(ws, timeout: float) -> list[dict]:
    raw = await asyncio.wait_for(ws.read_message(), timeout)
    if raw is None:
        raise ConnectionError("socket closed")
    value = json.loads(raw)
    return value if isinstance(value, list) else [value]


async def shared_post(site: Deployment) -> tuple[Browser, int, str]:
    """A post made through host 1."""
    author, _ = await signed_up(site)
    caption = f"across hosts {uuid.uuid4().hex[:8]}"
    await author.on("h1")
    token = await author.xsrf()
    r = await author.http.post(
        "/upload",
        data={"caption": caption, "alt": [], "_xsrf": token},
        files=[("photo", ("p.jpg", photo_bytes(7), "application/octet-stream"))],
    )
    assert r.status_code == 303, r.text
    assert served_by(r) == site.upstream("h1")
    return author, post_id_from(r), caption


# -- the tests -----------------------------------------------------------------------------------


async def test_a_post_made_on_host_one_is_on_host_two_at_once(deployment):
    author, post_id, caption = await shared_post(deployment)
    reader = Browser(deployment)
    await reader.on("h2")
    page = await reader.http.get(f"/p/{post_id}")
    assert page.status_code == 200 and served_by(page) == deployment.upstream("h2")
    assert caption in page.text
    # Its photo too: the bytes are in the shared bucket, not on host 1's disk.
    src = re.search(r'src="(/media/[^"]+)"', page.text).group(1)
    await reader.on("h2")
    image = await reader.http.get(src)
    assert image.status_code == 200 and served_by(image) == deployment.upstream("h2")
    assert image.content[:2] == b"\xff\xd8"
    await author.on("h2")
    home = await author.http.get("/")
    assert served_by(home) == deployment.upstream("h2") and caption in home.text
    await author.aclose()
    await reader.aclose()


async def test_a_live_comment_reaches_a_socket_on_host_two(deployment):
    author, post_id, _ = await shared_post(deployment)
    viewer = Browser(deployment)
    ws = await socket_to(deployment, "h2", f"post:{post_id}", viewer)
    await author.on("h1")
    r = await author.post(f"/p/{post_id}/comments", {"body": "said on host one"})
    assert r.status_code == 303 and served_by(r) == deployment.upstream("h1")
    while True:
        events = [f for f in await frames(ws, 10) if f.get("event") == "comment.created"]
        if events:
            assert events[0]["data"]["body"] == "said on host one"
            break
    ws.close()
    await author.aclose()
    await viewer.aclose()


async def test_a_session_revoked_on_one_host_is_dead_on_the_other(deployment):
    first, name = await signed_up(deployment)
    second = Browser(deployment)
    r = await second.post("/login", {"login": name, "password": "a long passphrase"})
    assert r.status_code == 303
    for host in ("h1", "h2"):  # cached on both
        await second.on(host)
        assert (await second.http.get("/settings/profile")).status_code == 200
    await first.on("h1")
    page = await first.http.get("/settings/sessions")
    other = [
        re.search(r"/settings/sessions/([0-9]+)/revoke", item).group(1)
        for item in page.text.split('class="session-item"')[1:]
        if "This device" not in item
    ]
    assert len(other) == 1
    await first.on("h1")
    r = await first.post(f"/settings/sessions/{other[0]}/revoke", {})
    assert r.status_code == 303 and served_by(r) == deployment.upstream("h1")
    await second.on("h2")
    gone = await second.http.get("/settings/profile")
    assert served_by(gone) == deployment.upstream("h2")
    assert gone.status_code == 302 and "/login" in gone.headers["location"]
    await first.aclose()
    await second.aclose()


async def test_kill_9_of_host_one_under_steady_traffic(deployment):
    """Writers comment and readers read through nginx while host 1 is killed: every comment that
    was answered is stored, and a live client on host 1 reconnects (to host 2) and resumes
    with ``since``, receiving every one of them, without a gap."""
    author, post_id, _ = await shared_post(deployment)
    channel = f"post:{post_id}"
    writers = [(await signed_up(deployment))[0] for _ in range(4)]
    acknowledged: set[str] = set()
    answered_at: dict[str, float] = {}
    statuses: list[tuple[float, int]] = []
    killed_at: list[float] = []
    stop = asyncio.Event()

    async def write(n: int, browser: Browser) -> None:
        i = 0
        while not stop.is_set():
            i += 1
            body = f"w{n}-{i}"
            try:
                r = await browser.post(f"/p/{post_id}/comments", {"body": body})
                if r.status_code == 303:
                    acknowledged.add(body)
                    answered_at[body] = time.monotonic()
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)

    async def read() -> None:
        browser = Browser(deployment)
        while not stop.is_set():
            r = await browser.http.get(f"/p/{post_id}")
            statuses.append((time.monotonic(), r.status_code))
            await asyncio.sleep(0.05)
        await browser.aclose()

    # The live client: connected to host 1, the one to die.
    viewer = Browser(deployment)
    ws = await socket_to(deployment, "h1", channel, viewer)
    heard: dict[str, str] = {}  # comment body -> event id
    gaps: list[dict] = []
    reconnects = 0

    async def listen() -> None:
        nonlocal ws, reconnects
        last_id = None
        pending: list[dict] = []
        while True:
            try:
                batch, pending = pending or await frames(ws, 30), []
                for item in batch:
                    if item.get("event") == "comment.created":
                        heard[item["data"]["body"]] = item["id"]
                        last_id = item["id"]
                    elif item.get("event") == "replay.incomplete":
                        gaps.append(item)
            except ConnectionError:
                # As the page's script does: reconnect through nginx, resume from the last id.
                reconnects += 1
                ws = await open_socket(deployment, viewer)
                pending = await subscribe(ws, channel, last_id)
                continue
            except TimeoutError:
                return

    listener = asyncio.create_task(listen())
    tasks = [asyncio.create_task(write(n, b)) for n, b in enumerate(writers)]
    tasks.append(asyncio.create_task(read()))
    await asyncio.sleep(3)
    assert len(acknowledged) >= 4, "no steady traffic before the kill"
    host1 = deployment.servers["h1"]
    os.kill(host1.pid, signal.SIGKILL)
    killed_at.append(time.monotonic())
    before = len(acknowledged)
    await asyncio.sleep(5)
    stop.set()
    await asyncio.gather(*tasks)
    assert host1.wait(timeout=10) == -signal.SIGKILL
    assert len(acknowledged) > before + 4, "writes did not carry on through host 2"

    # Readers: only requests in flight at the kill may have failed; after it, every one worked.
    late = [code for at, code in statuses if at > killed_at[0] + 0.5]
    assert late and all(code == 200 for code in late), sorted(set(late))

    # Every acknowledged comment is stored...
    stored = set(await _pg_column(deployment.database, "SELECT body FROM comments WHERE post_id = $1", post_id))
    missing = acknowledged - stored
    assert not missing, f"acknowledged comments lost: {sorted(missing)}"
    # ...and every comment that was published reached the live client, which moved to host 2
    # and resumed with ``since``, without a gap: what it heard is the channel's stream.
    published = deployment.stream_bodies(channel)
    assert len(published) > len(acknowledged) / 2, "the stream holds too few comments"
    deadline = time.monotonic() + 15
    while not published <= set(heard) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert reconnects >= 1, "the live client was never cut off from host 1"
    assert published <= set(heard), f"not delivered live: {sorted(published - set(heard))}"
    assert gaps == []
    # A comment's live event is published after its commit, and its answer waits at most
    # 0.1 s for that (db/engine.py: AFTER_COMMIT_WAIT_SECS): one answered by host 1 in its last
    # moments may be stored but never published. Only those, answered within a second of the
    # kill, may be missing from the stream; the page shows them on its next load.
    unpublished = acknowledged - published
    assert all(killed_at[0] - answered_at[b] < 1.0 for b in unpublished), sorted(unpublished)
    # nginx tried host 1 (if it had not yet marked it failed) and then host 2.
    assert ws.headers.get("X-Upstream").split(", ")[-1] == deployment.upstream("h2")
    listener.cancel()
    ws.close()
    for browser in (author, viewer, *writers):
        await browser.aclose()
