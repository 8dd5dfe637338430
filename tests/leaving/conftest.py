"""Leaving tests run on the accounts tests' site, which sends real mail to a local SMTP server."""

from tests.accounts.conftest import settings, smtp_sink  # noqa: F401
