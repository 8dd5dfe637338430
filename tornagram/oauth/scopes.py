"""Mastodon's scope hierarchy: what each scope a token may carry grants.

A token carries the scopes the person approved, exactly as the app asked for them; what an
endpoint needs is one granular scope (``read:statuses``). ``grants`` decides, so the hierarchy
is written down once, here.
"""

from __future__ import annotations

READ_SCOPES = (
    "read:accounts", "read:blocks", "read:bookmarks", "read:favourites", "read:filters",
    "read:follows", "read:lists", "read:mutes", "read:notifications", "read:search",
    "read:statuses",
)  # fmt: skip
WRITE_SCOPES = (
    "write:accounts", "write:blocks", "write:bookmarks", "write:conversations",
    "write:favourites", "write:filters", "write:follows", "write:lists", "write:media",
    "write:mutes", "write:notifications", "write:reports", "write:statuses",
)  # fmt: skip
# Deprecated by Mastodon, still sent by older apps.
FOLLOW_SCOPES = (
    "read:blocks", "read:follows", "read:mutes", "write:blocks", "write:follows", "write:mutes",
)  # fmt: skip
TOP_SCOPES = ("read", "write", "follow", "push", "profile")
ALL_SCOPES = (*TOP_SCOPES, *READ_SCOPES, *WRITE_SCOPES)
IMPLIED = {"read": READ_SCOPES, "write": WRITE_SCOPES, "follow": FOLLOW_SCOPES}
DEFAULT_SCOPES = ("read",)
# Never offered: Tornagram has no admin API.
REFUSED_PREFIX = "admin"


class UnknownScope(ValueError):
    pass


def parse_scopes(raw: str | None) -> tuple[str, ...]:
    """Scopes from a space- (or ``+``-) separated string, in the order given, each once; the
    default when none is given. An unknown scope raises UnknownScope."""
    names = [s for s in (raw or "").replace("+", " ").split() if s]
    if not names:
        return DEFAULT_SCOPES
    seen: list[str] = []
    for name in names:
        if name not in ALL_SCOPES:
            raise UnknownScope(name)
        if name not in seen:
            seen.append(name)
    return tuple(seen)


def expand(scopes) -> frozenset[str]:
    """Every granular scope that ``scopes`` grant, the top-level names included."""
    granted = set(scopes)
    for name in scopes:
        granted.update(IMPLIED.get(name, ()))
    return frozenset(granted)


def grants(scopes, required: str) -> bool:
    """Whether a token with ``scopes`` may use an endpoint that needs ``required``. ``profile``
    is its own scope: only verify_credentials accepts it, next to ``read:accounts``."""
    return required in expand(scopes)


def covered_by(requested, registered) -> bool:
    """Whether every requested scope is one the app registered (or is implied by one)."""
    allowed = expand(registered)
    return all(name in allowed for name in requested)
