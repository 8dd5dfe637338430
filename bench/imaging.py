"""Photo processing speed and worker memory: tornagram's pipeline against a naive Pillow one.

    .venv/bin/python bench/imaging.py [--iterations N]

Makes a 12-megapixel JPEG in memory, then runs each pipeline in its own fresh worker process
(spawned, so no memory is inherited from this one) and reads that worker's peak RSS with
resource.getrusage. The naive pipeline is what a first version usually does: decode the
whole image, then a Lanczos resize from the full image for every size, saved as JPEG. Ours
also writes a WebP next to every JPEG, so the target is judged against the naive pipeline
writing the same files ("naive + WebP"); the JPEG-only naive row is printed too.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tornagram.photos.imaging import WEBP_METHOD, WEBP_QUALITY

WIDTH_PX, HEIGHT_PX = 4000, 3000
SOURCE_JPEG_QUALITY = 92
TARGET_SPEEDUP = 3.0
TARGET_WORKER_RSS_MB = 512
NAIVE_JPEG_QUALITY = 82


def make_photo() -> bytes:
    """Gradients, soft shapes and sensor-like noise: compresses like a real 12 MP photo."""
    size = (WIDTH_PX, HEIGHT_PX)
    horizontal = Image.linear_gradient("L").resize(size)
    radial = Image.radial_gradient("L").resize(size)
    noise = Image.effect_noise(size, 24)
    detail = Image.effect_mandelbrot(size, (-2.2, -1.2, 1.0, 1.2), 60).filter(
        ImageFilter.GaussianBlur(2)
    )
    red = Image.blend(horizontal, detail, 0.4)
    green = Image.blend(radial, noise, 0.25)
    blue = Image.blend(horizontal.transpose(Image.Transpose.ROTATE_180), noise, 0.35)
    photo = Image.merge("RGB", (red, green, blue))
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=SOURCE_JPEG_QUALITY)
    return out.getvalue()


def naive_pipeline(data: bytes, *, webp: bool = False) -> int:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    width, height = image.size
    scale = 2048 / max(width, height)
    sizes = [(round(width * scale), round(height * scale))]
    sizes += [(w, round(height * w / width)) for w in (1080, 640)]
    outputs = [image.resize(size, Image.Resampling.LANCZOS) for size in sizes]
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    square = image.crop((left, top, left + side, top + side))
    outputs.append(square.resize((320, 320), Image.Resampling.LANCZOS))
    written = 0
    for output in outputs:
        buffer = io.BytesIO()
        output.save(buffer, "JPEG", quality=NAIVE_JPEG_QUALITY)
        written += buffer.tell()
        if webp:
            # The same WebP settings as ours, so only the decode and resize work differs.
            buffer = io.BytesIO()
            output.save(buffer, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
            written += buffer.tell()
    return written


def naive_webp_pipeline(data: bytes) -> int:
    return naive_pipeline(data, webp=True)


def ours_pipeline(data: bytes) -> int:
    from tornagram.photos.imaging import process_photo

    return sum(len(rendition.data) for rendition in process_photo(data).renditions)


PIPELINES = {
    "naive Pillow": naive_pipeline,
    "naive + WebP": naive_webp_pipeline,
    "tornagram": ours_pipeline,
}

_photo: bytes = b""  # the worker's copy, sent once so no timing includes pickling it


def worker_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def worker_receive(data: bytes, name: str) -> int:
    """Keep the photo and run the pipeline once, untimed, to load codecs and modules."""
    global _photo
    _photo = data
    return PIPELINES[name](_photo)


def worker_time_one(name: str) -> float:
    started = time.perf_counter()
    PIPELINES[name](_photo)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10, help="timed photos per pipeline")
    args = parser.parse_args()

    # Workers start before the photo exists: Linux carries a process's peak RSS across
    # exec, so a worker spawned later would report this process's peak as its own.
    context = multiprocessing.get_context("spawn")
    pools = {name: ProcessPoolExecutor(max_workers=1, mp_context=context) for name in PIPELINES}
    idle_rss_mb = {name: pool.submit(worker_peak_rss_mb).result() for name, pool in pools.items()}

    data = make_photo()
    print(
        f"source: {WIDTH_PX}x{HEIGHT_PX} JPEG ({WIDTH_PX * HEIGHT_PX / 1e6:.0f} MP, "
        f"{len(data) / 1e6:.1f} MB, quality {SOURCE_JPEG_QUALITY}); {args.iterations} timed "
        "photos per pipeline after one warm-up; photos/s from the median photo"
    )
    print(
        "each pipeline in its own spawned worker process; photos alternate between the two "
        "so a change in machine load hits both alike; time measured inside the worker"
    )
    print("naive: full decode, Lanczos from the full image to 2048/1080/640/320 square, JPEG")
    print("naive + WebP: the same, also saving each size as WebP (what ours writes)")
    print("tornagram: process_photo(), the same four sizes as progressive JPEG + WebP")
    print()

    written = {
        name: pool.submit(worker_receive, data, name).result() for name, pool in pools.items()
    }
    timings: dict[str, list[float]] = {name: [] for name in PIPELINES}
    for _ in range(args.iterations):
        for name, pool in pools.items():
            timings[name].append(pool.submit(worker_time_one, name).result())
    peak_rss_mb = {name: pool.submit(worker_peak_rss_mb).result() for name, pool in pools.items()}
    for pool in pools.values():
        pool.shutdown()

    # The median resists the odd photo slowed by another tenant of the machine.
    median_secs = {name: statistics.median(times) for name, times in timings.items()}
    header = f"{'pipeline':<14} {'photos/s':>9} {'median ms':>10} {'mean ms':>8}"
    print(f"{header} {'peak worker RSS MB':>19} {'idle worker RSS MB':>19} {'KB written':>11}")
    for name in PIPELINES:
        print(
            f"{name:<14} {1 / median_secs[name]:>9.2f} {median_secs[name] * 1000:>10.0f} "
            f"{statistics.mean(timings[name]) * 1000:>8.0f} {peak_rss_mb[name]:>19.0f} "
            f"{idle_rss_mb[name]:>19.0f} {written[name] / 1024:>11.0f}"
        )
    speedup = median_secs["naive + WebP"] / median_secs["tornagram"]
    jpeg_only = median_secs["naive Pillow"] / median_secs["tornagram"]
    ours_rss_mb = peak_rss_mb["tornagram"]
    print()
    print(f"speed-up, same files written: {speedup:.2f}x (target >= {TARGET_SPEEDUP:.0f}x)")
    print(
        f"speed-up against the JPEG-only naive pipeline (ours writing WebP too): {jpeg_only:.2f}x"
    )
    print(f"tornagram peak worker RSS: {ours_rss_mb:.0f} MB (target < {TARGET_WORKER_RSS_MB} MB)")
    if speedup < TARGET_SPEEDUP or ours_rss_mb >= TARGET_WORKER_RSS_MB:
        print("TARGET MISSED")
    else:
        print("target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
