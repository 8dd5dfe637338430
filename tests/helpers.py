"""Test helpers shared by every test package: an HTTP client per browser, the live site."""

from __future__ import annotations

import itertools
import os
import re
import socket
import time
import urllib.request
from dataclasses import dataclass

import httpx
import pytest

from tornagram.context import AppContext

CI = os.environ.get("CI") == "true"
DEFAULT_PASSWORD = "correct horse battery"
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
