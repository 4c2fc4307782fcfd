"""Test helpers: wait on a condition (never a fixed sleep); probe queues bound to the exchange."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import aio_pika
import pyotp
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pymongo import AsyncMongoClient
from pymongo.monitoring import CommandListener, CommandStartedEvent

from services.common.amqp import Topology, declare_exchanges
from services.common.clock import utcnow
from services.common.contracts import (
    AnyEvent,
    CaseEscalated,
    CaseStatus,
    Category,
    Contact,
    Platform,
    Priority,
    ReporterKind,
    ReportSubmitted,
    new_event_id,
    parse_event,
)
from services.common.mongo import Document, MongoDatabase
from services.common.processes import ROOT
from services.common.sealing import parse_key_ring
from services.routing.accounts import ACCOUNTS, Accounts, NewAccount
from services.routing.people import Person, Role

T = TypeVar("T")
FLUSH = "probe.flush"
# intake and routing share it (EVIDENCE_LINK_SECRET): routing signs evidence links, intake checks.
EVIDENCE_LINK_SECRET = "test-evidence-link-secret-0123456789"
# intake and routing share it too (CONTACT_KEYS): intake seals reporters' contacts, routing opens.
CONTACT_KEYS = "test1:" + "dGVzdC1jb250YWN0LWtleS0wMTIzNDU2Nzg5YWJjZGU"
TEST_KEY_RING = parse_key_ring(CONTACT_KEYS)
REPORTER_CONTACT = {"name": "Trần Thị B", "phone": "0905123456"}


class Commands(CommandListener):
    """Counts the commands a client sends, by name, and the statements of its writes."""

    def __init__(self) -> None:
        self.names: Counter[str] = Counter()
        self.statements: Counter[str] = Counter()

    def started(self, event: CommandStartedEvent) -> None:
        self.names[event.command_name] += 1
        for key in ("documents", "updates", "deletes"):
            self.statements[event.command_name] += len(event.command.get(key, ()))

    def succeeded(self, event: object) -> None:
        pass

    def failed(self, event: object) -> None:
        pass


@asynccontextmanager
async def counting_database(url: str, name: str) -> AsyncIterator[tuple[MongoDatabase, Commands]]:
    """The database `name` through a client of its own that counts the commands it sends."""
    commands = Commands()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        url, tz_aware=True, journal=True, event_listeners=[commands]
    )
    try:
        yield client[name], commands
    finally:
        await client.close()


async def wait_until(
    probe: Callable[[], Awaitable[T | None]],
    *,
    timeout: float = 15.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


class QueueProbe:
    """An exclusive queue bound to the exchange that collects every event it receives."""

    def __init__(self) -> None:
        self.messages: list[AbstractIncomingMessage] = []
        self.events: list[AnyEvent] = []
        self._flushed: set[str] = set()
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._queue_name = ""

    @classmethod
    async def bind(
        cls, connection: AbstractRobustConnection, topology: Topology, *keys: str
    ) -> QueueProbe:
        """Declare the exchanges, an exclusive auto-delete queue bound to `keys`, and consume it."""
        probe = cls()
        channel = await connection.channel()
        exchange = await declare_exchanges(channel, topology)
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        for key in keys:
            await queue.bind(exchange, routing_key=key)
        await queue.consume(probe._on_message, no_ack=True)
        probe._channel, probe._queue_name = channel, queue.name
        return probe

    async def flush(self, *, timeout: float = 15.0) -> list[AnyEvent]:
        """Wait until every message routed to the probe so far has arrived; return the events.

        A marker published after them lands behind them in the queue (FIFO), so once it
        arrives nothing routed earlier is still on its way.
        """
        assert self._channel is not None
        marker = new_event_id()
        await self._channel.default_exchange.publish(
            aio_pika.Message(b"", message_id=marker, type=FLUSH), routing_key=self._queue_name
        )

        async def arrived() -> bool:
            return marker in self._flushed

        await wait_until(arrived, timeout=timeout, what="the probe's flush marker")
        return self.events

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if message.type == FLUSH:
            self._flushed.add(str(message.message_id))
            return
        self.messages.append(message)
        self.events.append(parse_event(message.body))

    async def wait_for(self, count: int, *, timeout: float = 15.0) -> list[AnyEvent]:
        """Wait until at least `count` events arrived; return them."""

        async def enough() -> bool:
            return len(self.events) >= count

        await wait_until(enough, timeout=timeout, what=f"{count} events (have {len(self.events)})")
        return self.events


async def get_all(
    connection: AbstractRobustConnection, queue_name: str
) -> list[AbstractIncomingMessage]:
    """Drain a durable queue with basic.get, acking each message; return what was there."""
    channel = await connection.channel()
    queue = await channel.get_queue(queue_name, ensure=True)
    drained: list[AbstractIncomingMessage] = []
    while (message := await queue.get(fail=False, no_ack=True)) is not None:
        drained.append(message)
    await channel.close()
    return drained


def publish_raw(body: bytes, *, message_id: str = "poison") -> aio_pika.Message:
    """A persistent message with an arbitrary body (for poison-message tests)."""
    return aio_pika.Message(
        body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT, message_id=message_id
    )


@asynccontextmanager
async def post_endpoint(
    path: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> AsyncIterator[str]:
    """A local HTTP server (a webhook receiver, a platform's API) answering POST `path` with
    `handler`; yields the endpoint's URL and stops the server on exit."""
    app = web.Application()
    app.router.add_post(path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url(path))
    finally:
        await server.close()


async def start_client(app: web.Application, *, what: str) -> TestClient[Any, Any]:
    """Serve `app` on a free port and wait until its /readyz answers 200."""
    client: TestClient[Any, Any] = TestClient(TestServer(app))
    await client.start_server()

    async def ready() -> bool:
        return (await client.get("/readyz")).status == 200

    await wait_until(ready, what=f"{what} ready")
    return client


def report_event(
    n: int, category: Category = Category.SCAM_FRAUD, **fields: Any
) -> ReportSubmitted:
    """A `report.submitted` event as intake would publish it (fields overridable)."""
    unique = new_event_id()[:8]
    values: dict[str, Any] = {
        "event_id": new_event_id(),
        "occurred_at": datetime.now(UTC),
        "report_id": f"report-{n}-{unique}",
        "tracking_code": f"TC{n:04d}-AAAA-BBBB",
        "category": category,
        # A content of its own: reports of the same content join one case.
        "content_urls": [f"https://www.facebook.com/page.{n}.{unique}"],
        "platform": Platform.FACEBOOK,
        "description": "Trang giả mạo đòi chuyển tiền.",
        "province": "Đà Nẵng",
        "reporter_kind": ReporterKind.CITIZEN,
        "anonymous": False,
    }
    contact = fields.pop("contact", REPORTER_CONTACT)
    values.update(fields)
    if contact and "contact_sealed" not in values:  # sealed as intake seals it
        sealed = TEST_KEY_RING.seal_contact(Contact(**contact), values["report_id"])
        values["contact_sealed"] = sealed
    return ReportSubmitted(**values)


def escalation_event(
    *, escalated_at: datetime, overdue: timedelta, targets: list[str], **fields: Any
) -> CaseEscalated:
    """A `case.escalated` event as notify would publish it, `overdue` past its due time
    (fields overridable)."""
    due = escalated_at - overdue
    values: dict[str, Any] = {
        "event_id": new_event_id(),
        "occurred_at": escalated_at,
        "case_id": "case-42",
        "report_id": "r-42",
        "tracking_code": "K7QX-3MPA-WZ9D",
        "agency": "police",
        "category": Category.SCAM_FRAUD,
        "priority": Priority.URGENT,
        "status": CaseStatus.ASSIGNED,
        "level": 1,
        "due_at": due,
        "scheduled_at": due,
        "escalated_at": escalated_at,
        "overdue_by_seconds": int(overdue.total_seconds()),
        "targets": targets,
    }
    return CaseEscalated(**(values | fields))


def opened_contact(report: dict[str, Any], report_id: str) -> Contact | None:
    """The contact a stored report (intake's `report`, a case's `report` or entry) holds,
    opened with the tests' keys; None when it holds none."""
    sealed = report.get("contact_sealed")
    assert "contact" not in report, "a contact stored in clear"
    return None if sealed is None else TEST_KEY_RING.open_contact(sealed, report_id)


# Business calendars open around the clock: working time is calendar time. For tests that wait
# in real time for a deadline (set it as CALENDARS_FILE or RoutingSettings.calendars_file).
ALWAYS_OPEN_CALENDARS_FILE = ROOT / "scripts" / "demo" / "calendars.toml"
# A decision's public part as the agency API takes it (with a basis from the default policy).
REMOVED_DECISION = {
    "outcome": "removed_by_platform",
    "legal_basis": "nd147-2024-removal",
    "explanation": "Nền tảng đã gỡ nội dung theo yêu cầu của cơ quan chức năng.",
}
NO_VIOLATION_DECISION = {
    "outcome": "no_violation",
    "legal_basis": "khong-vi-pham",
    "explanation": "Nội dung không vi phạm quy định pháp luật.",
}


def resolve_body(note: str = "Đã yêu cầu nền tảng gỡ.", **fields: Any) -> dict[str, Any]:
    """A resolve body: the decision (changed by `fields`) and the internal note."""
    return {**REMOVED_DECISION, "note": note, **fields}


def reject_body(reason: str = "Không vi phạm.", **fields: Any) -> dict[str, Any]:
    """A reject body: the decision (changed by `fields`) and the internal reason."""
    return {**NO_VIOLATION_DECISION, "reason": reason, **fields}


# ---- staff accounts of the console ----

STAFF_PASSWORD = "mật-khẩu-thử-nghiệm-đủ-dài"
_staff_logins = itertools.count(1)


def staff_person(
    role: Role | str,
    agency: str | None = None,
    *,
    name: str | None = None,
    scope_agencies: Iterable[str] = (),
    scope_provinces: Iterable[str] = (),
) -> Person:
    """A person to store (the store makes the account id from the login)."""
    role = Role(role)
    return Person(
        account_id="",
        name=name or f"Cán bộ {role.value} {agency or ''}".strip(),
        role=role,
        agency=agency,
        scope_agencies=frozenset(scope_agencies),
        scope_provinces=frozenset(scope_provinces),
    )


async def create_staff_account(
    accounts: Accounts | MongoDatabase, person: Person, login: str | None = None
) -> NewAccount:
    """A built-in account stored directly (a fresh login unless one is given)."""
    store = accounts if isinstance(accounts, Accounts) else Accounts(accounts, clock=utcnow)
    login = login or f"{person.role.value}-{next(_staff_logins)}-{uuid.uuid4().hex[:6]}"
    return await store.create(person, login, STAFF_PASSWORD)


def totp_code(secret: str, step_offset: int = 0) -> str:
    """The account's TOTP code now (or `step_offset` 30-second steps away)."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=30 * step_offset))


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a console page."""
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match, "the page has a CSRF token"
    return match.group(1)


async def console_sign_in(
    client: TestClient[Any, Any],
    login: str,
    secret: str,
    *,
    password: str = STAFF_PASSWORD,
    code: str | None = None,
) -> Any:
    """Post the console's sign-in form (its CSRF token read from the page) with `code`, or the
    current code of `secret`; the reply."""
    page = await (await client.get("/console/login")).text()
    form = {"csrf_token": csrf_of(page), "login": login, "password": password}
    return await client.post(
        "/console/login", data={**form, "code": code or totp_code(secret)}, allow_redirects=False
    )


async def sign_in_as(client: TestClient[Any, Any], person: Person) -> tuple[str, NewAccount]:
    """A fresh account for `person` in the routing app behind `client`, signed in; the CSRF
    token of the page signed in to, and the account."""
    made = await create_staff_account(client.app[ACCOUNTS], person)
    reply = await console_sign_in(client, made.account.login, made.totp_secret)
    assert reply.status == 303, await reply.text()
    landing = await client.get(reply.headers["Location"])
    return csrf_of(await landing.text()), made


async def sign_in(
    client: TestClient[Any, Any], principal: str, role: Role | str | None = None
) -> str:
    """Sign in to the console as a new person of `principal` (an agency's officer, or a
    supervisor); the CSRF token of the first page after it."""
    if role is None:
        role = Role.SUPERVISOR if principal == "supervisor" else Role.OFFICER
    agency = None if Role(role) in (Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN) else principal
    csrf, _ = await sign_in_as(client, staff_person(role, agency))
    return csrf


class CountedReads:
    """A collection, noting how many documents the filter of each `find(...).sort(...)
    .limit(...).to_list()` matched: what a server that reads every match before it sorts and
    limits reads."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection
        self.matched: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    def find(self, query: dict[str, Any], *args: Any, **kwargs: Any) -> _CountedCursor:
        return _CountedCursor(self, query, self._collection.find(query, *args, **kwargs))


class _CountedCursor:
    def __init__(self, reads: CountedReads, query: dict[str, Any], cursor: Any) -> None:
        self._reads, self._query, self._cursor = reads, query, cursor

    def sort(self, *args: Any) -> _CountedCursor:
        self._cursor.sort(*args)
        return self

    def limit(self, n: int) -> _CountedCursor:
        self._cursor.limit(n)
        return self

    async def to_list(self) -> list[dict[str, Any]]:
        self._reads.matched.append(await self._reads.count_documents(self._query))
        documents: list[dict[str, Any]] = await self._cursor.to_list()
        return documents
