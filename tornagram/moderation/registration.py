"""Who may make an account, by the site's registration mode (moderation/site.py):

| mode | sign-up |
|---|---|
| open | anyone |
| approval | anyone answers the site's question; the account waits for a moderator |
| invite | only with a valid invite link |
| closed | nobody: the page says so and a post is refused |

An invite link works in every mode but closed, and an invited person does not wait for
approval. Everyone who signs up accepts the site's rules, when it has any. Sign-ups are
limited per address ("signup-ip" in ratelimit.py, sized by the settings), counted once the
form is right, so a person correcting a typo is not held back.
"""

from __future__ import annotations

from tornagram.accounts.service import NewSession, sign_up_errors
from tornagram.errors import Forbidden, InvalidInput, UserError
from tornagram.moderation.models import RegistrationMode

ANSWER_MAX_CHARS = 500
SIGNUP_TOO_FAST_MESSAGE = (
    "Too many accounts were made from your network. Try again in %(secs)d seconds."
)
CLOSED_MESSAGE = "This site is not taking new accounts."
INVITE_ONLY_MESSAGE = "This site takes new accounts by invitation only."


class Registration:
    def __init__(self, accounts, site, invites, limiter) -> None:
        self.accounts = accounts
        self.site = site
        self.invites = invites
        self.limiter = limiter

    async def refusal(self, invite_code: str = "") -> UserError | None:
        """Why the sign-up page cannot make an account now, if it cannot: closed, invite-only
        without a link, or a link that does not work (its own message)."""
        info = await self.site.current()
        if info.registration == RegistrationMode.CLOSED:
            return Forbidden(CLOSED_MESSAGE)
        if invite_code:
            try:
                await self.invites.check(invite_code)
            except UserError as exc:
                return exc
            return None
        if info.registration == RegistrationMode.INVITE:
            return Forbidden(INVITE_ONLY_MESSAGE)
        return None

    async def sign_up(
        self, *, username: str, email: str, password: str, accepted_rules: bool,
        answer: str = "", invite_code: str = "", ip: str = "", user_agent: str = "",
    ) -> NewSession:  # fmt: skip
        problem = await self.refusal(invite_code)
        if problem is not None:
            raise problem
        info = await self.site.current()
        invite = await self.invites.check(invite_code) if invite_code else None
        pending = info.registration == RegistrationMode.APPROVAL and invite is None
        errors = sign_up_errors(username, email, password)
        if info.rules and not accepted_rules:
            errors["accept_rules"] = UserError(
                "Read the rules and tick the box to accept them.", "accept_rules"
            )
        answer = " ".join((answer or "").split()) if pending else ""
        if pending and info.approval_question and not answer:
            errors["answer"] = UserError("Answer the question to ask for an account.", "answer")
        elif len(answer) > ANSWER_MAX_CHARS:
            errors["answer"] = UserError(
                "Keep the answer under %(max)d characters.", "answer", max=ANSWER_MAX_CHARS
            )
        if errors:
            raise InvalidInput(errors)
        self.limiter.check("signup-ip", ip, SIGNUP_TOO_FAST_MESSAGE)

        async def use_invite(session) -> None:
            await self.invites.use(session, invite.id)

        return await self.accounts.sign_up(
            username, email, password, ip=ip, user_agent=user_agent, pending=pending,
            answer=answer, also=use_invite if invite is not None else None,
        )  # fmt: skip
