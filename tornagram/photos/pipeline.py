"""Worker-side entry points: read an upload from disk and process it in the image pool.

The web process hands workers a path, not the bytes, so a 25 MB upload is not pickled across
the process boundary; only the (much smaller) renditions come back.
"""

from __future__ import annotations

from pathlib import Path

from tornagram.photos.imaging import ProcessedImage, process_photo


def process_photo_file(path: str | Path, *, max_pixels: int) -> ProcessedImage:
    return process_photo(Path(path).read_bytes(), max_pixels=max_pixels)
