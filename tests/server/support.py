"""A real `python -m tornagram serve` in a subprocess, for what only a whole process shows:
signals, kills, the processes it leaves."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.helpers import Client, free_port

ROOT = Path(__file__).resolve().parents[2]


class ServerProcess:
    def __init__(self, data_dir: Path, *extra_args: str, env: dict | None = None) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        full_env = {**os.environ, **(env or {})}
        full_env.pop("TORNAGRAM_COOKIE_SECRET", None)
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tornagram", "serve", "--port", str(self.port),
             "--data-dir", str(data_dir), *extra_args],
            cwd=ROOT, env=full_env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.base_url = f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text()

    async def wait_healthy(self, timeout_secs: float = 60) -> None:
        deadline = time.monotonic() + timeout_secs
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"server exited early:\n{self.log()}")
                try:
                    if (await http.get(f"{self.base_url}/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"server did not become healthy:\n{self.log()}")

    def client(self) -> Client:
        return Client(self.base_url)

    def descendants(self) -> set[int]:
        """Every process below the server (image workers, the forkserver, its helpers)."""
        found: set[int] = set()
        todo = [self.proc.pid]
        while todo:
            pid = todo.pop()
            for children in Path(f"/proc/{pid}/task").glob("*/children"):
                try:
                    kids = [int(p) for p in children.read_text().split()]
                except OSError:
                    continue
                for kid in kids:
                    if kid not in found:
                        found.add(kid)
                        todo.append(kid)
        return found

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._log.close()


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


async def wait_until(predicate, timeout_secs: float, what: str) -> None:
    deadline = time.monotonic() + timeout_secs
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class RawRequest:
    """One HTTP/1.1 request written by hand, so a test can stop halfway through its body."""

    def __init__(self, port: int, method: str, path: str, *, body: bytes = b"",
                 headers: dict[str, str] | None = None) -> None:
        self.port = port
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
                 f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self.body = body
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def send_part(self, body_bytes: int) -> None:
        """The headers and the first ``body_bytes`` of the body."""
        if self.writer is None:
            await self.connect()
        self.writer.write(self.head + self.body[:body_bytes])
        await self.writer.drain()
        self._sent = body_bytes

    async def send_rest(self) -> None:
        self.writer.write(self.body[self._sent:])
        await self.writer.drain()

    async def send_all(self) -> None:
        await self.send_part(len(self.body))

    async def response(self) -> tuple[int, dict[str, str], bytes]:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(headers.get("content-length", 0)))
        return int(status_line.split()[1]), headers, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def cookie_header(client: Client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.http.cookies.items())


def form_body(fields: dict[str, str]) -> bytes:
    from urllib.parse import urlencode

    return urlencode(fields).encode()


def multipart_body(boundary: str, fields: dict[str, str],
                   files: list[tuple[str, str, bytes]]) -> bytes:
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     .encode() + value.encode() + b"\r\n")
    for name, filename, data in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                     f'filename="{filename}"\r\nContent-Type: image/jpeg\r\n\r\n'.encode()
                     + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()
