"""Both mailers: the outbox files of the zero-setup default, and real SMTP delivery."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging

import pytest

from tests.helpers import SmtpSink, free_port, mail_html, mail_text
from tornagram.config import ConfigError, build_settings
from tornagram.mail import Mail, make_mailer
from tornagram.mail.outbox import OutboxMailer
from tornagram.mail.smtp import SmtpMailer, parse_smtp_url

MAIL = Mail(to="alice@example.org", subject="Hello 你好", text="plain words", html="<p>html</p>")
SENDER = "Tornagram <photos@example.org>"


@pytest.fixture
def sink():
    s = SmtpSink().start()
    yield s
    s.stop()


async def test_outbox_writes_a_private_multipart_eml_and_logs_where(tmp_path, caplog):
    caplog.set_level(logging.INFO, "tornagram.mail")
    mailer = make_mailer("", SENDER, tmp_path / "outbox")
    assert isinstance(mailer, OutboxMailer)
    assert await mailer.send(MAIL)
    (path,) = (tmp_path / "outbox").glob("*.eml")
    assert path.stat().st_mode & 0o077 == 0
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "alice@example.org"
    assert message["From"] == SENDER
    assert message["Subject"] == "Hello 你好"
    assert mail_text(message).strip() == "plain words"
    assert mail_html(message).strip() == "<p>html</p>"
    assert str(path) in caplog.text
    assert "plain words" not in caplog.text


async def test_smtp_delivers_multipart_to_a_real_server(sink):
    mailer = make_mailer(sink.url, SENDER, None)
    assert isinstance(mailer, SmtpMailer)
    try:
        assert await mailer.send(MAIL)
        (message,) = await sink.wait_for("alice@example.org")
    finally:
        await mailer.close()
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "Hello 你好"
    assert mail_text(message).strip() == "plain words"
    assert mailer.sent == 1


async def test_smtp_retries_until_the_server_answers():
    port = free_port()
    mailer = SmtpMailer(parse_smtp_url(f"smtp://127.0.0.1:{port}?starttls=no"), SENDER,
                        first_retry_secs=0.05)
    sink = SmtpSink()
    try:
        await mailer.send(MAIL)
        # The first attempt finds nobody listening; then the server comes up on that port.
        while mailer._queue.qsize():
            await asyncio.sleep(0.01)
        from aiosmtpd.controller import Controller

        sink.port = port
        sink.controller = Controller(sink, hostname="127.0.0.1", port=port)
        sink.controller.start()
        await sink.wait_for("alice@example.org")
    finally:
        await mailer.close()
        sink.stop()
    assert mailer.sent == 1 and mailer.failed == 0


async def test_the_queue_is_bounded(caplog):
    port = free_port()  # nobody listens: the first message waits in its retry pause
    mailer = SmtpMailer(parse_smtp_url(f"smtp://127.0.0.1:{port}?starttls=no"), SENDER,
                        queue_max=1, first_retry_secs=60)
    try:
        assert await mailer.send(MAIL)
        while mailer._queue.qsize():
            await asyncio.sleep(0.01)
        assert await mailer.send(MAIL)  # waits in the queue
        assert not await mailer.send(MAIL)  # no room
        assert "queue full" in caplog.text
    finally:
        mailer._worker.cancel()
        mailer._worker = None


def test_smtp_urls():
    starttls = parse_smtp_url("smtp://me%40x.org:p%3Ass@mail.example.org")
    assert (starttls.host, starttls.port, starttls.starttls, starttls.implicit_tls) == (
        "mail.example.org", 587, True, False)
    assert (starttls.username, starttls.password) == ("me@x.org", "p:ss")
    assert "p:ss" not in repr(starttls)
    tls = parse_smtp_url("smtps://u:p@mail.example.org")
    assert (tls.port, tls.implicit_tls, tls.starttls) == (465, True, False)
    assert parse_smtp_url("smtp://localhost:25?starttls=no").starttls is False
    for bad in ("http://x", "smtp://", "smtp://mail.example.org:99999",
                "smtp://mail.example.org?starttls=no"):
        with pytest.raises(ConfigError):
            parse_smtp_url(bad)


def test_mail_settings(tmp_path):
    s = build_settings(data_dir=tmp_path, cookie_secret="x" * 40)
    assert s.outbox_dir == tmp_path.resolve() / "outbox"
    assert "@" in s.mail_from
    for bad in ("not an address", "a@b\nBcc: evil@example.org"):
        with pytest.raises(ConfigError):
            build_settings(data_dir=tmp_path, cookie_secret="x" * 40, mail_from=bad)
    with pytest.raises(ConfigError):
        build_settings(data_dir=tmp_path, cookie_secret="x" * 40, smtp_url="mail.example.org")
