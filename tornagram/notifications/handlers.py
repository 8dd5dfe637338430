"""The notifications page, and the sentences it is made of."""

from __future__ import annotations

import tornado.web
from tornado.escape import xhtml_escape

from tornagram.i18n import N_, NP_
from tornagram.notifications.service import NotificationGroup
from tornagram.web import params
from tornagram.web.base import BaseHandler

# Keyed by (kind, how many people): 1, 2 (both named), or 3 meaning "and %(count)d others",
# whose two forms (singular, plural) are chosen by the count the sentence ends up with.
GROUP_MESSAGES = {
    ("like", 1): N_("%(name)s liked your photo."),
    ("like", 2): N_("%(name)s and %(other)s liked your photo."),
    ("like", 3): NP_(
        "%(name)s and %(count)d other liked your photo.",
        "%(name)s and %(count)d others liked your photo.",
    ),
    ("follow", 1): N_("%(name)s started following you."),
    ("follow", 2): N_("%(name)s and %(other)s started following you."),
    ("follow", 3): NP_(
        "%(name)s and %(count)d other started following you.",
        "%(name)s and %(count)d others started following you.",
    ),
    ("follow_request", 1): N_("%(name)s asked to follow you."),
    ("follow_request", 2): N_("%(name)s and %(other)s asked to follow you."),
    ("follow_request", 3): NP_(
        "%(name)s and %(count)d other asked to follow you.",
        "%(name)s and %(count)d others asked to follow you.",
    ),
    ("comment", 1): N_("%(name)s commented: %(text)s"),
    ("comment", 2): N_("%(name)s and %(other)s commented: %(text)s"),
    ("comment", 3): NP_(
        "%(name)s, %(other)s and %(rest)d other commented: %(text)s",
        "%(name)s, %(other)s and %(rest)d others commented: %(text)s",
    ),
    ("reply", 1): N_("%(name)s replied to your comment: %(text)s"),
    ("mention", 1): N_("%(name)s mentioned you in a comment: %(text)s"),
    ("caption_mention", 1): N_("%(name)s mentioned you in a post: %(text)s"),
    # From a moderator, who is not named: the notice speaks for the site.
    ("report_handled", 1): N_("The moderators have handled your report. Thank you."),
    ("warning", 1): N_(
        "The moderators have warned you about something you posted. Please read the rules."
    ),
}


GROUPED_SENTENCES = frozenset({"like", "comment", "follow", "follow_request"})


def notification_html(handler: BaseHandler, group: NotificationGroup) -> str:
    """The sentence with linked names, as HTML built only from escaped pieces: the translated
    text is escaped first, then the escaped names and snippet are put into its placeholders."""
    kind = group.kind
    if kind == "mention" and group.comment_id is None:
        kind = "caption_mention"
    people = min(group.actor_count, 3) if kind in GROUPED_SENTENCES else 1
    if kind == "comment" and len(group.actors) < 2:
        people = 1  # its longer sentences name two people; never leave a name blank
    elif people == 2 and len(group.actors) < 2:
        people = 3  # the other person is beyond this page: "and 1 other" rather than a guess
    message = GROUP_MESSAGES[(kind, people)]
    if isinstance(message, tuple):
        singular, plural = message
        counted = group.actor_count - (2 if kind == "comment" else 1)
        text = handler.locale.translate(singular, plural, counted)
    else:
        text = handler.locale.translate(message)
    text = xhtml_escape(text)

    def person(user) -> str:
        href = xhtml_escape(handler.reverse_url("profile", user.username))
        return f'<a class="notif-actor" href="{href}">{xhtml_escape(user.username)}</a>'

    return text % {
        "name": person(group.actors[0]),
        "other": person(group.actors[1]) if len(group.actors) > 1 else "",
        "count": group.actor_count - 1,
        "rest": group.actor_count - 2,
        "text": f'<span class="notif-snippet">{xhtml_escape(group.snippet)}</span>',
    }


class NotificationsHandler(BaseHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        before_id = params.cursor_argument(self)
        feed = self.ctx.notification_feed
        page = await feed.page(self.current_user, before=before_id)
        # Seen when opened: the list is rendered with the unread ones highlighted, then they
        # are marked read, before the response leaves (the next page shows no badge).
        # New followers the reader does not follow yet get "Follow back".
        followers = [
            g.actors[0].id for g in page.groups if g.kind == "follow" and len(g.actors) == 1
        ]
        followed = await self.ctx.graph.followed_among(self.current_user, followers)
        listing = self.render_string(
            "notifications/_notification_list.html",
            page=page,
            before=before_id,
            followed=followed,
            sentence=lambda group: notification_html(self, group),
        )
        if any(group.unread for group in page.groups):
            await feed.mark_all_seen(self.current_user, up_to_id=page.groups[0].latest_id)
        if before_id is None:
            self.unread_notifications = 0
        pending = await self.ctx.graph.pending_request_count(self.current_user)
        self.render("notifications/notifications.html", listing=listing, pending_requests=pending)
