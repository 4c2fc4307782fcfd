"""Fixtures running routing in-process against the real broker and database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Publisher, Topology
from services.common.auth import hash_token
from services.common.contracts import Category, ReportSubmitted
from services.common.mongo import MongoDatabase, mongo_database
from services.intake.security import RateLimiter
from services.intake.settings import IntakeSettings
from services.routing.app import create_app
from services.routing.case import Case
from services.routing.settings import RoutingSettings
from tests.helpers import (
    CONTACT_KEYS,
    EVIDENCE_LINK_SECRET,
    report_event,
    start_client,
    wait_until,
)
from tests.integration.intake.conftest import start_intake

TOKENS = {
    "police": "tok-police",
    "culture_office": "tok-culture",
    "party_committee": "tok-party",
    "supervisor": "tok-super",
}


def auth(principal: str) -> dict[str, str]:
    """The Authorization header of a principal."""
    return {"Authorization": f"Bearer {TOKENS[principal]}"}


@pytest.fixture
def routing_settings(
    amqp_url: str, mongo_url: str, topology: Topology, db_name: str
) -> RoutingSettings:
    return RoutingSettings(
        amqp_url=amqp_url,
        mongo_url=mongo_url,
        mongo_db=db_name,
        topology_prefix=topology.prefix,
        outbox_poll_seconds=0.2,
        delivery_limit=3,
        tokens={hash_token(token): principal for principal, token in TOKENS.items()},
        evidence_link_secret=EVIDENCE_LINK_SECRET,
        contact_keys=CONTACT_KEYS,
    )


@pytest.fixture
async def intake(
    amqp_url: str, mongo_url: str, topology: Topology, db_name: str
) -> AsyncIterator[TestClient[Any, Any]]:
    """Intake beside routing: the same broker topology, its own database."""
    settings = IntakeSettings(
        amqp_url=amqp_url,
        mongo_url=mongo_url,
        mongo_db=f"{db_name}_intake",
        topology_prefix=topology.prefix,
        outbox_poll_seconds=0.2,
        evidence_link_secret=EVIDENCE_LINK_SECRET,
        contact_keys=CONTACT_KEYS,
        csrf_secret="test-secret-0123456789",
    )
    client = await start_intake(settings, rate_limiter=RateLimiter(per_minute=1e5, burst=10**4))
    yield client
    await client.close()


async def start_routing(settings: RoutingSettings) -> TestClient[Any, Any]:
    """A routing app in-process, ready."""
    return await start_client(create_app(settings), what="routing")


@pytest.fixture
async def routing(routing_settings: RoutingSettings) -> AsyncIterator[TestClient[Any, Any]]:
    client = await start_routing(routing_settings)
    yield client
    await client.close()


@pytest.fixture
async def routing_db(routing_settings: RoutingSettings) -> AsyncIterator[MongoDatabase]:
    async with mongo_database(
        routing_settings.mongo_url, routing_settings.mongo_db, timeout_ms=5000
    ) as db:
        yield db


@dataclass
class Reporter:
    """Publishes `report.submitted` events as intake would."""

    publisher: Publisher
    count: int = 0

    async def submit(
        self, category: Category = Category.SCAM_FRAUD, **fields: Any
    ) -> ReportSubmitted:
        self.count += 1
        event = report_event(self.count, category, **fields)
        await self.publisher.publish(event)
        return event


@pytest.fixture
async def reporter(amqp_connection: AbstractRobustConnection, topology: Topology) -> Reporter:
    return Reporter(await Publisher.open(amqp_connection, topology))


async def case_of(db: MongoDatabase, report: ReportSubmitted) -> dict[str, Any]:
    """Wait for the report's case to be stored; return it."""

    async def stored() -> dict[str, Any] | None:
        return await db.cases.find_one({"report_id": report.report_id})

    return await wait_until(stored, what=f"the case of {report.report_id}")


async def set_due(db: MongoDatabase, case_id: str, due_at: datetime) -> None:
    """Move a case's deadline as the service would store it (with its urgency key)."""
    stored = await db.cases.find_one({"_id": case_id})
    assert stored is not None
    moved = Case.from_document({**stored, "due_at": due_at})
    await db.cases.update_one(
        {"_id": case_id}, {"$set": {"due_at": due_at, "urgency": moved.urgency}}
    )


__all__ = ["Reporter", "auth", "case_of", "report_event", "set_due", "start_routing"]
