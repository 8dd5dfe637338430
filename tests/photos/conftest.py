"""Image fixtures: a cache of the shared files' processed results (processing is deterministic,
so tests may share one result per file), and a test per file for ``fixture_image_name``."""

from __future__ import annotations

import functools

import pytest

from tests.helpers import FIXTURE_IMAGE_NAMES, FIXTURE_IMAGES_DIR, fixture_bytes
from tornagram.photos.imaging import ProcessedImage, process_photo


@functools.cache
def processed_fixture(name: str) -> ProcessedImage:
    return process_photo(fixture_bytes(name))


@pytest.fixture
def processed():
    return processed_fixture


def pytest_generate_tests(metafunc):
    if "fixture_image_name" in metafunc.fixturenames:
        if not FIXTURE_IMAGE_NAMES:
            pytest.fail(f"no fixture images found in {FIXTURE_IMAGES_DIR}")
        metafunc.parametrize("fixture_image_name", FIXTURE_IMAGE_NAMES)
