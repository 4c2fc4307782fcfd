"""Staff sign-in holding up under abuse: a scoped supervisor merges within their scope only,
parallel guesses do not get past the lockout, unknown logins cost what known ones do, sign-in
is throttled per address, sessions end when what they were started with changes, auditors do
not read sensitive cases, and the case list's polling does not keep a session alive."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from datetime import timedelta
from typing import Any, Literal

import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher

from services.common.clock import utcnow
from services.common.contracts import Category
from services.common.mongo import MongoDatabase
from services.routing.accounts import ACCOUNTS, Accounts
from services.routing.credentials import MAX_FAILURES, Credentials, SignInRefused
from services.routing.people import Person, Role
from services.routing.settings import RoutingSettings
from tests.helpers import (
    STAFF_PASSWORD,
    console_sign_in,
    create_staff_account,
    sign_in_as,
    staff_person,
    totp_code,
)
from tests.integration.routing.conftest import Reporter, case_of, start_routing

pytestmark = pytest.mark.integration
Client = TestClient[Any, Any]
WAIT_SECONDS = 30


def cookie_of(client: Client) -> str:
    return next(c.value for c in client.session.cookie_jar if c.key == "console_session")


def key_of(cookie: str) -> dict[str, str]:
    return {"_id": hashlib.sha256(cookie.encode()).hexdigest()}


async def status_with(client: Client, cookie: str, path: str = "/console/cases") -> int:
    """The status of a request carrying `cookie` alone (the client's jar emptied)."""
    client.session.cookie_jar.clear()
    reply = await client.get(
        path, headers={"Cookie": f"console_session={cookie}"}, allow_redirects=False
    )
    return reply.status


async def test_a_scoped_supervisor_cannot_merge_into_a_case_outside_their_scope(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    police = await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD))
    culture = await case_of(routing_db, await reporter.submit(Category.FALSE_INFORMATION))
    scoped = staff_person(Role.SUPERVISOR, scope_agencies=["culture_office"])
    csrf, _ = await sign_in_as(routing, scoped)
    merged = await routing.post(
        f"/console/cases/{culture['_id']}/merge",
        data={"csrf_token": csrf, "into": police["_id"], "reason": "same page"},
        allow_redirects=False,
    )
    assert merged.status == 409 and "into" in await merged.text()
    for case in (police, culture):
        stored = await routing_db.cases.find_one({"_id": case["_id"]})
        assert stored is not None and stored["version"] == case["version"]


class GatedHasher(PasswordHasher):
    """Wrong passwords wait in `verify` until the right one is checked: every guess is in
    flight at once."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.waiting = 0
        self.lock = threading.Lock()
        self.all_waiting = asyncio.Event()
        self.release = threading.Event()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        if password == STAFF_PASSWORD:
            self.release.set()
        else:
            with self.lock:
                self.waiting += 1
                if self.waiting == MAX_FAILURES:
                    self.loop.call_soon_threadsafe(self.all_waiting.set)
            self.release.wait(WAIT_SECONDS)
        return super().verify(hash, password)


async def test_parallel_guesses_do_not_get_past_the_lockout(routing_db: MongoDatabase) -> None:
    hasher = GatedHasher(asyncio.get_running_loop())
    accounts = Accounts(routing_db, clock=utcnow, hasher=hasher)
    made = await create_staff_account(accounts, staff_person("officer", "police"))
    credentials = await Credentials.start(accounts)
    login, code = made.account.login, totp_code(made.totp_secret)
    guesses = [
        asyncio.create_task(credentials.sign_in(login, f"sai-mật-khẩu-{n}", code))
        for n in range(MAX_FAILURES)
    ]
    try:
        async with asyncio.timeout(WAIT_SECONDS):  # every guess is past its lockout check
            await hasher.all_waiting.wait()
        with pytest.raises(SignInRefused):  # the right one, after five in flight
            await credentials.sign_in(login, STAFF_PASSWORD, code)
    finally:
        hasher.release.set()
    for refused in await asyncio.gather(*guesses, return_exceptions=True):
        assert isinstance(refused, SignInRefused)
    stored = await accounts.get(made.account.account_id)
    assert stored is not None and stored.locked_until is not None


class SpyHasher(PasswordHasher):
    """Records each hash and verify, and whether it ran on the event loop's thread."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, bool]] = []

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.calls.append(("hash", threading.current_thread() is threading.main_thread()))
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.calls.append(("verify", threading.current_thread() is threading.main_thread()))
        return super().verify(hash, password)


async def test_an_unknown_login_costs_one_verify_off_the_event_loop(
    routing_db: MongoDatabase,
) -> None:
    hasher = SpyHasher()
    accounts = Accounts(routing_db, clock=utcnow, hasher=hasher)
    credentials = await Credentials.start(accounts)
    assert hasher.calls == [("hash", False)]  # the dummy hash, once, off the loop
    hasher.calls.clear()
    for _ in range(2):
        with pytest.raises(SignInRefused):
            await credentials.sign_in("nobody-here", STAFF_PASSWORD, "123456")
    assert hasher.calls == [("verify", False), ("verify", False)]


