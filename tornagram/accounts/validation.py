"""Rules for usernames, emails, passwords and profile fields. Pure functions; raise UserError."""

from __future__ import annotations

import re

from tornagram.errors import UserError

USERNAME_MAX_CHARS = 30
USERNAME_RE = re.compile(r"^[a-z0-9_.]{1,30}$")
PASSWORD_MIN_CHARS = 8
# Checked before hashing: argon2 on a megabyte "password" is a cheap way to burn our CPU.
PASSWORD_MAX_CHARS = 1024
EMAIL_MAX_CHARS = 254
DISPLAY_NAME_MAX_CHARS = 64
BIO_MAX_CHARS = 300
# Simple on purpose: the only real test of an address is mail reaching it.
EMAIL_RE = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")

# Names that are, or may become, paths of the site, or that impersonate staff.
RESERVED_USERNAMES = frozenset(
    """
    about abuse account accounts admin administrator api app apps assets auth blog ceo
    contact dashboard dev docs download edit explore favicon.ico feed feeds follow
    follow-requests followers following healthz help home login logout mail media me
    messages moderator new notifications null official p password poll post posts privacy
    profile register report robots.txt root rooms saved search security settings signin signout
    signup static staff status support suspended system tags terms test tornagram undefined upload
    user users webmaster ws www
    """.split()
)

LANGUAGES = {"en_US": "English", "zh_CN": "简体中文"}


def normalize_username(raw: str) -> str:
    return (raw or "").strip().lstrip("@").lower()


def check_username(raw: str) -> str:
    name = normalize_username(raw)
    if not name:
        raise UserError("Choose a username.", "username")
    if len(name) > USERNAME_MAX_CHARS:
        raise UserError(
            "Usernames can be at most %(max)d characters.", "username", max=USERNAME_MAX_CHARS
        )
    if not USERNAME_RE.match(name):
        raise UserError(
            "Usernames can only use letters a–z, numbers, underscores and periods.", "username"
        )
    if name in RESERVED_USERNAMES:
        raise UserError("That username is reserved. Please choose another.", "username")
    return name


def check_email(raw: str) -> tuple[str, str]:
    """(email as typed, lower-cased key for uniqueness)."""
    email = (raw or "").strip()
    if not email:
        raise UserError("Enter your email address.", "email")
    if len(email) > EMAIL_MAX_CHARS or not EMAIL_RE.match(email):
        raise UserError("Enter a valid email address.", "email")
    return email, email.lower()


def check_password(password: str, field: str = "password") -> str:
    password = password or ""
    if len(password) < PASSWORD_MIN_CHARS:
        raise UserError(
            "Passwords must be at least %(min)d characters.", field, min=PASSWORD_MIN_CHARS
        )
    if len(password) > PASSWORD_MAX_CHARS:
        raise UserError(
            "Passwords can be at most %(max)d characters.", field, max=PASSWORD_MAX_CHARS
        )
    return password


def _single_line(value: str) -> str:
    return " ".join((value or "").split())


def check_display_name(raw: str) -> str:
    name = _single_line(raw)
    if len(name) > DISPLAY_NAME_MAX_CHARS:
        raise UserError(
            "Names can be at most %(max)d characters.", "display_name", max=DISPLAY_NAME_MAX_CHARS
        )
    return name


def check_bio(raw: str) -> str:
    bio = (raw or "").replace("\r\n", "\n").strip()
    if len(bio) > BIO_MAX_CHARS:
        raise UserError("Bios can be at most %(max)d characters.", "bio", max=BIO_MAX_CHARS)
    return bio


def check_language(raw: str) -> str | None:
    """'' means "follow my browser"."""
    if not raw:
        return None
    if raw not in LANGUAGES:
        raise UserError("Choose a language from the list.", "locale")
    return raw
