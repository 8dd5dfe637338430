"""The quick first pass over an app-API upload: the small renditions ("640", "thumb",
"thumb640") an app shows at once, while the full pass (imaging.process_photo) makes the large
ones. Same decoder, same checks and the same metadata stripping as the full pass: a file this
refuses is refused for the same reason the upload page gives."""

from __future__ import annotations

from pathlib import Path

from tornagram.photos.imaging import (
    DEFAULT_MAX_BYTES,
    THUMB_2X_SIDE_PX,
    THUMB_SIDE_PX,
    ProcessedImage,
    _decode,
    _failures_refused,
    _finish,
    _working_image,
)
from tornagram.photos.imaging_pixels import fit_width, resize, square

PREVIEW_WIDTH_PX = 640
PREVIEW_NAMES = ("640", "thumb", "thumb640")


def process_photo_preview(
    data: bytes, *, max_pixels: int, max_bytes: int = DEFAULT_MAX_BYTES
) -> ProcessedImage:
    with _failures_refused():
        source = _decode(data, max_pixels=max_pixels, max_bytes=max_bytes, photo=True)
        working = _working_image(source, long_px=PREVIEW_WIDTH_PX, short_px=THUMB_2X_SIDE_PX)
        preview = resize(working, fit_width(working.size, PREVIEW_WIDTH_PX))
        named = [("640", preview)]
        for name, side_px in (("thumb", THUMB_SIDE_PX), ("thumb640", THUMB_2X_SIDE_PX)):
            side = min(side_px, *working.size)
            named.append((name, square(working, side)))
        return _finish(source, named, preview_source=preview)


def process_photo_preview_file(path: str | Path, *, max_pixels: int) -> ProcessedImage:
    return process_photo_preview(Path(path).read_bytes(), max_pixels=max_pixels)
