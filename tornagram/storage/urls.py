"""The path a stored key is served at, for JSON and live events built by the services."""

from __future__ import annotations


def media_url(key: str | None) -> str | None:
    """The ``media`` route's path for a key (``app.py`` serves ``/media/<key>``)."""
    return f"/media/{key}" if key else None
