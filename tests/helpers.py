"""Test helpers shared by every test package: an HTTP client per browser, the live site."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import itertools
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import tornado.testing
from sqlalchemy import event

from tornagram.config import FAST_TEST_HASH_PARAMS, Settings, build_settings
from tornagram.context import AppContext, build_context
from tornagram.server import start_http_server

ROOT = Path(__file__).resolve().parents[1]

# The shared awkward-but-legal image files.
_IMAGE_DIRS = [
    os.environ.get("TORNAGRAM_FIXTURE_IMAGES", ""),
    str(ROOT / "tests" / "fixtures" / "images"),
    # The shared fixtures sit beside the checkout (CI clones the repo next to shared/).
    str(ROOT.parent / "shared" / "fixtures" / "images"),
]
FIXTURE_IMAGES_DIR = next(
    (Path(d) for d in _IMAGE_DIRS if d and Path(d).is_dir()), Path(_IMAGE_DIRS[-1])
)
FIXTURE_IMAGE_NAMES = sorted(
    path.name for path in FIXTURE_IMAGES_DIR.glob("*") if path.suffix.lower() != ".md"
)


@functools.cache
def fixture_bytes(name: str) -> bytes:
    """One of the shared image files (the ``image_bytes`` fixture hands this function out)."""
    return (FIXTURE_IMAGES_DIR / name).read_bytes()


CI = os.environ.get("CI") == "true"
DEFAULT_PASSWORD = "correct horse battery"
TEST_COOKIE_SECRET = "test-cookie-secret-" + "x" * 40
# The machine's Redis, for tests that share one (each under its own channel or key prefix).
REDIS_URL = os.environ.get("TORNAGRAM_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# The key-derivation secret of storages made outside a site (tornagram.storage.base).
TEST_MEDIA_SECRET = b"test media secret, not a site's"


def require(available: bool, what: str, why: str) -> None:
    """Skip with a visible reason on a laptop; in CI a missing service is a failure."""
    if available:
        return
    if CI:
        pytest.fail(f"{what} is required in CI but unavailable: {why}")
    pytest.skip(f"{what} unavailable: {why}")


class Client:
    """An HTTP client for one browser: a cookie jar, XSRF handled, redirects not followed."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, follow_redirects=False, timeout=30)

    async def get(self, path: str, **kwargs) -> httpx.Response:
        return await self.http.get(path, **kwargs)

    async def xsrf(self) -> str:
        token = self.http.cookies.get("_xsrf")
        if token is None:
            await self.get("/login")
            token = self.http.cookies["_xsrf"]
        return token

    async def post(self, path: str, data: dict | None = None, *, xsrf: bool = True, **kwargs):
        data = dict(data or {})
        if xsrf:
            data.setdefault("_xsrf", await self.xsrf())
        return await self.http.post(path, data=data, **kwargs)

    async def signup(
        self, username: str, *, email: str | None = None, password: str = DEFAULT_PASSWORD
    ):
        response = await self.post(
            "/signup",
            {
                "username": username,
                "email": email or f"{username}@example.org",
                "password": password,
            },
        )
        assert response.status_code == 303, response.text
        return response

    async def login(self, login: str, password: str = DEFAULT_PASSWORD, next: str | None = None):
        path = "/login" + (f"?next={next}" if next else "")
        return await self.post(path, {"login": login, "password": password})

    def session_cookie(self) -> str | None:
        return self.http.cookies.get("session")

    async def aclose(self) -> None:
        await self.http.aclose()


@dataclass
class Site:
    ctx: AppContext
    base_url: str
    clients: list[Client]
    app: object = None

    def client(self) -> Client:
        client = Client(self.base_url)
        self.clients.append(client)
        return client

    async def user_client(self, username: str) -> Client:
        client = self.client()
        await client.signup(username)
        return client


def site_settings(tmp_path: Path, database_url: str, **changes) -> Settings:
    """The tests' settings (cheap password hashing, loopback imports allowed), with ``changes``."""
    return build_settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        cookie_secret=TEST_COOKIE_SECRET,
        password_hash=FAST_TEST_HASH_PARAMS,
        allow_loopback_fetch=True,
        # The tests sign up hundreds of accounts from 127.0.0.1; test_registration.py checks
        # that the site's default limit bites.
        **{"signup_ip_burst": 100_000, **changes},
    )


