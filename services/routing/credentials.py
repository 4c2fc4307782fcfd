"""Checking who signs in with the built-in store: login, password (argon2id) and TOTP code.

Five failures in a row lock the account for fifteen minutes; the refusal never says which of
the password and the code was wrong. A TOTP code is accepted one 30-second step either side of
now, and a step is used once per account: a code seen (or replayed) a second time is refused.
A password hash made with older parameters is replaced with one made with the current ones.
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2.exceptions import InvalidHashError, VerificationError

from services.routing.accounts import Account, Accounts
from services.routing.people import Person

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
TOTP_STEP_SECONDS = 30
# Verified when the login is unknown, so that an unknown login takes as long as a known one.
_DUMMY_PASSWORD = "not-a-password-of-anyone"


class SignInRefused(Exception):
    """Wrong login, password or code, or a disabled or locked account: the form says only
    whether the account is locked (and until when)."""

    def __init__(self, locked_until: datetime | None = None) -> None:
        super().__init__("sign-in refused")
        self.locked_until = locked_until


def totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The 30-second step (within one of now) whose code `code` is, or None."""
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS)
    current = int(now.timestamp()) // TOTP_STEP_SECONDS
    matched = None
    for step in (current - 1, current, current + 1):  # every one compared: constant time
        if hmac.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            matched = step
    return matched


@dataclass
class Credentials:
    """Signs people in against the account store."""

    accounts: Accounts
    _dummy_hash: str | None = None

    async def sign_in(self, login: str, password: str, code: str) -> Person:
        """The person whose login, password and current code these are; SignInRefused."""
        now = self.accounts.clock()
        account = await self.accounts.by_login(login.strip().lower())
        if account is None or account.password_hash is None or account.totp_secret is None:
            await self._verify(self._dummy(), password)
            raise SignInRefused()
        if account.locked_until is not None and account.locked_until > now:
            raise SignInRefused(account.locked_until)
        password_ok = await self._verify(account.password_hash, password)
        step = totp_step(account.totp_secret, code.strip(), now)
        if account.disabled:
            raise SignInRefused()
        if not password_ok or step is None or not await self._claim(account, step):
            raise SignInRefused(await self._failed(account, now))
        if self.accounts.hasher.check_needs_rehash(account.password_hash):
            await self.accounts.set_password(account.account_id, password)
        return account.person

    async def _verify(self, password_hash: str, password: str) -> bool:
        """Whether `password` is the one hashed (off the event loop: argon2 takes a while)."""

        def verify() -> bool:
            try:
                return self.accounts.hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(verify)

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.accounts.hasher.hash(_DUMMY_PASSWORD)
        return self._dummy_hash

    async def _claim(self, account: Account, step: int) -> bool:
        """Use the code's step once: False when it (or a later one) was used already."""
        result = await self.accounts.accounts.update_one(
            {"_id": account.account_id, "totp_step": {"$lt": step}, "disabled": False},
            {"$set": {"totp_step": step, "failed_attempts": 0, "locked_until": None}},
        )
        return result.modified_count == 1

    async def _failed(self, account: Account, now: datetime) -> datetime | None:
        """Count a failure; the lockout's end when this one locks the account."""
        doc = await self.accounts.accounts.find_one_and_update(
            {"_id": account.account_id},
            {"$inc": {"failed_attempts": 1}},
            return_document=True,
        )
        if doc is None or int(doc.get("failed_attempts") or 0) < MAX_FAILURES:
            return None
        until = now + LOCKOUT
        await self.accounts.accounts.update_one(
            {"_id": account.account_id},
            {"$set": {"failed_attempts": 0, "locked_until": until}},
        )
        return until
