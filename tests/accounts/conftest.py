"""Account tests send real mail: to an SMTP server started here, on a free loopback port."""

from __future__ import annotations

import pytest

from tests.helpers import TEST_COOKIE_SECRET, SmtpSink
from tornagram.config import FAST_TEST_HASH_PARAMS, build_settings


@pytest.fixture
def smtp_sink():
    sink = SmtpSink().start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def settings(tmp_path, database_url, smtp_sink):
    return build_settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        cookie_secret=TEST_COOKIE_SECRET,
        password_hash=FAST_TEST_HASH_PARAMS,
        smtp_url=smtp_sink.url,
        mail_from="Tornagram <photos@example.org>",
        site_url="https://photos.example.org",
        signup_ip_burst=100_000,
    )
