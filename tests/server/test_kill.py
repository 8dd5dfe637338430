"""`kill -9` of the server leaves no image worker behind."""

from __future__ import annotations

import signal

import pytest

from tests.helpers import fixture_bytes, upload
from tests.server.support import ServerProcess, alive, wait_until


@pytest.fixture
def server(tmp_path):
    process = ServerProcess(tmp_path / "data")
    yield process
    process.stop()


async def test_kill_9_takes_the_image_pool_with_it(server):
    await server.wait_healthy()
    client = server.client()
    await client.signup("orla")
    r = await upload(client, [("a.jpg", fixture_bytes("camera-gps.jpg"))])
    assert r.status_code == 303, r.text
    await client.aclose()
    workers = server.descendants()
    assert workers, "the upload should have started the image pool"
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    await wait_until(lambda: not any(alive(pid) for pid in workers), 10, "workers to exit")
