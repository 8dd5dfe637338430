"""One storage test suite for every backend: the local disk, and S3 through a real moto server
on a free loopback port (required in CI: ``tests.helpers.require``)."""

from __future__ import annotations

import pytest

from tests.helpers import TEST_MEDIA_SECRET, s3_bucket_storage
from tornagram.storage.local import LocalStorage


@pytest.fixture(params=["local", "s3"])
async def storage(request, tmp_path):
    if request.param == "local":
        yield LocalStorage(tmp_path / "media", secret=TEST_MEDIA_SECRET)
        return
    server = request.getfixturevalue("s3_server")
    backend = await s3_bucket_storage(server)
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
def local_storage(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "media", secret=TEST_MEDIA_SECRET)
