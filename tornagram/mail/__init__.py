"""Outgoing mail: one ``Mailer`` protocol, chosen by ``--smtp-url``.

- ``SmtpMailer`` (``smtp.py``) sends through an SMTP server with aiosmtplib, from a bounded
  queue worked by a background task, so no request waits on a mail server.
- ``OutboxMailer`` (``outbox.py``) is the zero-setup default: each message becomes an ``.eml``
  file under ``<data-dir>/outbox/``, and the log says where.

Every message is multipart (plain text and HTML). What it says is written by the domain that
sends it; this package only carries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str


class Mailer(Protocol):
    async def start(self) -> None: ...

    async def send(self, mail: Mail) -> bool:
        """Queue ``mail`` for delivery; False (and a log line) when it could not be queued."""
        ...

    async def close(self) -> None: ...


def to_email(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    domain = sender.rpartition("@")[2].strip("> ") or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def make_mailer(smtp_url: str, sender: str, outbox_dir: Path) -> Mailer:
    if smtp_url:
        from tornagram.mail.smtp import SmtpMailer, parse_smtp_url

        return SmtpMailer(parse_smtp_url(smtp_url), sender)
    from tornagram.mail.outbox import OutboxMailer

    return OutboxMailer(outbox_dir, sender)
