"""Change stamps: whether anything an entry was read from has changed since it was read."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

# How many topics keep their own stamp; older ones share one (see LocalChanges._forget_oldest).
MAX_TOPICS = 200_000


# -- change stamps ------------------------------------------------------------------------------


@runtime_checkable
class Changes(Protocol):
    """What the caches need to know about changes (contract: tests/cache/test_changes_contract.py).

    ``stamp()`` before a read; ``fresh(stamp, topics)`` later says whether anything the read
    depended on has changed since, here or, once heard, in another process. Three
    implementations: ``LocalChanges`` (one process), ``RedisChanges`` (every process sharing a
    Redis) and ``NoCaches`` (caches off).
    """

    @property
    def usable(self) -> bool:
        """Whether changes made anywhere reach this process (caches answer only then)."""
        ...

    def stamp(self) -> int:
        """Never goes down; goes up with every change made or heard."""
        ...

    def fresh(self, stamp: int, topics: Iterable[str]) -> bool:
        """False once any of ``topics`` changed (or everything was reset) after ``stamp``."""
        ...

    def on_reset(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever everything is forgotten (stores empty themselves)."""
        ...

    async def changed(self, topics: Iterable[str]) -> None:
        """A write committed: stale here at once, elsewhere as soon as they hear. Waits on
        nothing outside the process beyond a short bound (RedisChanges: PUBLISH_WAIT_SECS)."""
        ...

    async def everything_changed(self) -> None:
        """Every cached answer is stale, here and elsewhere (bulk writes such as ``seed``)."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


class LocalChanges:
    """A counter that goes up on every change, and for each topic the value at its last one.

    In-process only; ``RedisChanges`` adds the other processes.
    """

    def __init__(self, *, max_topics: int = MAX_TOPICS) -> None:
        self._counter = 0
        self._changed: OrderedDict[str, int] = OrderedDict()
        # Entries stamped before this are stale: a reset, or a forgotten topic's last change.
        self._floor = 0
        self._max_topics = max_topics
        self._listeners: list[Callable[[], None]] = []

    @property
    def usable(self) -> bool:
        """Whether changes made anywhere reach this process (caches answer only then)."""
        return True

    def stamp(self) -> int:
        return self._counter

    def fresh(self, stamp: int, topics: Iterable[str]) -> bool:
        if stamp < self._floor:
            return False
        changed = self._changed
        for topic in topics:
            last = changed.get(topic)
            if last is not None and last > stamp:
                return False
        return True

    def apply(self, topics: Iterable[str]) -> None:
        """Mark topics changed here, now (a change heard from elsewhere, or made here)."""
        for topic in topics:
            self._counter += 1
            self._changed[topic] = self._counter
            self._changed.move_to_end(topic)
        while len(self._changed) > self._max_topics:
            self._forget_oldest()

    def _forget_oldest(self) -> None:
        # Its stamp moves into the floor: entries older than it are dropped with it, which errs
        # towards reading the database again, never towards serving a stale answer.
        _topic, last = self._changed.popitem(last=False)
        self._floor = max(self._floor, last)

    def reset(self) -> None:
        """Forget everything: every entry made before now is stale."""
        self._counter += 1
        self._floor = self._counter
        self._changed.clear()
        for listener in self._listeners:
            listener()

    def on_reset(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    async def changed(self, topics: Iterable[str]) -> None:
        """A write committed: stale here at once, and everywhere else as soon as they hear."""
        self.apply(list(topics))

    async def everything_changed(self) -> None:
        """Every cached answer is stale, here and elsewhere (bulk writes such as ``seed``)."""
        self.reset()

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class NoCaches(LocalChanges):
    """Caches switched off (TORNAGRAM_CACHES=0): every store answers nothing."""

    @property
    def usable(self) -> bool:
        return False
