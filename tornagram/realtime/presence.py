""" "N watching" for rooms, across processes.

Each process publishes how many viewers of a room it holds (``presence.changed`` with its
node name); pages add up the latest figure per node. At most one announcement per room per
``PRESENCE_MIN_INTERVAL_SECS``, so a crowd joining at once costs one event, not thousands.
"""

from __future__ import annotations

import asyncio
import os
import socket

from tornagram.realtime.hub import Hub
from tornagram.realtime.publish import EventPublisher

PRESENCE_MIN_INTERVAL_SECS = 1.0


class Presence:
    def __init__(self, hub: Hub, events: EventPublisher) -> None:
        self.hub = hub
        self.events = events
        self.node = f"{socket.gethostname()}:{os.getpid()}"
        self._scheduled: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task] = set()

    def changed(self, channel: str) -> None:
        if not channel.startswith("room:") or channel in self._scheduled:
            return
        loop = asyncio.get_running_loop()
        self._scheduled[channel] = loop.call_later(
            PRESENCE_MIN_INTERVAL_SECS, self._announce, channel
        )

    def _announce(self, channel: str) -> None:
        self._scheduled.pop(channel, None)
        task = asyncio.ensure_future(
            self.events.publish(
                channel,
                "presence.changed",
                {"node": self.node, "watching": self.hub.count(channel)},
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for handle in self._scheduled.values():
            handle.cancel()
        self._scheduled.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
