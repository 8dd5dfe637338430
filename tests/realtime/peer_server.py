"""A second Tornagram-like process for the cross-process test.

Runs a hub on a Redis broker and the test WebSocket handler on --port, prints
READY, and exits when its stdin closes (so it never outlives the test).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tornado.httpserver import HTTPServer

from tests.realtime.rt_support import hub_app
from tornagram.realtime import Hub
from tornagram.realtime.redis_broker import RedisBroker


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", required=True)
    args = parser.parse_args()
    broker = RedisBroker(args.redis_url, prefix=args.prefix)
    await broker.start()
    hub = Hub(broker)
    server = HTTPServer(hub_app(hub))
    server.listen(args.port, "127.0.0.1")
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    server.stop()
    await hub.close()
    await broker.close()


if __name__ == "__main__":
    asyncio.run(main())