async def test_a_locked_account_is_refused_like_a_wrong_password_and_sign_in_is_throttled(
    routing: Client, routing_settings: RoutingSettings
) -> None:
    made = await create_staff_account(routing.app[ACCOUNTS], staff_person("lead", "police"))
    login, secret = made.account.login, made.totp_secret
    wrong = await console_sign_in(routing, login, secret, password="không-phải-mật-khẩu")
    for _ in range(MAX_FAILURES - 1):
        await console_sign_in(routing, login, secret, password="không-phải-mật-khẩu")
    locked = await console_sign_in(routing, login, secret)  # right password and code
    assert locked.status == wrong.status == 401
    assert await locked.text() == await wrong.text()
    throttled = await start_routing(routing_settings.model_copy(update={"login_per_minute": 2}))
    try:
        replies = [await console_sign_in(throttled, login, secret, password="x") for _ in "abc"]
        assert [r.status for r in replies] == [401, 401, 429]
        assert 1 <= int(replies[2].headers["Retry-After"]) <= 60
        assert "địa chỉ này" in await replies[2].text()
    finally:
        await throttled.close()


async def test_sessions_end_when_the_password_or_totp_is_reset(routing: Client) -> None:
    accounts: Accounts = routing.app[ACCOUNTS]
    for reset in ("password", "totp"):
        _, made = await sign_in_as(routing, staff_person("officer", "police"))
        cookie = cookie_of(routing)
        assert await status_with(routing, cookie) == 200
        if reset == "password":
            await accounts.set_password(made.account.account_id, "một-mật-khẩu-mới-dài")
        else:
            await accounts.reset_totp(made.account.account_id)
        assert await status_with(routing, cookie) == 303, reset


async def test_an_oidc_persons_sessions_end_when_their_role_or_scope_changes(
    routing: Client,
) -> None:
    accounts: Accounts = routing.app[ACCOUNTS]
    sessions = accounts.sessions
    officer = Person("oidc:https://id.example|u-7", "Ngô Văn Bảy", Role.OFFICER, "police")
    assert await accounts.provision_external(officer) is not None
    kept = await sessions.start(officer)
    renamed = Person(officer.account_id, "Ngô Bảy", Role.OFFICER, "police")
    assert await accounts.provision_external(renamed) is not None
    assert await sessions.check(kept) is not None  # a new name only
    lead = Person(officer.account_id, "Ngô Bảy", Role.LEAD, "police")
    assert await accounts.provision_external(lead) is not None
    assert await sessions.check(kept) is None


async def test_an_auditor_does_not_see_sensitive_cases(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    sensitive = await case_of(routing_db, await reporter.submit(Category.MEMBER_MISCONDUCT))
    await sign_in_as(routing, staff_person(Role.SUPERVISOR))
    assert sensitive["tracking_code"] in await (await routing.get("/console/cases")).text()
    await sign_in_as(routing, staff_person(Role.AUDITOR))
    assert sensitive["tracking_code"] not in await (await routing.get("/console/cases")).text()
    assert (await routing.get(f"/console/cases/{sensitive['_id']}")).status == 404
    overview = await (await routing.get("/console/overview")).text()
    assert sensitive["tracking_code"] not in overview


async def test_polling_the_case_list_does_not_keep_a_session_alive(
    routing: Client, routing_db: MongoDatabase
) -> None:
    await sign_in_as(routing, staff_person("officer", "police"))
    key = key_of(cookie_of(routing))
    earlier = utcnow() - timedelta(minutes=5)
    await routing_db.staff_sessions.update_one(key, {"$set": {"last_seen_at": earlier}})
    assert (await routing.get("/console/cases?partial=1")).status == 200
    stored = await routing_db.staff_sessions.find_one(key)
    assert stored is not None and abs(stored["last_seen_at"] - earlier) < timedelta(seconds=1)
    assert (await routing.get("/console/cases")).status == 200
    stored = await routing_db.staff_sessions.find_one(key)
    assert stored is not None and stored["last_seen_at"] > earlier + timedelta(minutes=4)


async def test_signing_in_ends_the_browsers_earlier_session_and_pages_are_not_stored(
    routing: Client,
) -> None:
    await sign_in_as(routing, staff_person("officer", "police"))
    first = cookie_of(routing)
    await sign_in_as(routing, staff_person("officer", "culture_office"))
    listing = await routing.get("/console/cases", allow_redirects=False)
    assert listing.status == 200 and listing.headers["Cache-Control"] == "no-store"
    assert cookie_of(routing) != first and await status_with(routing, first) == 303
    assert (await routing.get("/console/login")).headers["Cache-Control"] == "no-store"
