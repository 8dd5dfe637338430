"""The one visibility rule. Every surface that shows posts (home, explore, tags, profiles, the
photo page, search, notifications, live channels) filters through these helpers, so a private
account's posts reach only its approved followers and itself, and blocks cut both ways.

    A viewer may see an author's posts when neither has blocked the other, the author is not
    suspended (or is the viewer), and the author is public, or is the viewer, or is followed
    (accepted) by the viewer.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, false, or_

from tornagram.accounts.models import User
from tornagram.graph.models import Block, Follow

# Its own alias: the outer query often selects from ``users`` too, and would swallow it.
_suspended = User.__table__.alias("suspended_author")


def not_suspended(viewer_id: int | None, author_id_column) -> ColumnElement[bool]:
    """A suspended account, or one still waiting for a moderator's approval (moderation), is
    seen by no one but itself."""
    gone = ~exists().where(
        _suspended.c.id == author_id_column,
        or_(
            _suspended.c.suspended_at.is_not(None),
            _suspended.c.approval_pending_since.is_not(None),
        ),
    )
    return gone if viewer_id is None else or_(author_id_column == viewer_id, gone)


def not_blocked(viewer_id: int | None, author_id_column) -> ColumnElement[bool]:
    if viewer_id is None:
        return not_suspended(None, author_id_column)
    return and_(
        ~exists().where(
            or_(
                and_(Block.blocker_id == author_id_column, Block.blocked_id == viewer_id),
                and_(Block.blocker_id == viewer_id, Block.blocked_id == author_id_column),
            )
        ),
        not_suspended(viewer_id, author_id_column),
    )


def can_see_author(viewer_id: int | None, author=User) -> ColumnElement[bool]:
    """A condition on the author (a ``User`` entity or alias) for the given viewer."""
    if viewer_id is None:
        return and_(author.is_private == false(), not_blocked(None, author.id))
    follows = exists().where(Follow.follower_id == viewer_id, Follow.followee_id == author.id)
    return and_(
        not_blocked(viewer_id, author.id),
        or_(author.is_private == false(), author.id == viewer_id, follows),
    )


def can_see_user_id(viewer_id: int | None, author_id_column) -> ColumnElement[bool]:
    """The same rule when only the author's id is at hand (joins ``users`` in a subquery)."""
    return exists().where(User.id == author_id_column, can_see_author(viewer_id, User))
