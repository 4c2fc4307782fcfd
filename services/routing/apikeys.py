"""Per-agency API keys in routing's database: stored hashed, scoped, rotatable, revocable.

A key reads `inc_<key id>_<secret>`: the prefix makes a leaked key recognisable (secret
scanners, logs), the id makes the lookup one read by primary key, and only the SHA-256 of the
secret is stored. Lookups go through a short in-process cache: a key revoked on another replica
stops working there within `cache_seconds` (5 s by default), on this replica at once. The time
a key was last used is written at most once a minute per key, in one batched write per flush,
never once per request.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pymongo import ASCENDING, UpdateOne
from pymongo.errors import PyMongoError

from services.common.auth import hash_token
from services.common.clock import Clock
from services.common.mongo import Document, MongoDatabase

log = logging.getLogger(__name__)

KEY_PREFIX = "inc"
KEY_ID_HEX = 12  # 48 bits: an id, not a secret; the secret is separate
KEY_FORMAT = re.compile(r"inc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
CACHE_SECONDS = 5.0
CACHE_ENTRIES = 10_000
USAGE_EVERY = timedelta(minutes=1)
USAGE_FLUSH_SECONDS = 5.0


class Scope(StrEnum):
    """What a key may do on the agency API."""

    CASES_READ = "cases:read"  # list cases, read one
    CASES_WRITE = "cases:write"  # acknowledge, start, resolve, reject, add notes
    CASES_REASSIGN = "cases:reassign"  # send a case to another agency


ALL_SCOPES = frozenset(Scope)


class KeyState(StrEnum):
    """Where a key stands at a given time."""

    ACTIVE = "active"
    EXPIRING = "expiring"  # rotated: valid until its grace period ends
    EXPIRED = "expired"
    REVOKED = "revoked"


class ApiKey(BaseModel):
    """One stored key: never its secret, only the secret's SHA-256."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    key_id: str = Field(alias="_id")
    agency: str
    scopes: list[Scope]
    secret_sha256: str
    created_at: datetime
    created_by: str
    note: str | None = None
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    rotated_from: str | None = None
    replaced_by: str | None = None

    def state(self, now: datetime) -> KeyState:
        """Active, expiring (rotated, within its grace), expired or revoked at `now`."""
        if self.revoked_at is not None and self.revoked_at <= now:
            return KeyState.REVOKED
        if self.expires_at is not None:
            return KeyState.EXPIRING if now < self.expires_at else KeyState.EXPIRED
        return KeyState.ACTIVE

    def is_valid(self, now: datetime) -> bool:
        """Whether the key authenticates at `now`."""
        return self.state(now) in (KeyState.ACTIVE, KeyState.EXPIRING)

    def matches(self, secret: str) -> bool:
        """Whether `secret` is this key's (compared in constant time)."""
        return hmac.compare_digest(self.secret_sha256, hash_token(secret))

    def to_document(self) -> Document:
        """The document to store."""
        return self.model_dump(mode="python", by_alias=True)


@dataclass(frozen=True)
class IssuedKey:
    """A key just made: its record and the full key, shown once and never stored."""

    record: ApiKey
    key: str


class KeyProblem(Exception):
    """A key operation that cannot be done (unknown id, already revoked or expired)."""


def looks_like_key(token: str) -> bool:
    """Whether a bearer token has an API key's form (a ROUTING_TOKENS token never has)."""
    return KEY_FORMAT.fullmatch(token) is not None


