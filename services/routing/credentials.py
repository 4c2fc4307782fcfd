"""Checking who signs in with the built-in store: login, password (argon2id) and TOTP code.

Five failures in a row lock the account for fifteen minutes; the refusal never says which of
the password and the code was wrong, nor that the account is locked (the password is checked
all the same). An attempt is counted before the slow check, atomically, so parallel attempts
cannot get past the limit; an unknown login costs the same argon2 check as a known one. A TOTP
code is accepted one 30-second step either side of now, and a step is used once per account:
a code seen (or replayed) a second time is refused. A password hash made with older
parameters is replaced with one made with the current ones.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2.exceptions import InvalidHashError, VerificationError

from services.common.mongo import Document
from services.routing.accounts import Account, Accounts
from services.routing.people import Person

log = logging.getLogger(__name__)

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
TOTP_STEP_SECONDS = 30
# Verified when the login is unknown, so that an unknown login takes as long as a known one.
_DUMMY_PASSWORD = "not-a-password-of-anyone"


class SignInRefused(Exception):
    """Wrong login, password or code, or a disabled or locked account: the form says none of
    these apart (not even whether the login exists)."""

    def __init__(self) -> None:
        super().__init__("sign-in refused")


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
    """Signs people in against the account store (one per app: `start` makes the hash checked
    for unknown logins once, off the event loop)."""

    accounts: Accounts
    dummy_hash: str

    @classmethod
    async def start(cls, accounts: Accounts) -> Credentials:
        """Credentials with their dummy hash made off the event loop."""
        return cls(accounts, await asyncio.to_thread(accounts.hasher.hash, _DUMMY_PASSWORD))

    async def sign_in(self, login: str, password: str, code: str) -> Person:
        """The person whose login, password and current code these are; SignInRefused."""
        now = self.accounts.clock()
        account = await self.accounts.by_login(login.strip().lower())
        if account is None or account.password_hash is None or account.totp_secret is None:
            await self._verify(self.dummy_hash, password)
            raise SignInRefused()
        attempt = await self._reserve(account, now)  # before the slow check: no parallel bypass
        password_ok = await self._verify(account.password_hash, password)
        step = totp_step(account.totp_secret, code.strip(), now)
        if attempt is None:
            log.info("sign-in refused: account locked", extra={"account_id": account.account_id})
            raise SignInRefused()
        usable = password_ok and step is not None and not account.disabled
        if step is None or not usable or not await self._claim(account, step, now):
            await self._failed(account, attempt, now)
            raise SignInRefused()
        if self.accounts.hasher.check_needs_rehash(account.password_hash):
            await self.accounts.set_password(account.account_id, password, end_sessions=False)
        return account.person

    async def _verify(self, password_hash: str, password: str) -> bool:
        """Whether `password` is the one hashed (off the event loop: argon2 takes a while)."""

        def verify() -> bool:
            try:
                return self.accounts.hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(verify)

    async def _reserve(self, account: Account, now: datetime) -> int | None:
        """Count this attempt as a failure until it succeeds, atomically and only while the
        account is not locked and has attempts left; the attempts counted, or None (locked)."""
        doc = await self.accounts.accounts.find_one_and_update(
            {"_id": account.account_id, "failed_attempts": {"$lt": MAX_FAILURES}, **_unlocked(now)},
            {"$inc": {"failed_attempts": 1}},
            return_document=True,
        )
        return None if doc is None else int(doc["failed_attempts"])

    async def _claim(self, account: Account, step: int, now: datetime) -> bool:
        """Use the code's step once (and clear the failures): False when it (or a later one)
        was used already, or the account was locked in the meantime."""
        result = await self.accounts.accounts.update_one(
            {
                "_id": account.account_id,
                "totp_step": {"$lt": step},
                "disabled": False,
                **_unlocked(now),
            },
            {"$set": {"totp_step": step, "failed_attempts": 0, "locked_until": None}},
        )
        return result.modified_count == 1

    async def _failed(self, account: Account, attempt: int, now: datetime) -> None:
        """The attempt (counted already) failed: the last one allowed locks the account."""
        if attempt < MAX_FAILURES:
            return
        await self.accounts.accounts.update_one(
            {"_id": account.account_id},
            {"$set": {"failed_attempts": 0, "locked_until": now + LOCKOUT}},
        )
        log.info("account locked", extra={"account_id": account.account_id})


def _unlocked(now: datetime) -> Document:
    """The criteria of an account not locked at `now`."""
    return {"$or": [{"locked_until": None}, {"locked_until": {"$lte": now}}]}
