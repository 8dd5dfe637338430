"""Failures of the machine, not of the request, turned into answers a person can act on.

A locked or busy database and a full disk are not bugs to answer with a bare 500: nothing was
half-saved (the transaction rolled back, the media write was atomic), and trying again later
will work. They become 503 or 507 with ``Retry-After`` and a page saying what happened.
"""

from __future__ import annotations

import errno

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tornagram.errors import InsufficientStorage, RetryLater, database_busy

DISK_FULL_RETRY_SECS = 120
_BUSY_MESSAGES = ("database is locked", "database is busy", "database table is locked")
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}

DISK_FULL_MESSAGE = (
    "The site has run out of storage space, so it could not save that. Nothing was saved: "
    "please try again later."
)


def resource_failure(exc: BaseException) -> RetryLater | None:
    """The refusal ``exc`` amounts to, or None when it is an ordinary error."""
    if isinstance(exc, RetryLater):
        return None
    if isinstance(exc, OperationalError):
        text = str(exc.orig if exc.orig is not None else exc).lower()
        if any(message in text for message in _BUSY_MESSAGES):
            return database_busy()
        if "database or disk is full" in text:
            return InsufficientStorage(DISK_FULL_MESSAGE, DISK_FULL_RETRY_SECS)
        return None
    if isinstance(exc, PoolTimeout):
        return database_busy()
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return InsufficientStorage(DISK_FULL_MESSAGE, DISK_FULL_RETRY_SECS)
    return None
