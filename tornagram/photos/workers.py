"""The process pool that image work runs in, so decoding never touches the event loop."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from tornagram.photos.fairness import FairTurns

# After this many images the whole pool is replaced, at the first moment it is idle. Measured
# (docs/media.md), a worker's memory stays flat over 300 photos: this is a safety net against a
# slow leak in a decoder. Not ProcessPoolExecutor's max_tasks_per_child: on CPython 3.11 up to
# the 3.15 betas (gh-115634) a worker that retires with tasks queued is never replaced, and the
# pool stops answering. Replacing an idle pool has no queued work to strand.
MAX_IMAGES_PER_POOL = 500


class _Generation:
    """One ProcessPoolExecutor, with how much it has done and is doing."""

    def __init__(self, pool: ProcessPoolExecutor) -> None:
        self.pool = pool
        self.submitted = 0
        self.running = 0


class ImageWorkers:
    """Runs pure image functions (bytes in, results out) in worker processes.

    The pool is made on first use, from a forkserver: forking the server itself would copy
    its event loop, sockets and threads into every worker.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        self.max_workers = max_workers or max(1, min(4, os.cpu_count() or 1))
        self._current: _Generation | None = None
        self.in_flight = 0
        # Of those in flight, how many are in the pool now (the rest wait their turn).
        self.running = 0
        self.pools_started = 0
        # Called with (task name, seconds waited for a turn, seconds run) after each piece of
        # work, failed or not: the metrics hook (tornagram/metrics.py).
        self.observers: list = []
        # No more tasks in the pool than workers: the rest wait here, in turns by person, so
        # nobody's backlog sits in the pool's own first-come queue ahead of everyone else.
        self.turns = FairTurns(self.max_workers)

    def _generation(self) -> _Generation:
        current = self._current
        if current is not None and current.submitted >= MAX_IMAGES_PER_POOL and not current.running:
            # Idle and worn: nothing is queued or running, so shutting it down strands nothing.
            self._retire(current)
            current = None
        if current is None:
            current = self._current = _Generation(
                ProcessPoolExecutor(
                    max_workers=self.max_workers,
                    mp_context=multiprocessing.get_context("forkserver"),
                    initializer=_die_with_server,
                    initargs=(os.getpid(),),
                )
            )
            self.pools_started += 1
        return current

    async def _run_once(self, fn, args, kwargs):
        generation = self._generation()
        generation.submitted += 1
        generation.running += 1
        try:
            future = generation.pool.submit(_call, fn, args, kwargs)
            return await asyncio.wrap_future(future)
        finally:
            generation.running -= 1
            if generation is not self._current and not generation.running:
                self._retire(generation)

    async def run(self, fn, *args, **kwargs):
        return await self.run_for(None, fn, *args, **kwargs)

    async def run_for(self, owner, fn, *args, **kwargs):
        """Run ``fn`` when it is ``owner``'s turn (a user id; None shares one line)."""
        self.in_flight += 1
        queued_at = time.perf_counter()
        started_at = None
        try:
            async with self.turns.turn(owner):
                started_at = time.perf_counter()
                self.running += 1
                try:
                    return await self._run_once(fn, args, kwargs)
                except BrokenProcessPool:
                    # A worker died (out of memory, killed): start a fresh pool, try once more.
                    self.close()
                    return await self._run_once(fn, args, kwargs)
                finally:
                    self.running -= 1
        finally:
            self.in_flight -= 1
            if started_at is not None:
                self._observed(fn, started_at - queued_at, time.perf_counter() - started_at)

    def _observed(self, fn, wait_secs: float, run_secs: float) -> None:
        name = getattr(fn, "__name__", "task")
        for observer in self.observers:
            observer(name, wait_secs, run_secs)

    def _retire(self, generation: _Generation) -> None:
        if self._current is generation:
            self._current = None
        generation.pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._current is not None:
            self._retire(self._current)


# How often a worker checks that the server that made it is still there (the fallback when the
# kernel cannot tell it). A worker orphaned by `kill -9` lives at most about this long.
WATCHDOG_INTERVAL_SECS = 1.0


def _die_with_server(server_pid: int) -> None:
    """Runs first in every worker: when the server is killed outright, its workers go too.

    A worker's parent is the forkserver, which exits once the server is gone; PR_SET_PDEATHSIG
    makes the kernel kill the worker when that happens. The watchdog thread covers systems
    without prctl and the moment before it took effect.
    """
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1  # the name from <sys/prctl.h>
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the watchdog below still notices
    parent_pid = os.getppid()

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid or not _alive(server_pid):
                os._exit(1)  # nothing in a worker is worth finishing: the server is gone
            time.sleep(WATCHDOG_INTERVAL_SECS)

    threading.Thread(target=watch, name="server-watchdog", daemon=True).start()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, someone else's: a reused pid, but not ours to judge
    return True


def _call(fn, args, kwargs):
    return fn(*args, **kwargs)
