"""Sending through an SMTP server, off the request path.

``send`` puts the message on a bounded queue and returns at once; one background task per
process delivers them in order with aiosmtplib, retrying a failed delivery a few times with a
growing pause. A full queue refuses the message (and says so in the log) rather than hold
memory without limit while a mail server is down.

URLs: ``smtp://user:pass@host:587`` requires STARTTLS; ``smtps://user:pass@host:465`` is TLS
from the first byte. ``?starttls=no`` sends in the clear, and is accepted only for a server on
this machine (a local relay such as Postfix, or a test's).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import urllib.parse
from dataclasses import dataclass

import aiosmtplib

from tornagram.config import ConfigError
from tornagram.mail import Mail, to_email

log = logging.getLogger(__name__)

QUEUE_MAX_MESSAGES = 1_000
ATTEMPTS = 5
# Waits between attempts: 2, 4, 8, 16 s — about half a minute of a mail server restarting.
FIRST_RETRY_SECS = 2.0
SMTP_TIMEOUT_SECS = 30.0
# How long shutdown waits for the queue to empty before giving up on what is left.
DRAIN_SECS = 5.0


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    username: str
    password: str
    implicit_tls: bool
    starttls: bool

    def __repr__(self) -> str:  # never the password, should it reach a log
        return f"SmtpServer({self.host}:{self.port}, tls={self.implicit_tls or self.starttls})"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_smtp_url(url: str) -> SmtpServer:
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(
            "--smtp-url must look like smtp://user:password@mail.example.org:587 "
            "(STARTTLS) or smtps://user:password@mail.example.org:465 (TLS)"
        )
    implicit = parts.scheme == "smtps"
    query = urllib.parse.parse_qs(parts.query)
    starttls = not implicit
    if query.get("starttls", [""])[0].lower() in ("no", "off", "0", "false"):
        if not _is_loopback(parts.hostname):
            raise ConfigError(
                "--smtp-url: starttls=no sends passwords and links in the clear, and is only "
                "allowed for a mail server on this machine (localhost)"
            )
        starttls = False
    return SmtpServer(
        host=parts.hostname,
        port=port or (465 if implicit else 587),
        username=urllib.parse.unquote(parts.username or ""),
        password=urllib.parse.unquote(parts.password or ""),
        implicit_tls=implicit,
        starttls=starttls,
    )


class SmtpMailer:
    def __init__(
        self,
        server: SmtpServer,
        sender: str,
        *,
        queue_max: int = QUEUE_MAX_MESSAGES,
        first_retry_secs: float = FIRST_RETRY_SECS,
    ) -> None:
        self.server = server
        self.sender = sender
        self.first_retry_secs = first_retry_secs
        self._queue: asyncio.Queue[Mail] = asyncio.Queue(maxsize=queue_max)
        self._worker: asyncio.Task | None = None
        # What became of each message, for the log and for tests.
        self.sent = 0
        self.failed = 0

    async def start(self) -> None:
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name="smtp-mailer")

    async def send(self, mail: Mail) -> bool:
        await self.start()
        try:
            self._queue.put_nowait(mail)
        except asyncio.QueueFull:
            self.failed += 1
            log.error("mail queue full (%d waiting): a message was not sent", self._queue.qsize())
            return False
        return True

    async def _work(self) -> None:
        while True:
            mail = await self._queue.get()
            try:
                await self._deliver(mail)
            finally:
                self._queue.task_done()

    async def _deliver(self, mail: Mail) -> None:
        message = to_email(mail, self.sender)
        pause = self.first_retry_secs
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await aiosmtplib.send(
                    message,
                    hostname=self.server.host,
                    port=self.server.port,
                    username=self.server.username or None,
                    password=self.server.password or None,
                    use_tls=self.server.implicit_tls,
                    start_tls=self.server.starttls,
                    timeout=SMTP_TIMEOUT_SECS,
                )
            except (aiosmtplib.SMTPException, OSError) as exc:
                # A refused recipient will be refused again; anything else may pass later.
                permanent = isinstance(exc, aiosmtplib.SMTPRecipientsRefused)
                if permanent or attempt == ATTEMPTS:
                    self.failed += 1
                    log.error(
                        "mail not delivered by %s after %d attempt(s): %s",
                        self.server, attempt, type(exc).__name__,
                    )
                    return
                log.warning(
                    "mail delivery attempt %d failed (%s); retrying in %.0f s",
                    attempt, type(exc).__name__, pause,
                )
                await asyncio.sleep(pause)
                pause *= 2
            else:
                self.sent += 1
                return

    async def drain(self) -> None:
        """Wait until everything queued so far was delivered or given up on."""
        await self._queue.join()

    async def close(self) -> None:
        if self._worker is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), DRAIN_SECS)
        if self._queue.qsize():
            log.error("shutting down with %d mail(s) unsent", self._queue.qsize())
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        self._worker = None
