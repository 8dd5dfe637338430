"""Two-factor sign-in: TOTP codes from an authenticator app, and ten single-use recovery codes.

- Setting up keeps a new secret aside (``totp_pending_secret``) until a code made from it is
  typed back: nobody turns on a second factor their phone cannot produce.
- A code is accepted for the current 30-second step or the one either side (clock drift), and
  each step only once: ``totp_last_step`` moves forward in the same UPDATE that accepts it, so
  a code seen over someone's shoulder, or sent twice, does not work again.
- Recovery codes are 50 random bits each, shown once and stored as SHA-256 (random codes need
  no slow hash; a slow hash protects guessable passwords).
- Signing in with 2FA on is two steps. A right password gives a sign-in token (an
  AccountToken, five minutes, single use, bound to the password), kept by the browser in a
  cookie; the code then turns it into a session. Wrong codes are login failures, counted by
  the same throttle as wrong passwords.
- The QR code is drawn here as SVG (segno), shown as an ``<img>`` data URL: no script, no
  inline style, nothing from another host.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import delete, func, select, update

from tornagram.accounts import throttle, tokens
from tornagram.accounts.models import RecoveryCode, TokenPurpose, User
from tornagram.accounts.service import NewSession
from tornagram.db.base import utcnow
from tornagram.errors import InvalidInput, UserError

ISSUER = "Tornagram"
RECOVERY_CODES = 10
# Lower-case letters and digits people will not confuse (no 0/o, 1/l).
RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
RECOVERY_CODE_CHARS = 10  # 50 bits
TOTP_STEP_SECS = 30
# Steps either side of now that still count: a phone's clock a little off, a slow typist.
TOTP_DRIFT_STEPS = 1
CODE_MAX_CHARS = 40

WRONG_CODE_MESSAGE = (
    "That code is not right. Use the newest one your app shows, or a recovery code."
)
SIGN_IN_EXPIRED_MESSAGE = "That sign-in took too long. Please enter your password again."


@dataclass(frozen=True, slots=True)
class Setup:
    secret: str
    uri: str
    qr_data_uri: str


def _code_hash(code: str) -> str:
    return hashlib.sha256(("recovery:" + code).encode()).hexdigest()


def _clean(code: str) -> str:
    return re.sub(r"[\s-]", "", (code or "")[:CODE_MAX_CHARS]).lower()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_CHARS))
    return raw[:5] + "-" + raw[5:]


def _qr_data_uri(uri: str) -> str:
    # A dark module on a light quiet zone reads in both colour schemes.
    return segno.make(uri, error="m").svg_data_uri(scale=5, dark="#111", light="#fff", border=3)


class TwoFactorService:
    def __init__(self, db, ids, hasher, accounts, *, clock=time.time) -> None:
        self.db = db
        self.ids = ids
        self.hasher = hasher
        self.accounts = accounts
        self.clock = clock

    # -- setting up ----------------------------------------------------------------------------

    async def setup(self, user: User) -> Setup:
        """The secret being set up (made on first call) with its QR code."""
        secret = user.totp_pending_secret
        if secret is None:
            secret = pyotp.random_base32()
            async with self.db.write() as session:
                await session.execute(
                    update(User).where(User.id == user.id).values(totp_pending_secret=secret)
                )
            user.totp_pending_secret = secret
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
        # Drawing the code is CPU work: off the loop.
        qr = await asyncio.get_running_loop().run_in_executor(None, _qr_data_uri, uri)
        return Setup(secret, uri, qr)

    async def enable(self, user: User, code: str, *, this_session_id: int | None) -> list[str]:
        """Turns 2FA on once ``code`` is right for the pending secret; returns the recovery
        codes, the only time they are shown."""
        secret = user.totp_pending_secret
        if user.two_factor_enabled:
            raise InvalidInput(UserError("Two-factor sign-in is already on.", "code"))
        step = self._matching_step(secret, code) if secret else None
        if step is None:
            raise InvalidInput(UserError(WRONG_CODE_MESSAGE, "code"))
        codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
        async with self.db.write() as session:
            done = await session.execute(
                update(User)
                .where(User.id == user.id, User.totp_pending_secret == secret)
                .values(totp_secret=secret, totp_pending_secret=None, totp_last_step=step)
            )
            if done.rowcount != 1:
                raise InvalidInput(UserError(WRONG_CODE_MESSAGE, "code"))
            self._store_codes(session, user.id, codes)
            if this_session_id is not None:
                # The person at this device has just shown the second factor.
                await self.accounts.mark_two_factor(session, user.id, this_session_id)
        user.totp_secret, user.totp_pending_secret, user.totp_last_step = secret, None, step
        return codes

    def _store_codes(self, session, user_id: int, codes: list[str]) -> None:
        for code in codes:
            session.add(
                RecoveryCode(
                    id=self.ids.next_id(), user_id=user_id, code_hash=_code_hash(_clean(code))
                )
            )

    async def recovery_codes_left(self, user: User) -> int:
        async with self.db.read() as session:
            return (
                await session.execute(
                    select(func.count()).where(
                        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
                    )
                )
            ).scalar_one()

    async def regenerate_codes(self, user: User, code: str, *, ip: str = "") -> list[str]:
        """New recovery codes for a code from the app; the old ones stop working."""
        if not user.two_factor_enabled:
            raise InvalidInput(UserError("Two-factor sign-in is off.", "code"))
        if not await self.check_code(user, code, ip=ip, totp_only=True):
            raise InvalidInput(UserError(WRONG_CODE_MESSAGE, "code"))
        codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
        async with self.db.write() as session:
            await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
            self._store_codes(session, user.id, codes)
        return codes

    async def disable(self, user: User, password: str, code: str, *, ip: str = "") -> None:
        if not user.two_factor_enabled:
            return
        errors: dict[str, UserError] = {}
        ok, _ = await self.hasher.verify(user.password_hash, (password or "")[:1024])
        if not ok:
            errors["password"] = UserError("Your password is not right.", "password")
        elif not await self.check_code(user, code, ip=ip):
            errors["code"] = UserError(WRONG_CODE_MESSAGE, "code")
        if errors:
            raise InvalidInput(errors)
        async with self.db.write() as session:
            await session.execute(
                update(User)
                .where(User.id == user.id)
                .values(totp_secret=None, totp_pending_secret=None, totp_last_step=0)
            )
            await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        user.totp_secret = user.totp_pending_secret = None

    # -- codes ---------------------------------------------------------------------------------

    def _matching_step(self, secret: str, code: str) -> int | None:
        code = _clean(code)
        if not re.fullmatch(r"[0-9]{6}", code):
            return None
        totp = pyotp.TOTP(secret)
        now_step = int(self.clock()) // TOTP_STEP_SECS
        for step in range(now_step - TOTP_DRIFT_STEPS, now_step + TOTP_DRIFT_STEPS + 1):
            if secrets.compare_digest(totp.generate_otp(step), code):
                return step
        return None

    async def _accept_totp(self, user: User, code: str) -> bool:
        step = self._matching_step(user.totp_secret, code) if user.totp_secret else None
        if step is None:
            return False
        async with self.db.write() as session:
            # Forward only: this step, or an earlier one, was used already -> a replay.
            moved = await session.execute(
                update(User)
                .where(User.id == user.id, User.totp_last_step < step)
                .values(totp_last_step=step)
            )
        if moved.rowcount != 1:
            return False
        user.totp_last_step = step
        return True

    async def _accept_recovery_code(self, user: User, code: str) -> bool:
        cleaned = _clean(code)
        if len(cleaned) != RECOVERY_CODE_CHARS:
            return False
        async with self.db.write() as session:
            used = await session.execute(
                update(RecoveryCode)
                .where(
                    RecoveryCode.user_id == user.id,
                    RecoveryCode.code_hash == _code_hash(cleaned),
                    RecoveryCode.used_at.is_(None),
                )
                .values(used_at=utcnow())
            )
        return used.rowcount == 1

    async def accept_code(self, user: User, code: str) -> bool:
        """A TOTP code or an unused recovery code; either works once."""
        return await self._accept_totp(user, code) or await self._accept_recovery_code(user, code)

    async def check_code(self, user: User, code: str, *, ip: str, totp_only: bool = False) -> bool:
        """``accept_code`` for a signed-in person confirming an action (turning 2FA off, new
        recovery codes, deleting the account). Wrong codes count as failed logins, as at
        sign-in, so a stolen session cannot guess its way past the second factor; raises
        TooManyRequests once the throttle says so."""
        account_key = throttle.account_key(user.id, "")
        async with self.db.read() as session:
            await throttle.check_login_allowed(session, account_key, ip)
        ok = await (self._accept_totp(user, code) if totp_only else self.accept_code(user, code))
        if not ok:
            async with self.db.write() as session:
                await throttle.record_failure(session, self.ids, account_key, ip)
        return ok

    # -- signing in ----------------------------------------------------------------------------

    async def pending_sign_in(self, token: str | None) -> User | None:
        """Whose sign-in a browser's token is halfway through, or None if it is dead."""
        try:
            async with self.db.read() as session:
                row, user = await tokens.find(session, token, TokenPurpose.SIGN_IN)
        except tokens.BadLink:
            return None
        if row.binding != tokens.password_stamp(user.password_hash) or not user.two_factor_enabled:
            return None
        return user

    async def finish_sign_in(self, token: str | None, code: str, *, ip: str, user_agent: str):
        """The session (a NewSession) for a right code; InvalidInput for a wrong one (counted
        as a failed login), TooManyRequests when throttled, BadLink when the step is dead."""
        user = await self.pending_sign_in(token)
        if user is None:
            raise tokens.BadLink()
        account_key = throttle.account_key(user.id, "")
        async with self.db.read() as session:
            await throttle.check_login_allowed(session, account_key, ip)
        if not await self.accept_code(user, code):
            async with self.db.write() as session:
                await throttle.record_failure(session, self.ids, account_key, ip)
            raise InvalidInput(UserError(WRONG_CODE_MESSAGE, "code"))
        async with self.db.write() as session:
            row, _ = await tokens.find(session, token, TokenPurpose.SIGN_IN)
            await tokens.use(session, row)
            await throttle.clear_account_failures(session, account_key)
            session_token = await self.accounts.new_session(
                session, user, ip, user_agent, two_factor=True
            )
        return NewSession(user, session_token)
