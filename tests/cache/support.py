"""A Redis of the test's own (to stop, freeze and restart) and live sites sharing it."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tests.helpers import Client, free_port, require, serving, start_redis, wait_for_port
from tornagram.config import Settings


class OwnRedis:
    """A ``redis-server`` on a free port that a test may SIGSTOP, SIGCONT, kill and restart."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server binary", "not on PATH")
        self.binary = binary
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    async def start(self) -> None:
        self.process = start_redis(self.binary, self.port)
        await wait_for_port(self.port)

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)  # a stopped process ignores SIGKILL's reaping
            self.process.kill()
            self.process.wait()
            self.process = None


@asynccontextmanager
async def own_redis() -> AsyncIterator[OwnRedis]:
    server = OwnRedis()
    await server.start()
    try:
        yield server
    finally:
        server.stop()


def running_site(settings: Settings, **changes):
    """A started site (broker and change stream connected) on ``settings`` with ``changes``."""
    return serving(settings, start=True, **changes)


async def until(predicate, timeout: float = 10.0, what: str = "") -> None:
    """Wait on state; the timeout only bounds a failing test."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what or predicate}"
        await asyncio.sleep(0.02)


def normalise(html: str) -> str:
    # The clock moves between the two reads; the caches key cards by the time as it reads.
    html = re.sub(r"\b[0-9]+ (seconds?|minutes?) ago|\bjust now\b", "moments ago", html)
    html = re.sub(r"\b[0-9]+[sm]\b", "moments", html)
    html = re.sub(r"http://127\.0\.0\.1:[0-9]+", "http://site", html)
    html = re.sub(r'(name="_xsrf" value=")[^"]*"', r'\1"', html)
    html = re.sub(r'(data-xsrf=")[^"]*"', r'\1"', html)
    html = re.sub(r'(<meta name="xsrf[^"]*" content=")[^"]*"', r'\1"', html)
    html = re.sub(r'nonce-[A-Za-z0-9+/=_-]+|nonce="[^"]*"', "nonce", html)
    # The live-comment template is a stand-in drawn as of each render; its time is replaced by
    # the script with the real comment's.
    html = re.sub(
        r"<template data-comment-template.*?</template>",
        lambda m: re.sub(r"<time[^>]*>", "<time>", m.group(0)),
        html,
        flags=re.S,
    )
    return html


def same_browser(client: Client, other_site) -> Client:
    twin = other_site.client()
    twin.http.cookies.update(client.http.cookies)
    return twin
