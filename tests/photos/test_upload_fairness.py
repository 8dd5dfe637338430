"""Uploads are limited by pixels processed, per person and per address, and the image pool is
shared in turns: one person's backlog never holds everyone else back."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import fixture_bytes, upload
from tests.photos.support import small_png
from tornagram.photos.fairness import PixelBudget, PixelRate
from tornagram.photos.imaging import process_photo
from tornagram.photos.workers import ImageWorkers

PLENTY = PixelRate(burst_pixels=10**12, pixels_per_sec=10**9)
# One pixel of budget: the first upload is allowed, and its pixels put the bucket into debt
# that takes far longer than the test to repay.
ONE_PIXEL = PixelRate(burst_pixels=1, pixels_per_sec=1000)


async def test_a_person_who_used_their_pixels_gets_429_with_retry_after(site):
    site.ctx.upload_pixels = PixelBudget({"user": ONE_PIXEL, "ip": PLENTY})
    ada = await site.user_client("ada")
    photo = [("a.jpg", fixture_bytes("camera-gps.jpg"))]
    assert (await upload(ada, photo)).status_code == 303
    refused = await upload(ada, photo)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 60
    assert "uploaded a lot of photos in a short time" in refused.text
    as_json = await upload(ada, photo, json=True)
    assert as_json.status_code == 429 and "Retry-After" in as_json.headers
    assert "uploaded a lot of photos" in as_json.json()["error"]["message"]
    # Someone else is not held back by it.
    bea = await site.user_client("bea")
    assert (await upload(bea, photo)).status_code == 303


async def test_an_address_that_used_its_pixels_gets_429_for_everyone_behind_it(site):
    site.ctx.upload_pixels = PixelBudget({"user": PLENTY, "ip": ONE_PIXEL})
    photo = [("a.jpg", fixture_bytes("camera-gps.jpg"))]
    cy = await site.user_client("cy")
    assert (await upload(cy, photo)).status_code == 303
    dee = await site.user_client("dee")  # another account from the same address
    refused = await upload(dee, photo)
    assert refused.status_code == 429 and "Retry-After" in refused.headers


async def test_tiny_images_are_limited_by_count_too(site):
    # Each photo costs at least a megapixel: a flood of tiny images is not free.
    site.ctx.upload_pixels = PixelBudget(
        {"user": PixelRate(burst_pixels=1_500_000, pixels_per_sec=1), "ip": PLENTY}
    )
    fay = await site.user_client("fay")
    tiny = [("tiny.png", small_png(1))]
    assert (await upload(fay, tiny)).status_code == 303
    assert (await upload(fay, tiny)).status_code == 303
    assert (await upload(fay, tiny)).status_code == 429


async def test_a_url_import_counts_against_the_same_budget(site):
    site.ctx.upload_pixels = PixelBudget({"user": PLENTY, "ip": PLENTY})
    site.ctx.upload_pixels.charge(10**13, user=None, ip="127.0.0.1")
    eve = await site.user_client("eve")
    r = await eve.post("/upload/url", {"url": "http://127.0.0.1:9/x.jpg", "caption": ""})
    assert r.status_code == 429 and "Retry-After" in r.headers


@pytest.fixture
def one_worker():
    workers = ImageWorkers(max_workers=1)
    yield workers
    workers.close()


async def test_one_persons_backlog_does_not_hold_back_someone_else(one_worker):
    finished: list[str] = []

    async def photo(owner: str, seed: int) -> None:
        await one_worker.run_for(owner, process_photo, small_png(seed))
        finished.append(f"{owner}{seed}")

    # Ten photos from one person, queued first; then one from someone else.
    backlog = [asyncio.create_task(photo("a", n)) for n in range(10)]
    await asyncio.sleep(0)  # let all ten get in line
    other = asyncio.create_task(photo("b", 99))
    await asyncio.wait_for(asyncio.gather(*backlog, other), 120)
    # The other person's photo goes in as soon as the first two in progress are done, not
    # after all ten.
    assert finished.index("b99") <= 2, finished
    assert one_worker.turns.running == 0 and one_worker.turns.waiting == 0
