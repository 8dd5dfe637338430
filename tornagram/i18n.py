"""Languages: Tornado's CSV translations, and a way to list every string that needs one.

Templates call ``_()``; Python code raises ``UserError("English text")`` (translated at the
edge) or marks a string with ``N_()``. ``msgids()`` finds all three so a test can prove that
every language file is complete.

A sentence with a number in it has two forms: templates call ``_("1 other", "%(count)d others",
count)`` and Python marks the pair with ``NP_()``. Tornado picks the row by the CSV's third
column ("singular" or "plural"), so ``plural_msgids()`` lists the pairs for a test to check
that both rows are there, each marked as what it is.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import tornado.locale

PACKAGE_DIR = Path(__file__).parent
LOCALE_DIR = PACKAGE_DIR / "locale"
DEFAULT_LOCALE = "en_US"

# Calls whose first string argument is shown to the user.
_MESSAGE_CALLS = {
    "UserError",
    "InvalidInput",
    "NotFound",
    "Forbidden",
    "Conflict",
    "TooManyRequests",
    "N_",
}
_TEMPLATE_CALL_RE = re.compile(r"""\b_\(\s*(?P<q>["'])(?P<text>(?:(?!(?P=q)).)*)(?P=q)\s*[,)]""")
# _("singular", "plural", count) in a template.
_TEMPLATE_PLURAL_RE = re.compile(
    r"""\b_\(\s*(?P<q>["'])(?P<one>(?:(?!(?P=q)).)*)(?P=q)\s*,"""
    r"""\s*(?P<r>["'])(?P<many>(?:(?!(?P=r)).)*)(?P=r)\s*,"""
)


# Strings Tornado itself translates (relative times, month and day names in format_date).
TORNADO_MSGIDS = frozenset(
    [
        "1 second ago",
        "%(seconds)d seconds ago",
        "1 minute ago",
        "%(minutes)d minutes ago",
        "1 hour ago",
        "%(hours)d hours ago",
        "%(time)s",
        "yesterday",
        "yesterday at %(time)s",
        "%(weekday)s",
        "%(weekday)s at %(time)s",
        "%(month_name)s %(day)s",
        "%(month_name)s %(day)s at %(time)s",
        "%(month_name)s %(day)s, %(year)s",
        "%(month_name)s %(day)s, %(year)s at %(time)s",
        "%(weekday)s, %(month_name)s %(day)s",
        "%(commas)s and %(last)s",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
)


def N_(message: str) -> str:
    """Marks a string for translation where it is defined; it is translated where it is shown."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Marks the two forms of a counted sentence; shown with
    ``locale.translate(singular, plural, count)``."""
    return (singular, plural)


def load_translations() -> None:
    tornado.locale.load_translations(str(LOCALE_DIR))
    tornado.locale.set_default_locale(DEFAULT_LOCALE)


def _python_msgids(source: str) -> Iterator[str]:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0] if node.args else None
            is_text = isinstance(first, ast.Constant) and isinstance(first.value, str)
            if name in _MESSAGE_CALLS and is_text:
                yield first.value
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                name = getattr(target, "id", "")
                is_message = name.endswith("_MESSAGE") or name.startswith("MESSAGE_")
                is_text = isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                if is_message and is_text:
                    yield node.value.value
                if is_message and isinstance(node.value, ast.JoinedStr | ast.BinOp):
                    raise ValueError(f"{name}: build user-visible messages from plain strings")
                elif name.endswith("_MESSAGES") and isinstance(node.value, ast.Dict):
                    for value in node.value.values:
                        if isinstance(value, ast.Constant) and isinstance(value.value, str):
                            yield value.value


def _python_plurals(source: str) -> Iterator[tuple[str, str]]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "NP_":
            pair = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if len(pair) != 2 or not all(isinstance(text, str) for text in pair):
                raise ValueError("NP_() takes two plain strings: the singular and the plural")
            yield pair[0], pair[1]


def plural_msgids() -> set[tuple[str, str]]:
    """Every (singular, plural) pair shown with a count, from templates and ``NP_()``."""
    found: set[tuple[str, str]] = set()
    for path in (PACKAGE_DIR / "templates").rglob("*.html"):
        for match in _TEMPLATE_PLURAL_RE.finditer(path.read_text(encoding="utf-8")):
            found.add((match.group("one"), match.group("many")))
    for path in PACKAGE_DIR.rglob("*.py"):
        found.update(_python_plurals(path.read_text(encoding="utf-8")))
    return found


def msgids() -> set[str]:
    found: set[str] = set(TORNADO_MSGIDS)
    for singular, plural in plural_msgids():
        found.update((singular, plural))
    for path in (PACKAGE_DIR / "templates").rglob("*.html"):
        for match in _TEMPLATE_CALL_RE.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group("text"))
    for path in PACKAGE_DIR.rglob("*.py"):
        found.update(_python_msgids(path.read_text(encoding="utf-8")))
    return found
