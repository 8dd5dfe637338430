"""Helpers for the notifications tests: people and rows made directly, and reading the page."""

from __future__ import annotations

import html
import re

from sqlalchemy import select

from tests.helpers import user
from tornagram.accounts.models import User
from tornagram.graph.models import Comment, Notification


async def quiet_users(site, *names: str) -> list[User]:
    """People who never sign in (rows only, so tests can have dozens of them quickly)."""
    people = [
        User(
            id=site.ctx.ids.next_id(),
            username=name,
            email=f"{name}@example.org",
            email_key=f"{name}@example.org",
            password_hash="!",
        )
        for name in names
    ]
    async with site.ctx.db.write() as s:
        s.add_all(people)
    return people


async def notify(site, recipient: User, actor: User, kind: str, **refs) -> Notification:
    """Through the writer, in a transaction, as the services do."""
    async with site.ctx.db.write() as s:
        return site.ctx.notifications.notify(
            s, recipient_id=recipient.id, actor_id=actor.id, kind=kind, **refs
        )


async def add_comment_row(site, post_id: int, author: User, body: str) -> Comment:
    comment = Comment(id=site.ctx.ids.next_id(), post_id=post_id, author_id=author.id, body=body)
    async with site.ctx.db.write() as s:
        s.add(comment)
    return comment


async def notifications_of(site, name: str) -> list[tuple[str, str, int | None]]:
    """(kind, actor's username, post id), oldest first."""
    recipient = await user(site, name)
    async with site.ctx.db.read() as s:
        rows = await s.execute(
            select(Notification.kind, User.username, Notification.post_id)
            .join(User, User.id == Notification.actor_id)
            .where(Notification.recipient_id == recipient.id)
            .order_by(Notification.id)
        )
        return [tuple(row) for row in rows]


def _items(page_html: str) -> list[tuple[str, bool]]:
    found = []
    for item in re.findall(r'<li class="notif[^"]*".*?</li>', page_html, re.S):
        text = re.search(r'<p class="notif-text">(.*?)<span class="notif-time">', item, re.S)
        words = " ".join(html.unescape(re.sub(r"<[^>]+>", "", text.group(1))).split())
        unread = 'class="notif notif-unread"' in item
        assert words.startswith("New: ") == unread, item
        found.append((words.removeprefix("New: "), unread))
    return found


def lines(page_html: str) -> list[str]:
    """Each notification as the reader sees it: its sentence, tags and spacing removed."""
    return [text for text, _unread in _items(page_html)]


def unread_lines(page_html: str) -> list[str]:
    return [text for text, unread in _items(page_html) if unread]


def badge(page_html: str) -> str | None:
    """The unread count on the bell in the top bar, or None when there is no badge."""
    nav = re.search(r'<nav class="nav nav-top".*?</nav>', page_html, re.S).group(0)
    match = re.search(r'<span class="nav-badge" data-unread-badge ([^>]*)>([^<]*)</span>', nav)
    assert match, "members always have the badge, hidden at 0, for live updates"
    hidden = "hidden" in match.group(1).split()
    assert hidden == (match.group(2) == "")
    return None if hidden else match.group(2)
