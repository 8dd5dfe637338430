"""Email addresses: confirming the one an account has, and changing it.

- Sign-up mails a link to confirm the address. With ``--require-email-confirmation`` an account
  may post photos only once its address is confirmed (photos/service.py asks
  ``User.email_confirmed_at``).
- Changing the address needs the password. The link goes to the new address and a notice to
  the old one; nothing changes until the link is followed, so a mistyped or stolen session
  cannot move an account away from its owner's mailbox unseen.
- Links are single-use tokens (accounts/tokens.py) valid for two days, bound to the address
  they were mailed to. Following one never signs anyone in.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tornagram.accounts import emails, tokens
from tornagram.accounts.models import TokenPurpose, User
from tornagram.accounts.recovery import site_link
from tornagram.accounts.validation import check_email
from tornagram.db.base import utcnow
from tornagram.errors import InvalidInput, UserError

log = logging.getLogger(__name__)

CONFIRM_VALID_FOR = timedelta(days=2)
ADDRESS_TAKEN_MESSAGE = "An account with that email already exists."
SAME_ADDRESS_MESSAGE = "That is already your address."


class AddressService:
    def __init__(self, db, ids, hasher, mailer, settings) -> None:
        self.db = db
        self.ids = ids
        self.hasher = hasher
        self.mailer = mailer
        self.settings = settings

    def _link(self, token: str) -> str:
        return site_link(self.settings, "/confirm-email", token=token)

    async def send_confirmation(self, user: User, *, locale: str | None) -> None:
        """A link to confirm the address the account has now."""
        async with self.db.write() as session:
            await tokens.void_all(session, user.id, TokenPurpose.CONFIRM_EMAIL)
            token = tokens.issue(
                session,
                self.ids,
                user.id,
                TokenPurpose.CONFIRM_EMAIL,
                CONFIRM_VALID_FOR,
                binding=user.email,
            )
        await self.mailer.send(
            emails.compose(
                emails.CONFIRM_EMAIL,
                user.email,
                user.locale or locale,
                url=self._link(token),
                name=user.name,
                username=user.username,
                email=user.email,
            )
        )

    async def request_change(
        self, user: User, new_email: str, password: str, *, locale: str | None
    ) -> str:
        """Mails the link to ``new_email`` and a notice to the current address; returns the
        new address as it will be stored."""
        errors: dict[str, UserError] = {}
        try:
            email, key = check_email(new_email)
        except UserError as exc:
            errors["email"] = exc
        ok, _ = await self.hasher.verify(user.password_hash, (password or "")[:1024])
        if not ok:
            errors["password"] = UserError("Your password is not right.", "password")
        if errors:
            raise InvalidInput(errors)
        if key == user.email_key:
            raise InvalidInput(UserError(SAME_ADDRESS_MESSAGE, "email"))
        async with self.db.write() as session:
            taken = await session.scalar(select(User.id).where(User.email_key == key))
            if taken is not None:
                raise InvalidInput(UserError(ADDRESS_TAKEN_MESSAGE, "email"))
            # One change at a time: an earlier link (to any address) stops working.
            await tokens.void_all(session, user.id, TokenPurpose.CONFIRM_EMAIL)
            token = tokens.issue(
                session,
                self.ids,
                user.id,
                TokenPurpose.CONFIRM_EMAIL,
                CONFIRM_VALID_FOR,
                binding=email,
            )
        language = user.locale or locale
        await self.mailer.send(
            emails.compose(
                emails.CONFIRM_EMAIL,
                email,
                language,
                url=self._link(token),
                name=user.name,
                username=user.username,
                email=email,
            )
        )
        await self.mailer.send(
            emails.compose(
                emails.EMAIL_CHANGING,
                user.email,
                language,
                url=site_link(self.settings, "/forgot"),
                name=user.name,
                username=user.username,
                email=email,
            )
        )
        log.info("email change asked for user %s", user.id)
        return email

    async def check_link(self, token: str | None) -> tuple[User, str]:
        """The account and the address a confirmation link is for, or BadLink."""
        async with self.db.read() as session:
            row, user = await tokens.find(session, token, TokenPurpose.CONFIRM_EMAIL)
        return user, row.binding

    async def confirm(self, token: str | None) -> tuple[User, str]:
        try:
            async with self.db.write() as session:
                row, user = await tokens.find(session, token, TokenPurpose.CONFIRM_EMAIL)
                await tokens.use(session, row)
                address = row.binding
                await session.execute(
                    update(User)
                    .where(User.id == user.id)
                    .values(email=address, email_key=address.lower(), email_confirmed_at=utcnow())
                )
        except IntegrityError:
            # Another account took the address after the link was sent.
            raise InvalidInput(UserError(ADDRESS_TAKEN_MESSAGE, "email")) from None
        return user, address
