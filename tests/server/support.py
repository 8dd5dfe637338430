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

from tests.helpers import Client
from tests.realtime.rt_support import free_port

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
