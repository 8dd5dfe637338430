"""Pixel work behind photos/imaging.py: bit depth, transparency, colour profile, orientation
and resizing. Pure functions of a decoded Pillow image; nothing here reads the upload."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageCms

# Shrink by whole factors first (fast box reduction), then finish with the filter; at 3 the
# result is indistinguishable from using the filter alone.
REDUCING_GAP = 3.0
# The largest rendition, the one people zoom into, gets the sharpest filter. The smaller ones
# are made from an already clean, at most about 2x larger image, where bicubic looks the
# same as Lanczos at two thirds of the cost.
LARGEST_RESAMPLE = Image.Resampling.LANCZOS
SMALLER_RESAMPLE = Image.Resampling.BICUBIC

# The same table as PIL.ImageOps.exif_transpose. It is applied to the downscaled working
# image rather than to the full decode, which costs a fraction of the time.
TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
WHITE = (255, 255, 255, 255)
SIXTEEN_TO_EIGHT_BITS = 1 / 257  # 65535 * (1 / 257) == 255


def to_resizable(image: Image.Image) -> Image.Image:
    """8 bits per channel in L, RGB, CMYK or RGBA, the modes resizing handles.

    Raises ValueError for a mode that has no sensible conversion.
    """
    mode = image.mode
    if mode.startswith("I") or mode == "F":
        # 16-bit samples are scaled down to 8 bits; a plain convert("L") would clip every
        # value above 255 and turn the picture white.
        return image.convert("I").point(lambda value: value * SIXTEEN_TO_EIGHT_BITS).convert("L")
    if mode == "RGBA":
        return image
    if image.has_transparency_data:
        return image.convert("RGBA")
    if mode in ("L", "RGB", "CMYK"):
        return image
    if mode == "1":
        return image.convert("L")
    return image.convert("RGB")


def flatten_alpha(image: Image.Image) -> Image.Image:
    # Transparent areas become white, on purpose: dropping the alpha channel instead would
    # show whatever colour the transparent pixels happen to hold, often black.
    if image.mode != "RGBA":
        return image
    background = Image.new("RGBA", image.size, WHITE)
    background.alpha_composite(image)
    return background.convert("RGB")


@cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """RGB in sRGB, converted through the embedded ICC profile when there is one."""
    if icc_profile:
        try:
            converted = ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)),
                _srgb_profile(),
                renderingIntent=ImageCms.Intent.PERCEPTUAL,
                outputMode="RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            # A broken profile, or one that does not match the pixels (an RGB profile on a
            # grey image): the pixels are shown as plain sRGB rather than the photo refused.
            converted = None
        if converted is not None:
            return converted
    # Pillow's JPEG decoder already undoes Adobe's inverted CMYK, so this is not a negative.
    return image if image.mode == "RGB" else image.convert("RGB")


def orient(image: Image.Image, orientation: int) -> Image.Image:
    transpose = TRANSPOSE_FOR_ORIENTATION.get(orientation)
    return image.transpose(transpose) if transpose is not None else image


def fit_within(size: tuple[int, int], long_px: int) -> tuple[int, int]:
    """The size with the long side at most long_px, aspect kept; never larger than size."""
    width, height = size
    if max(width, height) <= long_px:
        return size
    scale = long_px / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def fit_width(size: tuple[int, int], width_px: int) -> tuple[int, int]:
    width, height = size
    if width <= width_px:
        return size
    return width_px, max(1, round(height * width_px / width))


def resize(
    image: Image.Image, size: tuple[int, int], resample: Image.Resampling = SMALLER_RESAMPLE
) -> Image.Image:
    if image.size == size:
        return image
    return image.resize(size, resample, reducing_gap=REDUCING_GAP)


def square(image: Image.Image, side_px: int) -> Image.Image:
    """The centred square of the image, side_px on a side."""
    width, height = image.size
    crop = min(width, height)
    left, top = (width - crop) // 2, (height - crop) // 2
    box = (left, top, left + crop, top + crop)
    if crop == side_px:
        return image if (width, height) == (crop, crop) else image.crop(box)
    return image.resize((side_px, side_px), SMALLER_RESAMPLE, box=box, reducing_gap=REDUCING_GAP)