@asynccontextmanager
async def serving(settings: Settings, *, start: bool = False, **changes) -> AsyncIterator[Site]:
    """A Tornagram on a free port of 127.0.0.1, on ``settings`` with ``changes``. ``start``:
    connect the broker and the change stream too (``AppContext.start``), as ``serve`` does."""
    if changes:
        settings = dataclasses.replace(settings, **changes)
    ctx = build_context(settings)
    if start:
        await ctx.start()
    sock, port = tornado.testing.bind_unused_port()
    server = start_http_server(ctx, [sock])
    ctx.ready = True
    site = Site(ctx, f"http://127.0.0.1:{port}", [], server.request_callback)
    try:
        yield site
    finally:
        for client in site.clients:
            await client.aclose()
        server.stop()
        await server.close_all_connections()
        await ctx.close()


def form_error(html: str) -> list[str]:
    """The error messages shown on a re-rendered form."""
    return [
        re.sub(r"\s+", " ", m).strip()
        for m in re.findall(r'class="(?:field|form)-error"[^>]*>(.*?)</p>', html, re.S)
    ]


# -- posting photos over HTTP --------------------------------------------------------------


async def upload(client, files, *, caption="", alts=(), json=False, xsrf_in_header=None):
    """files: list of (filename, bytes)."""
    token = await client.xsrf()
    data = {"caption": caption, "alt": list(alts)}
    headers = {}
    if json:
        headers["Accept"] = "application/json"
    if xsrf_in_header or (xsrf_in_header is None and json):
        headers["X-XSRFToken"] = token
    else:
        data["_xsrf"] = token
    multipart = [("photo", (name, body, "application/octet-stream")) for name, body in files]
    return await client.http.post("/upload", data=data, files=multipart, headers=headers)


def post_id_from(response) -> int:
    match = re.fullmatch(r"/p/([0-9]+)", response.headers["location"])
    assert match, response.headers.get("location")
    return int(match.group(1))


async def new_post(client, image_bytes, caption: str = "") -> int:
    """One small photo posted through the upload form (``image_bytes``: the fixture); its id."""
    return post_id_from(await upload(client, [("t.png", image_bytes("tiny.png"))], caption=caption))


# -- people --------------------------------------------------------------------------------


async def user(site, name: str):
    """The account row of ``name``, as it is now."""
    return await site.ctx.accounts.by_username(name)


async def make_private(client) -> None:
    """The signed-in person's account goes private, through the settings form."""
    response = await client.post(
        "/settings/profile", {"display_name": "", "bio": "", "locale": "", "private": "on"}
    )
    assert response.status_code == 303, response.text


# -- a server in another process ----------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, proc, timeout_secs: float = 30) -> None:
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not become healthy")


def run_cli(*args, env=None, input=None, timeout=60):
    """``python -m tornagram ARGS`` from the checkout, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "tornagram", *args],
        cwd=ROOT, env={**os.environ, **(env or {})}, input=input,
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def shared_redis() -> str:
    """REDIS_URL once it answers a PING (``require``: a skip on a laptop, a failure in CI)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError) as exc:
        require(False, f"Redis at {REDIS_URL}", str(exc))
    return REDIS_URL


# -- a Redis of the test's own ------------------------------------------------------------


