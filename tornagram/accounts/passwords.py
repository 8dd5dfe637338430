"""argon2id hashing, always off the event loop, a bounded number at a time."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tornagram.config import PasswordHashParams


class PasswordHasher:
    """argon2-cffi releases the GIL while hashing, so threads give real parallelism and the
    loop stays free. ``max_threads`` bounds how much CPU and memory logins may take at once;
    further logins queue in the executor rather than on the loop."""

    def __init__(self, params: PasswordHashParams, *, max_threads: int = 2) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_cost_kib,
            parallelism=params.parallelism,
            type=argon2.Type.ID,
        )
        self._executor = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="argon2")
        # A real hash to verify against when the login names nobody, so that an unknown user
        # costs the same as a wrong password and timing does not reveal who has an account.
        self._dummy_hash = self._hasher.hash("not the password of anyone at all")
        self.in_flight = 0

    async def _run(self, fn, *args):
        self.in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            self.in_flight -= 1

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> tuple[bool, bool]:
        """(matches, needs_rehash): rehash when our parameters have grown since it was made."""
        return await self._run(self._verify_sync, password_hash, password)

    async def dummy_verify(self, password: str) -> None:
        await self._run(self._verify_sync, self._dummy_hash, password)

    def _verify_sync(self, password_hash: str, password: str) -> tuple[bool, bool]:
        try:
            self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False, False
        return True, self._hasher.check_needs_rehash(password_hash)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
