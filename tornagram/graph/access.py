"""May this viewer see this person: one decision for the profile, its lists, the photo page and
the live channels of posts.

    Someone who blocked the viewer does not exist for them: every surface answers as for a
    name nobody has (404), so a block cannot be probed. Nor does an account the moderators
    suspended, for anyone but itself.
    Otherwise the person's page is there. What is on it (posts, who follows them and whom they
    follow, a post's page and its live channel) is for the viewer when neither has blocked the
    other, and the person is public, or is the viewer, or is followed (accepted) by the viewer.

The same rule over many rows at once is a query condition, ``visibility.can_see_author``; a
test (tests/graph/test_access.py) holds the two to one answer for every case.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import exists

from tornagram.accounts.models import User
from tornagram.errors import NotFound
from tornagram.graph.models import Block, Follow, FollowRequest, Mute

NO_SUCH_PERSON = "No one here goes by that name."

# Why the person's posts and lists are not shown: "blocked" (by the person: they are not there
# at all for the viewer), "suspended" (by the moderators: not there for anyone else either),
# "blocking" (the viewer blocked them) or "private".
Hidden = Literal["blocked", "suspended", "blocking", "private"]


@dataclass(frozen=True, slots=True)
class Relationship:
    """How the viewer stands with another person; drives the follow button and visibility."""

    is_self: bool = False
    following: bool = False
    requested: bool = False
    followed_by: bool = False
    blocking: bool = False
    blocked_by: bool = False
    muting: bool = False  # the viewer muted them: hidden from the viewer's feeds, not a wall

    @property
    def can_see_posts_of_private(self) -> bool:
        return self.is_self or self.following


def relationship_columns(viewer_id: int, other_id) -> tuple:
    """Six yes/no columns, in ``Relationship``'s order after ``is_self``, for one select:
    ``other_id`` is a number or a column (the author of the post being read)."""
    v, o = viewer_id, other_id
    return (
        exists().where(Follow.follower_id == v, Follow.followee_id == o),
        exists().where(FollowRequest.requester_id == v, FollowRequest.target_id == o),
        exists().where(Follow.follower_id == o, Follow.followee_id == v),
        exists().where(Block.blocker_id == v, Block.blocked_id == o),
        exists().where(Block.blocker_id == o, Block.blocked_id == v),
        exists().where(Mute.muter_id == v, Mute.muted_id == o),
    )


def relationship_from(viewer: User | None, other: User, flags=()) -> Relationship:
    """The relationship, given ``relationship_columns``' values (not read for a signed-out
    viewer or for oneself, who need no query)."""
    if viewer is None:
        return Relationship()
    if viewer.id == other.id:
        return Relationship(is_self=True)
    return Relationship(False, *(bool(flag) for flag in flags))


@dataclass(frozen=True, slots=True)
class Access:
    """What the viewer may see of one person, from ``decide``."""

    person: User
    relationship: Relationship
    hidden: Hidden | None  # None: posts and lists are shown

    @property
    def found(self) -> bool:
        """False: answer as for a name nobody has."""
        return self.hidden not in ("blocked", "suspended")

    @property
    def content(self) -> bool:
        """Posts, the follower and following lists, a post's page and its live channel."""
        return self.hidden is None

    def require_found(self) -> Access:
        if not self.found:
            raise NotFound(NO_SUCH_PERSON)
        return self


def decide(person: User, relationship: Relationship) -> Access:
    """The decision, from how the two stand."""
    hidden: Hidden | None = None
    if relationship.blocked_by:
        hidden = "blocked"
    elif (
        person.suspended_at is not None or person.approval_pending_since is not None
    ) and not relationship.is_self:
        hidden = "suspended"
    elif relationship.blocking:
        hidden = "blocking"
    elif person.is_private and not relationship.can_see_posts_of_private:
        hidden = "private"
    return Access(person, relationship, hidden)
