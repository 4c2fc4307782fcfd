"""Fixtures running notify in-process against the real broker and database, with short levels."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Publisher, Topology
from services.common.auth import hash_token
from services.common.contracts import (
    CaseAssigned,
    CaseStatus,
    CaseUpdated,
    Category,
    Priority,
    new_event_id,
)
from services.common.mongo import MongoDatabase, mongo_database
from services.notify.app import create_app
from services.notify.escalation import EscalationPolicy, parse_escalation_policy
from services.notify.settings import NotifySettings
from services.notify.signing import encode_secret
from tests.helpers import start_client

SUPERVISOR_TOKEN = "tok-notify-supervisor"
# Standard Webhooks secrets (`whsec_` + base64 of a 32-byte key), as receivers hold them.
WEBHOOK_SECRET = encode_secret(b"integration-test-webhook-key-one")
NEXT_WEBHOOK_SECRET = encode_secret(b"integration-test-webhook-key-two")

# Levels one second apart so a test sees all three within a few seconds.
SHORT_POLICY = """
version = "test-short"

[[levels]]
level = 1
after = "0s"
roles = ["agency_supervisor"]

[[levels]]
level = 2
after = "1s"
roles = ["agency_supervisor", "provincial_supervisor"]

[[levels]]
level = 3
after = "2s"
roles = ["national_supervisor"]

[[targets]]
id = "police-supervisor"
role = "agency_supervisor"
agency = "police"
{police_channels}

[[targets]]
id = "culture-supervisor"
role = "agency_supervisor"
agency = "culture_office"

[[targets]]
id = "provincial"
role = "provincial_supervisor"

[[targets]]
id = "national"
role = "national_supervisor"
"""


def short_policy(police_channels: str = "") -> EscalationPolicy:
    """The test policy; `police_channels` adds e.g. a webhook or e-mail to the police target."""
    return parse_escalation_policy(SHORT_POLICY.format(police_channels=police_channels))


@pytest.fixture
def notify_settings(
    amqp_url: str, mongo_url: str, topology: Topology, db_name: str
) -> NotifySettings:
    return NotifySettings(
        amqp_url=amqp_url,
        mongo_url=mongo_url,
        mongo_db=db_name,
        topology_prefix=topology.prefix,
        outbox_poll_seconds=0.2,
        delivery_limit=3,
        scan_interval_seconds=0.5,
        supervisor_tokens=[hash_token(SUPERVISOR_TOKEN)],
        webhook_secrets=[WEBHOOK_SECRET],
        retry_base_seconds=0.2,
        retry_max_seconds=1.0,
    )


async def start_notify(
    settings: NotifySettings, policy: EscalationPolicy | None = None
) -> TestClient[Any, Any]:
    """A notify app in-process, ready."""
    return await start_client(create_app(settings, policy=policy or short_policy()), what="notify")


@pytest.fixture
async def notify(notify_settings: NotifySettings) -> AsyncIterator[TestClient[Any, Any]]:
    client = await start_notify(notify_settings)
    yield client
    await client.close()


@pytest.fixture
async def notify_db(notify_settings: NotifySettings) -> AsyncIterator[MongoDatabase]:
    async with mongo_database(
        notify_settings.mongo_url, notify_settings.mongo_db, timeout_ms=5000
    ) as db:
        yield db


@dataclass
class Cases:
    """Publishes case events as routing would, keeping each case's version."""

    publisher: Publisher
    versions: dict[str, int] = field(default_factory=dict)
    count: int = 0

    async def assign(
        self,
        due_in: float | None,
        *,
        agency: str = "police",
        case_id: str | None = None,
        publish: bool = True,
    ) -> CaseAssigned:
        """A `case.assigned` whose deadline is `due_in` seconds from now."""
        self.count += 1
        case_id = case_id or f"case-{self.count}-{new_event_id()[:8]}"
        event = CaseAssigned(
            **self._common(case_id, agency, CaseStatus.ASSIGNED, due_in),
            policy_version="test",
            rule_id="scam-fraud",
        )
        if publish:
            await self.publisher.publish(event)
        return event

    async def update(
        self,
        case: CaseAssigned,
        status: CaseStatus,
        due_in: float | None,
        *,
        action: str = "acknowledge",
        agency: str | None = None,
        publish: bool = True,
    ) -> CaseUpdated:
        """A `case.updated` moving the case to `status` with a new deadline."""
        event = CaseUpdated(
            **self._common(case.case_id, agency or case.agency, status, due_in),
            action=action,
            from_status=case.status,
            actor=case.agency,
        )
        if publish:
            await self.publisher.publish(event)
        return event

    def _common(
        self, case_id: str, agency: str, status: CaseStatus, due_in: float | None
    ) -> dict[str, Any]:
        version = self.versions.get(case_id, 0) + 1
        self.versions[case_id] = version
        now = datetime.now(UTC)
        return {
            "event_id": new_event_id(),
            "occurred_at": now,
            "case_id": case_id,
            "report_id": f"report-of-{case_id}",
            "tracking_code": f"TC-{case_id}",
            "agency": agency,
            "category": Category.SCAM_FRAUD,
            "priority": Priority.HIGH,
            "status": status,
            "version": version,
            "due_at": now + timedelta(seconds=due_in) if due_in is not None else None,
            "province": "Đà Nẵng",
        }


@pytest.fixture
async def cases(amqp_connection: AbstractRobustConnection, topology: Topology) -> Cases:
    return Cases(await Publisher.open(amqp_connection, topology))
