"""One storage test suite for every backend: add a param here when a backend joins."""

from __future__ import annotations

import pytest

from tornagram.storage.local import LocalStorage


@pytest.fixture(params=["local"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "media")
    raise AssertionError(f"no storage backend called {request.param!r}")


@pytest.fixture
def local_storage(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "media")
