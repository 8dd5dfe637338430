"""The audit log: one row per moderator or admin action, only ever inserted."""

from __future__ import annotations

from tornagram.accounts.models import User
from tornagram.db.base import utcnow
from tornagram.errors import InvalidInput, UserError
from tornagram.moderation.models import AuditEntry

NOTE_MAX_CHARS = 1000


def clean_note(note: str, field: str = "note") -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX_CHARS:
        raise InvalidInput(
            UserError("Keep the note under %(max)d characters.", field, max=NOTE_MAX_CHARS)
        )
    return note


def record(
    session, ids, actor: User | None, action: str, subject: User | None, note: str,
    *, report_id: int | None = None,
) -> None:  # fmt: skip
    """Add the entry to the caller's write transaction."""
    session.add(
        AuditEntry(
            id=ids.next_id(),
            actor_id=actor.id if actor is not None else None,
            actor_name=actor.username if actor is not None else "",
            action=action,
            subject_id=subject.id if subject is not None else None,
            subject_name=subject.username if subject is not None else "",
            report_id=report_id,
            note=note,
            created_at=utcnow(),
        )
    )
