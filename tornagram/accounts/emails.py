"""The messages the site mails to a person, written once and sent as plain text and HTML.

A letter is a list of paragraphs (msgids with their values) and at most one link. Each is
translated into the recipient's language here, then laid out twice: as text, and as a small
HTML page whose every value is escaped. Links are built from ``--site-url`` by the caller,
never from a request's Host header.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tornado.locale
from tornado.escape import xhtml_escape

from tornagram.i18n import N_
from tornagram.mail import Mail

SIGNATURE = N_("— Tornagram")


@dataclass(frozen=True, slots=True)
class Letter:
    subject: str
    paragraphs: tuple[str, ...]
    action_label: str = ""
    closing: tuple[str, ...] = ()
    params: dict = field(default_factory=dict)


RESET = Letter(
    subject=N_("Reset your Tornagram password"),
    paragraphs=(
        N_("Hello %(name)s,"),
        N_(
            "someone, hopefully you, asked to reset the password of @%(username)s. "
            "The link below works once, within one hour."
        ),
    ),
    action_label=N_("Choose a new password"),
    closing=(N_("If it was not you, ignore this message: your password stays as it is."),),
)

PASSWORD_RESET_DONE = Letter(
    subject=N_("Your Tornagram password was reset"),
    paragraphs=(
        N_("Hello %(name)s,"),
        N_("the password of @%(username)s was just reset, and every device was signed out."),
        N_("If it was not you, reset it again from the sign-in page at once: %(url)s"),
    ),
)

CONFIRM_EMAIL = Letter(
    subject=N_("Confirm your email address for Tornagram"),
    paragraphs=(
        N_("Hello %(name)s,"),
        N_(
            "please confirm that %(email)s is the address of @%(username)s. "
            "The link below works once, within two days."
        ),
    ),
    action_label=N_("Confirm my address"),
    closing=(N_("If you did not ask for this, ignore this message."),),
)

EMAIL_CHANGING = Letter(
    subject=N_("Your Tornagram email address is changing"),
    paragraphs=(
        N_("Hello %(name)s,"),
        N_(
            "someone signed in as @%(username)s asked to change the account's address "
            "to %(email)s. It changes only once the link mailed there is followed."
        ),
        N_("If it was not you, change your password now: %(url)s"),
    ),
)


def _locale(code: str | None) -> tornado.locale.Locale:
    return tornado.locale.get(code or "en_US")


def compose(letter: Letter, to: str, locale_code: str | None, *, url: str = "", **params) -> Mail:
    translate = _locale(locale_code).translate
    values = dict(params, url=url)
    paragraphs = [translate(p) % values for p in letter.paragraphs]
    closing = [translate(p) % values for p in letter.closing]
    signature = translate(SIGNATURE)
    label = translate(letter.action_label) if letter.action_label else ""
    subject = translate(letter.subject) % values

    text_parts = list(paragraphs)
    if label:
        text_parts.append(f"{label}:\n{url}")
    text_parts += [*closing, signature]
    text = "\n\n".join(text_parts) + "\n"

    esc = xhtml_escape
    html_parts = [f"<p>{esc(p)}</p>" for p in paragraphs]
    if label:
        html_parts.append(
            f'<p><a href="{esc(url)}" style="display:inline-block;padding:10px 18px;'
            f'background:#0a66c2;color:#fff;border-radius:6px;text-decoration:none">'
            f"{esc(label)}</a></p>"
            f'<p style="color:#666;font-size:13px">{esc(url)}</p>'
        )
    html_parts += [f"<p>{esc(p)}</p>" for p in closing]
    html_parts.append(f'<p style="color:#666">{esc(signature)}</p>')
    lang = "zh-CN" if (locale_code or "").startswith("zh") else "en"
    html = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{esc(subject)}</title></head>"
        f'<body style="font-family:system-ui,sans-serif;line-height:1.5;max-width:560px">'
        + "".join(html_parts)
        + "</body></html>"
    )
    return Mail(to=to, subject=subject, text=text, html=html)
