"""Console sessions, server-side: a random id in the cookie, its SHA-256 in `staff_sessions`.

A session document holds the account id, a snapshot of the person, a CSRF token bound to the
session, when it was created and last seen, and its absolute expiry. A session ends at its
expiry (`ROUTING_SESSION_HOURS`), after `ROUTING_SESSION_IDLE_MINUTES` without a request, on
sign-out (the document is deleted: a replayed cookie then finds nothing) and as soon as its
account is disabled (`Accounts.set_disabled` deletes every session of the account). A TTL
index on the expiry lets the database drop dead sessions.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler
from pymongo import ASCENDING

from services.common.clock import Clock
from services.common.csrf import equal_secrets
from services.common.mongo import Document, MongoDatabase
from services.routing.people import Person, Role

SESSION_COOKIE = "console_session"
SESSIONS_COLLECTION = "staff_sessions"
TOUCH_EVERY = timedelta(minutes=1)  # last-seen is written at most this often


@dataclass(frozen=True)
class Session:
    """Who is signed in, and the value their forms' CSRF tokens are bound to."""

    principal: str  # the case-access unit ("" for an administrator, who sees no cases)
    cookie: str
    person: Person | None = None
    csrf: str = ""


def session_key(session_id: str) -> str:
    """What is stored of a session id: its SHA-256 (a database leak gives no cookie)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class Sessions:
    """Starts, checks and ends server-side sessions, and checks their CSRF tokens."""

    def __init__(
        self,
        db: MongoDatabase,
        *,
        clock: Clock,
        lifetime: timedelta = timedelta(hours=10),
        idle: timedelta = timedelta(minutes=30),
    ) -> None:
        self.sessions = db[SESSIONS_COLLECTION]
        self.clock = clock
        self.lifetime = lifetime
        self.idle = idle

    async def ensure_indexes(self) -> None:
        """Expired sessions dropped by the database; an account's sessions found at once."""
        await self.sessions.create_index([("expires_at", ASCENDING)], expireAfterSeconds=0)
        await self.sessions.create_index([("account_id", ASCENDING)])

    async def start(self, person: Person) -> str:
        """A new session for `person`; the session id (the cookie's value), never stored."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        await self.sessions.insert_one(
            {
                "_id": session_key(session_id),
                "account_id": person.account_id,
                "person": person_document(person),
                "csrf": secrets.token_hex(32),
                "created_at": now,
                "last_seen_at": now,
                "expires_at": now + self.lifetime,
            }
        )
        return session_id

    async def check(self, cookie: str | None, *, active: bool = True) -> Session | None:
        """The live session a cookie names (one read; last-seen written at most once a
        minute, and only for a request the person made: not `active` for the case list's
        polling), or None: unknown, ended, expired or idle too long."""
        if not cookie or not cookie.isascii() or len(cookie) > 128:
            return None
        key = session_key(cookie)
        doc = await self.sessions.find_one({"_id": key})
        now = self.clock()
        if doc is None or doc["expires_at"] <= now or doc["last_seen_at"] + self.idle <= now:
            return None
        if active and now - doc["last_seen_at"] >= TOUCH_EVERY:
            await self.sessions.update_one({"_id": key}, {"$set": {"last_seen_at": now}})
        person = person_of(doc["person"])
        return Session(person.principal or "", cookie, person, str(doc["csrf"]))

    async def end(self, cookie: str | None) -> None:
        """Sign-out: the session is deleted, so its cookie is worth nothing any more."""
        if cookie and cookie.isascii():
            await self.sessions.delete_one({"_id": session_key(cookie)})

    async def end_all(self, account_id: str) -> int:
        """End every session of an account (disabled); how many there were."""
        result = await self.sessions.delete_many({"account_id": account_id})
        return result.deleted_count

    def csrf_token(self, session: Session) -> str:
        """The token every form of this session carries."""
        return session.csrf

    def csrf_valid(self, session: Session, token: str | None) -> bool:
        """True when a submitted form's token belongs to this session."""
        return bool(session.csrf) and equal_secrets(session.csrf, token)


SESSIONS: web.AppKey[Sessions] = web.AppKey("console_sessions", Sessions)
SESSION: web.RequestKey[Session] = web.RequestKey("console_session", Session)


@web.middleware
async def console_sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read the session of a console request that carries a cookie (one read per request)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and request.path.startswith("/console") and SESSIONS in request.app:
        polled = bool(request.query.get("partial"))  # the case list refreshing itself
        session = await request.app[SESSIONS].check(cookie, active=not polled)
        if session is not None:
            request[SESSION] = session
    return await handler(request)


def current(request: web.Request) -> Session:
    """The signed-in session, or a redirect to the sign-in page."""
    session = request.get(SESSION)
    if session is None:
        raise web.HTTPSeeOther(f"/console/login?{urlencode({'next': request.path_qs})}")
    return session


def person_document(person: Person) -> Document:
    """A person as stored (in a session, an account)."""
    return {
        "account_id": person.account_id,
        "name": person.name,
        "role": person.role.value,
        "agency": person.agency,
        "scope_agencies": sorted(person.scope_agencies),
        "scope_provinces": sorted(person.scope_provinces),
        "via": person.via,
    }


def person_of(doc: Document) -> Person:
    """The person a stored document holds."""
    return Person(
        account_id=str(doc["account_id"]),
        name=str(doc["name"]),
        role=Role(doc["role"]),
        agency=doc.get("agency"),
        scope_agencies=frozenset(doc.get("scope_agencies") or ()),
        scope_provinces=frozenset(doc.get("scope_provinces") or ()),
        via=str(doc.get("via") or "password"),
    )
