"""``python relay.py HOST PORT UNIX_PATH``: accept TCP on HOST:PORT, pass each connection on to
the Unix socket UNIX_PATH. Run inside the database namespace of the multi-host test, it makes
the machine's PostgreSQL (which listens on 127.0.0.1 and its Unix socket only) a database host
on the test network: the Tornagram hosts speak real TCP to it, across the bridge."""

from __future__ import annotations

import asyncio
import contextlib
import sys


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(ConnectionError, OSError):
            writer.close()


async def main(host: str, port: int, path: str) -> None:
    async def accept(reader, writer) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_unix_connection(path)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    server = await asyncio.start_server(accept, host, port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
