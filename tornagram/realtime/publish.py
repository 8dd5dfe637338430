"""How services announce what happened: after their commit, through the broker."""

from __future__ import annotations

import logging
from typing import Any

from tornagram.db.engine import after_commit
from tornagram.realtime.broker import Broker, BrokerUnavailable
from tornagram.realtime.events import Event

log = logging.getLogger(__name__)


class EventPublisher:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    async def publish(self, channel: str, type: str, data: dict[str, Any]) -> Event | None:
        """Never fails the request that caused the event: with the broker down the page still
        works, and clients catch up from the database when they reload."""
        try:
            return await self.broker.publish(channel, type, data)
        except BrokerUnavailable:
            log.warning("live event %s on %s not sent: the broker is unavailable", type, channel)
            return None

    def on_commit(self, session, channel: str, type: str, data) -> None:
        """Publish once ``session``'s transaction commits. ``data`` may be a dict or an async
        function returning one (for data that needs the committed rows)."""

        async def send() -> None:
            payload = await data() if callable(data) else data
            if payload is not None:
                await self.publish(channel, type, payload)

        after_commit(session, send)