def parse_key(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, or None."""
    match = KEY_FORMAT.fullmatch(token)
    return (match.group(1), match.group(2)) if match else None


def new_key(
    agency: str,
    scopes: Iterable[Scope],
    *,
    now: datetime,
    created_by: str,
    note: str | None = None,
    rotated_from: str | None = None,
) -> IssuedKey:
    """A fresh key (random id and 256-bit secret) and the record that stores its hash."""
    key_id, secret = secrets.token_hex(KEY_ID_HEX // 2), secrets.token_urlsafe(32)
    record = ApiKey(
        key_id=key_id,
        agency=agency,
        scopes=sorted(set(scopes)),
        secret_sha256=hash_token(secret),
        created_at=now,
        created_by=created_by,
        note=note,
        rotated_from=rotated_from,
    )
    return IssuedKey(record, f"{KEY_PREFIX}_{key_id}_{secret}")


def missing_scope(granted: Iterable[Scope], needed: Scope) -> Scope | None:
    """`needed` when `granted` lacks it, else None."""
    return None if needed in set(granted) else needed


def grace_end(key: ApiKey, now: datetime, grace: timedelta) -> datetime:
    """When a rotated key stops working: after `grace`, never later than it already would."""
    end = now + grace
    return min(end, key.expires_at) if key.expires_at is not None else end


class KeyCache:
    """Keys by id for `seconds` (monotonic time), unknown ids included; bounded in size."""

    def __init__(
        self,
        seconds: float = CACHE_SECONDS,
        *,
        entries: int = CACHE_ENTRIES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.entries = entries
        self.monotonic = monotonic
        self._items: dict[str, tuple[float, ApiKey | None]] = {}

    def get(self, key_id: str) -> tuple[bool, ApiKey | None]:
        """(found, key): found is False when the id is not cached or its entry is stale."""
        item = self._items.get(key_id)
        if item is None or self.monotonic() - item[0] >= self.seconds:
            return False, None
        return True, item[1]

    def put(self, key_id: str, key: ApiKey | None) -> None:
        """Remember what the database said about `key_id`; the oldest entry makes room."""
        self._items.pop(key_id, None)
        if len(self._items) >= self.entries:
            self._items.pop(next(iter(self._items)))
        self._items[key_id] = (self.monotonic(), key)

    def forget(self, key_id: str) -> None:
        """Drop `key_id` (it was just changed here)."""
        self._items.pop(key_id, None)


class UsageLog:
    """Which keys were used since the last flush, each at most once per `every` per replica."""

    def __init__(self, every: timedelta = USAGE_EVERY) -> None:
        self.every = every
        self._recorded: dict[str, datetime] = {}
        self.pending: dict[str, datetime] = {}

    def used(self, key: ApiKey, now: datetime) -> None:
        """Note a use of `key` at `now` if its last recorded use is older than `every`."""
        last = max(
            (t for t in (key.last_used_at, self._recorded.get(key.key_id)) if t is not None),
            default=None,
        )
        if last is None or now - last >= self.every:
            self._recorded[key.key_id] = now
            self.pending[key.key_id] = now

    def take(self) -> dict[str, datetime]:
        """The uses to write, cleared."""
        pending, self.pending = self.pending, {}
        if len(self._recorded) > CACHE_ENTRIES:
            self._recorded.clear()  # only an optimisation; the next use records again
        return pending


class ApiKeyStore:
    """The `api_keys` collection and the cached lookups the agency API makes."""

    def __init__(
        self,
        db: MongoDatabase,
        *,
        clock: Clock,
        cache_seconds: float = CACHE_SECONDS,
        flush_seconds: float = USAGE_FLUSH_SECONDS,
    ) -> None:
        self.keys = db.api_keys
        self.clock = clock
        self.flush_seconds = flush_seconds
        self.cache = KeyCache(cache_seconds)
        self.usage = UsageLog()

    async def ensure_indexes(self) -> None:
        """Listing by agency, newest first."""
        await self.keys.create_index([("agency", ASCENDING), ("created_at", ASCENDING)])

    async def authenticate(self, token: str) -> ApiKey | None:
        """The valid key a bearer token carries, or None; its use is noted for last_used_at."""
        parsed = parse_key(token)
        if parsed is None:
            return None
        key_id, secret = parsed
        found, key = self.cache.get(key_id)
        if not found:
            key = await self.get(key_id)
            self.cache.put(key_id, key)
        now = self.clock()
        if key is None or not key.matches(secret) or not key.is_valid(now):
            return None
        self.usage.used(key, now)
        return key

    async def get(self, key_id: str) -> ApiKey | None:
        """The stored key, or None (a record that does not read is logged and refused)."""
        document = await self.keys.find_one({"_id": key_id})
        if document is None:
            return None
        try:
            return ApiKey.model_validate(document)
        except ValidationError as exc:
            log.error("unreadable API key record", extra={"key_id": key_id, "error": str(exc)})
            return None

    async def create(
        self, agency: str, scopes: Iterable[Scope], *, created_by: str, note: str | None = None
    ) -> IssuedKey:
        """Store a new key; the returned `key` is the only copy of its secret."""
        issued = new_key(agency, scopes, now=self.clock(), created_by=created_by, note=note)
        await self.keys.insert_one(issued.record.to_document())
        return issued

    async def list(self, agency: str | None = None) -> list[ApiKey]:
        """Every key (of `agency`), oldest first."""
        query = {} if agency is None else {"agency": agency}
        documents = await self.keys.find(query).sort([("created_at", ASCENDING)]).to_list()
        return [ApiKey.model_validate(d) for d in documents]

    async def rotate(self, key_id: str, *, grace: timedelta, created_by: str) -> IssuedKey:
        """A new key with the same agency, scopes and note; the old one ends after `grace`."""
        now = self.clock()
        old = await self._usable(key_id, now)
        issued = new_key(
            old.agency,
            old.scopes,
            now=now,
            created_by=created_by,
            note=old.note,
            rotated_from=old.key_id,
        )
        await self.keys.insert_one(issued.record.to_document())
        ended = await self.keys.update_one(
            {"_id": key_id, "revoked_at": None, "replaced_by": None},
            {
                "$set": {
                    "expires_at": grace_end(old, now, grace),
                    "replaced_by": issued.record.key_id,
                }
            },
        )
        if ended.matched_count != 1:  # revoked or rotated meanwhile: the new key must not stay
            await self.keys.delete_one({"_id": issued.record.key_id})
            raise KeyProblem(f"key {key_id} changed while rotating it; look at it and try again")
        self.cache.forget(key_id)
        return issued

    async def revoke(self, key_id: str, *, by: str) -> ApiKey:
        """End a key at once (on other replicas within the cache's seconds)."""
        now = self.clock()
        await self._usable(key_id, now, revoking=True)
        await self.keys.update_one(
            {"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": now, "revoked_by": by}}
        )
        self.cache.forget(key_id)
        key = await self.get(key_id)
        assert key is not None
        return key

    async def _usable(self, key_id: str, now: datetime, *, revoking: bool = False) -> ApiKey:
        key = await self.get(key_id)
        if key is None:
            raise KeyProblem(f"no key {key_id}")
        state = key.state(now)
        if state is KeyState.REVOKED:
            raise KeyProblem(f"key {key_id} was already revoked ({key.revoked_at:%Y-%m-%d %H:%M})")
        if not revoking and key.replaced_by is not None:
            raise KeyProblem(
                f"key {key_id} was already rotated; its successor is {key.replaced_by}"
            )
        if not revoking and state is KeyState.EXPIRED:
            raise KeyProblem(f"key {key_id} has expired")
        return key

    async def flush_usage(self) -> None:
        """Write the pending last-used times in one command (never moving one back)."""
        pending = self.usage.take()
        if not pending:
            return
        try:
            await self.keys.bulk_write(
                [
                    UpdateOne({"_id": key_id}, {"$max": {"last_used_at": at}})
                    for key_id, at in pending.items()
                ],
                ordered=False,
            )
        except PyMongoError:
            self.usage.pending = pending | self.usage.pending  # tried again on the next flush
            raise

    async def record_usage(self) -> None:
        """The loop that flushes last-used times every few seconds (run by the supervisor)."""
        while True:
            await asyncio.sleep(self.flush_seconds)
            await self.flush_usage()
