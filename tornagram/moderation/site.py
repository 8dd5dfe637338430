"""The site's own settings: its name, description, rules, contact address, and who may sign up.

One row (``site_settings``), written by admins at /admin/settings; until then the defaults
below. Every page shows the name, so the settings are kept in memory in each process and read
again only after a write anywhere (the ``site`` change topic, db/topics.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

from sqlalchemy.exc import IntegrityError

from tornagram.accounts.models import User
from tornagram.accounts.validation import EMAIL_MAX_CHARS, EMAIL_RE
from tornagram.cache import SITE, Store
from tornagram.db.base import utcnow
from tornagram.errors import Conflict, Forbidden, InvalidInput, UserError
from tornagram.moderation.audit import record
from tornagram.moderation.models import RegistrationMode, SiteConfig, is_admin

DEFAULT_NAME = "Tornagram"
NAME_MAX_CHARS = 60
DESCRIPTION_MAX_CHARS = 300
QUESTION_MAX_CHARS = 300
RULE_MAX_CHARS = 500
MAX_RULES = 30
ROW_ID = 1
CACHE_MAX_AGE_SECS = 300


@dataclass(frozen=True, slots=True)
class SiteInfo:
    name: str = DEFAULT_NAME
    description: str = ""
    rules: tuple[str, ...] = ()
    contact_email: str = ""
    registration: str = RegistrationMode.OPEN
    approval_question: str = ""
    members_may_invite: bool = False


DEFAULTS = SiteInfo()
# What the audit log records for each field that changed.
AUDITED = {
    "name": "site.name",
    "description": "site.description",
    "rules": "site.rules",
    "contact_email": "site.contact",
    "registration": "site.registration",
    "approval_question": "site.question",
    "members_may_invite": "site.invites",
}


def _info(row: SiteConfig | None) -> SiteInfo:
    if row is None:
        return DEFAULTS
    return SiteInfo(
        name=row.name,
        description=row.description,
        rules=tuple(json.loads(row.rules or "[]")),
        contact_email=row.contact_email,
        registration=row.registration,
        approval_question=row.approval_question,
        members_may_invite=bool(row.members_may_invite),
    )


def _text(raw: str, field: str, max_chars: int, *, required: str = "") -> str:
    text = " ".join((raw or "").split())
    if required and not text:
        raise InvalidInput(UserError(required, field))
    if len(text) > max_chars:
        raise InvalidInput(UserError("Keep this under %(max)d characters.", field, max=max_chars))
    return text


def clean(
    *, name: str, description: str, rules: list[str], contact_email: str, registration: str,
    approval_question: str, members_may_invite: bool,
) -> SiteInfo:  # fmt: skip
    """The settings as typed, checked; every field's problem at once."""
    errors: dict[str, UserError] = {}
    values: dict = {"members_may_invite": bool(members_may_invite)}
    checks = {
        "name": lambda: _text(name, "name", NAME_MAX_CHARS, required="Give the site a name."),
        "description": lambda: _text(description, "description", DESCRIPTION_MAX_CHARS),
        "approval_question": lambda: _text(approval_question, "approval_question",
                                           QUESTION_MAX_CHARS),
        "contact_email": lambda: _contact(contact_email),
        "registration": lambda: _registration(registration),
        "rules": lambda: _rules(rules),
    }  # fmt: skip
    for field, check in checks.items():
        try:
            values[field] = check()
        except UserError as exc:
            errors.update(exc.by_field())
    if errors:
        raise InvalidInput(errors)
    return SiteInfo(**values)


def _contact(raw: str) -> str:
    text = (raw or "").strip()
    if text and (len(text) > EMAIL_MAX_CHARS or not EMAIL_RE.match(text)):
        raise InvalidInput(UserError("Enter a valid email address.", "contact_email"))
    return text


def _registration(raw: str) -> str:
    if raw not in set(RegistrationMode):
        raise InvalidInput(UserError("Choose who may sign up.", "registration"))
    return raw


def _rules(raw: list[str]) -> tuple[str, ...]:
    rules = tuple(r for r in (" ".join((r or "").split()) for r in raw) if r)
    if len(rules) > MAX_RULES:
        raise InvalidInput(UserError("A site has at most %(max)d rules.", "rules", max=MAX_RULES))
    for rule in rules:
        if len(rule) > RULE_MAX_CHARS:
            raise InvalidInput(
                UserError("Keep each rule under %(max)d characters.", "rules", max=RULE_MAX_CHARS)
            )
    return rules


class SiteService:
    def __init__(self, db, ids) -> None:
        self.db = db
        self.ids = ids
        self._cache = Store(db.changes, "site", max_entries=1, max_age_secs=CACHE_MAX_AGE_SECS)

    async def current(self) -> SiteInfo:
        info = self._cache.get(ROW_ID)
        if info is None:
            stamp = self._cache.changes.stamp()
            async with self.db.read() as session:
                info = _info(await session.get(SiteConfig, ROW_ID))
            self._cache.put(ROW_ID, info, stamp, (SITE,))
        return info

    async def update(self, admin: User, info: SiteInfo) -> SiteInfo:
        """Admins only; one audit entry per field that changed, in the same transaction."""
        if not is_admin(admin):
            raise Forbidden("Only an admin can change the site's settings.")
        for _attempt in range(2):
            try:
                async with self.db.write() as session:
                    row = await session.get(SiteConfig, ROW_ID, with_for_update=True)
                    before = _info(row)
                    if row is None:
                        row = SiteConfig(id=ROW_ID)
                        session.add(row)
                    row.name, row.description = info.name, info.description
                    row.rules = json.dumps(list(info.rules), ensure_ascii=False)
                    row.contact_email = info.contact_email
                    row.registration = info.registration
                    row.approval_question = info.approval_question
                    row.members_may_invite = info.members_may_invite
                    row.updated_at = utcnow()
                    for f in fields(SiteInfo):
                        old, new = getattr(before, f.name), getattr(info, f.name)
                        if old != new:
                            record(session, self.ids, admin, AUDITED[f.name], None,
                                   _describe(f.name, new))  # fmt: skip
                return info
            except IntegrityError:
                continue  # two admins saved the first settings at once: the second updates
        raise Conflict("The settings could not be saved. Try again.")


def _describe(field: str, value) -> str:
    """The new value, as the audit log's note."""
    if field == "rules":
        return "\n".join(f"{i}. {rule}" for i, rule in enumerate(value, 1))
    if field == "members_may_invite":
        return "on" if value else "off"
    return str(value)
