"""Test helpers shared by every test package: an HTTP client per browser, the live site."""

from __future__ import annotations

import os
import re
import socket
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import event

from tornagram.context import AppContext

CI = os.environ.get("CI") == "true"
DEFAULT_PASSWORD = "correct horse battery"


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
