"""The image pool: every task finishes, however the uploads arrive, for hundreds of tasks."""

from __future__ import annotations

import asyncio

import pytest

from tests.photos.support import small_png
from tornagram.photos import workers as workers_module
from tornagram.photos.imaging import process_avatar, process_photo
from tornagram.photos.workers import ImageWorkers

# Generous per task: a 96 px image takes milliseconds; only a pool that stopped answering is slow.
TASK_TIMEOUT_SECS = 30


@pytest.fixture(params=[1, 2], ids=["one-worker", "two-workers"])
def pool(request):
    workers = ImageWorkers(max_workers=request.param)
    yield workers
    workers.close()


async def test_hundreds_of_image_tasks_in_bursts_and_singles_all_finish(pool, monkeypatch):
    # Recycle often, so a few hundred tasks cross many recycling points: the pattern that made
    # the old pool (a worker replaced after each N tasks) stop answering.
    monkeypatch.setattr(workers_module, "MAX_IMAGES_PER_POOL", 10, raising=False)
    done = 0
    seed = 0
    for _round in range(30):
        # A ten-photo post: ten tasks at once...
        burst = [pool.run(process_photo, small_png(seed + i)) for i in range(10)]
        seed += 10
        results = await asyncio.wait_for(asyncio.gather(*burst), TASK_TIMEOUT_SECS)
        done += len(results)
        # ...then single photos and an avatar, one after the other.
        for _ in range(3):
            await asyncio.wait_for(pool.run(process_photo, small_png(seed)), TASK_TIMEOUT_SECS)
            seed += 1
            done += 1
        await asyncio.wait_for(pool.run(process_avatar, small_png(seed)), TASK_TIMEOUT_SECS)
        done += 1
    assert done == 30 * 14
    assert pool.in_flight == 0


async def test_a_recycled_pool_starts_fresh_worker_processes(pool, monkeypatch):
    monkeypatch.setattr(workers_module, "MAX_IMAGES_PER_POOL", 5, raising=False)
    first = {await pool.run(_worker_pid) for _ in range(5)}
    later = {await pool.run(_worker_pid) for _ in range(5)}
    assert first and later and not first & later
    assert pool.pools_started == 2


def _worker_pid() -> int:
    import os

    return os.getpid()
