"""The default mailer: every message is an ``.eml`` file in ``<data-dir>/outbox/``.

So that ``make run`` can reset a password with no mail server: open the newest file in any
mail program (or read it; it is text). Files are private to the server's user (0600), since
they hold links that work.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from pathlib import Path

from tornagram.mail import Mail, to_email

log = logging.getLogger(__name__)


class OutboxMailer:
    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    async def start(self) -> None:
        pass

    async def send(self, mail: Mail) -> bool:
        data = to_email(mail, self.sender).as_bytes()
        try:
            path = await asyncio.get_running_loop().run_in_executor(None, self._write, data)
        except OSError as exc:
            log.error("mail could not be written to %s: %s", self.directory, exc)
            return False
        # The path, never the message: it holds a link that works.
        log.info("mail written to %s (no --smtp-url set)", path)
        return True

    def _write(self, data: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{secrets.token_hex(4)}.eml"
        tmp = self.directory / (name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        final = self.directory / name
        # Whole or not at all: a reader never sees half a message.
        os.replace(tmp, final)
        return final

    async def close(self) -> None:
        pass
