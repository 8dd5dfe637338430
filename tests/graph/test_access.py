"""May this viewer see this person: the profile, its two lists, a post's page and the post's live
channel give one answer (graph/access.py), and it is the answer of the query rule that filters
feeds and search (graph/visibility.py)."""

from __future__ import annotations

from sqlalchemy import select

from tests.helpers import make_private, post_id_from, upload
from tornagram.accounts.models import User
from tornagram.errors import UserError
from tornagram.graph.visibility import can_see_author
from tornagram.realtime.access import authorize_subscribe
from tornagram.realtime.channels import post_channel

# case -> what the viewer gets: the profile, the follower and following lists, the photo page
# and the post's live channel. "content": shown with its posts or people; "hidden": the page is
# there without them; "404": as for a name or a post nobody has.
EXPECTED = {
    "public, signed out": ("content", "content", "content", 200, "ok"),
    "public, stranger": ("content", "content", "content", 200, "ok"),
    "private, signed out": ("hidden", "hidden", "hidden", 404, "refused"),
    "private, not following": ("hidden", "hidden", "hidden", 404, "refused"),
    "private, asked to follow": ("hidden", "hidden", "hidden", 404, "refused"),
    "private, following": ("content", "content", "content", 200, "ok"),
    "private, oneself": ("content", "content", "content", 200, "ok"),
    "blocked by the person": ("404", "404", "404", 404, "refused"),
    "blocking the person": ("hidden", "hidden", "hidden", 404, "refused"),
}


async def set_up(site, n: int, case: str, image_bytes):
    """The person ``o<n>``, who follows and is followed by ``f<n>`` and has one post; and a
    client for the viewer ``v<n>`` (None when signed out) standing with them as ``case`` says."""
    owner, fan = await site.user_client(f"o{n}"), await site.user_client(f"f{n}")
    await fan.post(f"/@o{n}/follow")
    await owner.post(f"/@f{n}/follow")
    post_id = post_id_from(await upload(owner, [("t.png", image_bytes("tiny.png"))]))
    viewer, name = site.client(), None
    if case == "private, oneself":
        viewer, name = owner, f"o{n}"
    elif "signed out" not in case:
        viewer, name = await site.user_client(f"v{n}"), f"v{n}"
    if case == "private, following":
        await viewer.post(f"/@o{n}/follow")
    if case.startswith("private"):
        await make_private(owner)
    if case == "private, asked to follow":
        await viewer.post(f"/@o{n}/follow")
    if case == "blocked by the person":
        await owner.post(f"/@v{n}/block")
    if case == "blocking the person":
        await viewer.post(f"/@o{n}/block")
    return viewer, name, post_id


def shown(response, fan: str) -> str:
    if response.status_code == 404:
        return "404"
    assert response.status_code == 200, response.status_code
    return "content" if f"/@{fan}" in response.text or "profile-grid" in response.text else "hidden"


async def observe(site, n: int, viewer, name: str | None, post_id: int):
    user = await site.ctx.accounts.by_username(name) if name else None
    try:
        await authorize_subscribe(site.ctx, user, post_channel(post_id))
        channel = "ok"
    except UserError:
        channel = "refused"
    answers = (
        shown(await viewer.get(f"/@o{n}"), f"f{n}"),
        shown(await viewer.get(f"/@o{n}/followers"), f"f{n}"),
        shown(await viewer.get(f"/@o{n}/following"), f"f{n}"),
        (await viewer.get(f"/p/{post_id}")).status_code,
        channel,
    )
    # The query rule over many rows says the same of this one.
    async with site.ctx.db.read() as session:
        rule = await session.scalar(
            select(User.id).where(User.username == f"o{n}", can_see_author(user.id if user else None))
        )
    return answers, rule is not None


async def test_every_surface_gives_the_one_answer(site, image_bytes):
    cases = list(EXPECTED)
    viewers = [await set_up(site, n, case, image_bytes) for n, case in enumerate(cases)]
    found = {}
    for n, (case, (viewer, name, post_id)) in enumerate(zip(cases, viewers, strict=True)):
        answers, rule = await observe(site, n, viewer, name, post_id)
        found[case] = answers
        assert rule == (answers[3] == 200), case
    assert found == EXPECTED


async def test_the_page_says_why_the_lists_are_empty(site, image_bytes):
    viewer, _, _ = await set_up(site, 0, "blocking the person", image_bytes)
    page = await viewer.get("/@o0/followers")
    assert "You blocked @o0." in page.text and "private" not in page.text
    viewer, _, _ = await set_up(site, 1, "private, not following", image_bytes)
    assert "This account is private." in (await viewer.get("/@o1/following")).text
