"""The process pool that image work runs in, so decoding never touches the event loop."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

# A worker is replaced after this many images: Pillow's allocator keeps its peak, and a
# 40-megapixel photo should not pin that memory for the life of the server.
MAX_IMAGES_PER_WORKER = 50


class ImageWorkers:
    """Runs pure image functions (bytes in, results out) in worker processes.

    The pool is made on first use, from a forkserver: forking the server itself would copy
    its event loop, sockets and threads into every worker.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or max(1, min(4, os.cpu_count() or 1))
        self._pool: ProcessPoolExecutor | None = None
        self.in_flight = 0

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.max_workers,
                mp_context=multiprocessing.get_context("forkserver"),
                max_tasks_per_child=MAX_IMAGES_PER_WORKER,
            )
        return self._pool

    async def run(self, fn, *args, **kwargs):
        loop = asyncio.get_running_loop()
        self.in_flight += 1
        try:
            try:
                return await loop.run_in_executor(self._ensure_pool(), _call, fn, args, kwargs)
            except BrokenProcessPool:
                # A worker died (out of memory, killed): start a fresh pool and try once more.
                self.close()
                return await loop.run_in_executor(self._ensure_pool(), _call, fn, args, kwargs)
        finally:
            self.in_flight -= 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _call(fn, args, kwargs):
    return fn(*args, **kwargs)
