"""Image fixtures: the shared awkward-but-legal files, and a cache of their processed results
(processing is deterministic, so tests may share one result per file)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from tornagram.photos.imaging import ProcessedImage, process_photo

_CANDIDATE_DIRS = [
    os.environ.get("TORNAGRAM_FIXTURE_IMAGES", ""),
    str(Path(__file__).resolve().parents[1] / "fixtures" / "images"),
    # The shared fixtures sit beside the checkout (CI clones the repo next to shared/).
    str(Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "images"),
]
FIXTURE_IMAGES_DIR = next(
    (Path(d) for d in _CANDIDATE_DIRS if d and Path(d).is_dir()), Path(_CANDIDATE_DIRS[-1])
)
FIXTURE_IMAGE_NAMES = sorted(
    path.name for path in FIXTURE_IMAGES_DIR.glob("*") if path.suffix.lower() != ".md"
)


@functools.cache
def fixture_bytes(name: str) -> bytes:
    return (FIXTURE_IMAGES_DIR / name).read_bytes()


@functools.cache
def processed_fixture(name: str) -> ProcessedImage:
    return process_photo(fixture_bytes(name))


@pytest.fixture
def image_bytes():
    return fixture_bytes


@pytest.fixture
def processed():
    return processed_fixture


def pytest_generate_tests(metafunc):
    if "fixture_image_name" in metafunc.fixturenames:
        if not FIXTURE_IMAGE_NAMES:
            pytest.fail(f"no fixture images found in {FIXTURE_IMAGES_DIR}")
        metafunc.parametrize("fixture_image_name", FIXTURE_IMAGE_NAMES)