def start_redis(binary: str, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--logfile", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Until something listens on 127.0.0.1:``port``; the timeout only bounds a failing test."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            await writer.wait_closed()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


class LocalRedisCluster:
    """Three Redis masters (and ``replicas`` each) on free loopback ports, in ``directory``
    (tools/redis_cluster.py)."""

    TOOL = Path(__file__).resolve().parents[1] / "tools" / "redis_cluster.py"

    def __init__(self, directory: Path, *, replicas: int = 0) -> None:
        self.directory = directory
        self.replicas = replicas
        self.ports: list[int] = []
        while len(self.ports) < 3 * (1 + replicas):
            port = free_port()
            # The cluster bus listens on the port plus 10000 too.
            if port not in self.ports and port + 10000 <= 65535:
                self.ports.append(port)
        self.url = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def _tool(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(self.TOOL), *args], capture_output=True, text=True, timeout=120
        )

    def start(self) -> str | None:
        """None once the cluster is up, else what went wrong."""
        done = self._tool(
            "start", "--dir", str(self.directory), "--ports", self._listed(),
            "--replicas", str(self.replicas),
        )
        return None if done.returncode == 0 else done.stdout + done.stderr

    def stop_node(self, port: int) -> None:
        self._tool("stop", "--ports", str(port))

    def restart_node(self, port: int) -> None:
        done = self._tool(
            "restart", "--dir", str(self.directory), "--ports", str(port),
            "--cluster", self._listed(),
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def stop(self) -> None:
        self._tool("stop", "--ports", self._listed())

    def _listed(self) -> str:
        return ",".join(map(str, self.ports))


# -- mail ----------------------------------------------------------------------------------


class SmtpSink:
    """A real SMTP server (aiosmtpd) on a free loopback port, keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list = []
        self.controller = None
        self.port = 0

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        import email
        import email.policy

        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=no"

    def to(self, address: str, about: str = "") -> list:
        """Messages to ``address`` (whose plain text holds ``about``), oldest first."""
        return [
            m for rcpt, m in self.messages if address in rcpt and about in mail_text(m)
        ]

    async def wait_for(
        self, address: str, count: int = 1, secs: float = 15.0, *, about: str = ""
    ) -> list:
        """The messages to ``address`` once ``count`` have arrived (delivery is asynchronous)."""
        import asyncio

        deadline = time.monotonic() + secs
        while len(self.to(address, about)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} mail(s) to {address} never arrived: {self.messages}")
            await asyncio.sleep(0.02)
        return self.to(address, about)


def wait_for_mail_sync(sink: SmtpSink, address: str, count: int = 1, secs: float = 15.0) -> list:
    """``SmtpSink.wait_for`` for synchronous tests (the browser's)."""
    deadline = time.monotonic() + secs
    while len(sink.to(address)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} mail(s) to {address} never arrived")
        time.sleep(0.05)
    return sink.to(address)


def mail_text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def mail_html(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def mailed_link(message, path: str) -> str:
    """The link to ``path`` in a mail, as a path and query the test client can open."""
    match = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"\?[^\s]+)", mail_text(message))
    assert match, mail_text(message)
    return match.group(1)


def photo_bytes(seed: int, size: int = 64) -> bytes:
    """A small JPEG whose bytes differ with ``seed`` (stored files are keyed by content)."""
    import io

    from PIL import Image

    image = Image.new("RGB", (size, size), ((seed * 67) % 256, (seed * 131) % 256, (seed * 29) % 256))
    image.putpixel((seed % size, (seed // size) % size), (255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


async def post_photo(client, seed: int, caption: str = "") -> int:
    return post_id_from(await upload(client, [(f"p{seed}.jpg", photo_bytes(seed))], caption=caption))


@contextmanager
def counting_statements(site):
    """Every SQL statement the site's engine runs inside the block, in order."""
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = site.ctx.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


# -- an S3 server: moto's, on a free loopback port -------------------------------------------

S3_ACCESS_KEY = "test-access-key"
S3_SECRET_KEY = "test-secret-key"  # moto accepts any credentials
S3_REGION = "us-east-1"


_BUCKET_NUMBERS = itertools.count(1)


class S3Server:
    """moto's S3 server in a thread of this process, on 127.0.0.1 only."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = None
        self.running = False

    def start(self) -> None:
        """Start, or start again after ``stop`` (moto keeps its buckets in this process)."""
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self.running = True

    def stop(self) -> None:
        if self.running:
            self._server.stop()
            self.running = False

    def next_bucket(self) -> str:
        # Unique across servers: moto keeps every server's buckets in one in-process store.
        return f"tornagram-test-{os.getpid()}-{next(_BUCKET_NUMBERS)}"

    def media_url(self, bucket: str, prefix: str = "media") -> str:
        return f"s3://{bucket}/{prefix}?endpoint={self.endpoint}&region={S3_REGION}"


def start_s3_server() -> S3Server:
    """A running server, or a skip (a failure in CI) saying why there is none."""
    try:
        server = S3Server()
        server.start()
    except Exception as exc:  # ImportError (moto[server] missing), a port taken, …
        require(False, "an S3 server (moto[server])", f"{type(exc).__name__}: {exc}")
    return server


def s3_environment(monkeypatch) -> None:
    """The standard AWS variables, as an operator would set them for --media-url s3://…"""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", S3_REGION)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)


async def make_bucket(server: S3Server, bucket: str | None = None) -> str:
    from tornagram.storage.s3 import shared_session

    bucket = bucket or server.next_bucket()
    async with shared_session().create_client(
        "s3",
        endpoint_url=server.endpoint,
        region_name=S3_REGION,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
    ) as client:
        await client.create_bucket(Bucket=bucket)
    return bucket


async def s3_bucket_storage(server: S3Server, *, secret: bytes = TEST_MEDIA_SECRET, **kwargs):
    """An S3Storage on a new, empty bucket of ``server``."""
    from tornagram.storage.s3 import S3Storage

    bucket = await make_bucket(server)
    return S3Storage(
        bucket,
        "media",
        secret=secret,
        endpoint_url=server.endpoint,
        region=S3_REGION,
        access_key=S3_ACCESS_KEY,
        secret_key=S3_SECRET_KEY,
        **kwargs,
    )
