"""A deadline read back from the database names the same deadline: a note, an acknowledgement
or a start on an escalated case never sends a level again."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from aio_pika.abc import AbstractRobustConnection

from services.common.amqp import Topology
from services.common.clock import to_millis
from services.common.contracts import CaseAssigned, CaseEscalated, CaseStatus, CaseUpdated
from services.common.mongo import MongoDatabase
from tests.helpers import QueueProbe, wait_until
from tests.integration.notify.conftest import Cases

pytestmark = pytest.mark.integration
Event = TypeVar("Event", CaseAssigned, CaseUpdated)


def follow_up(
    cases: Cases, event: CaseAssigned | CaseUpdated, action: str, status: CaseStatus
) -> CaseUpdated:
    """What routing announces for an action that keeps the deadline: the stored (millisecond)
    time of the deadline the case already has."""
    assert event.due_at is not None
    version = cases.versions[event.case_id] + 1
    cases.versions[event.case_id] = version
    fields = event.model_dump(
        exclude={
            "type",
            "policy_version",
            "rule_id",
            "previous_agency",
            "reason",
            "action",
            "from_status",
            "actor",
            "note",
            "outcome",
            "reassigned_to",
        }
    )
    fields.update(
        event_id=f"{event.case_id}-{version}",
        occurred_at=datetime.now(UTC),
        version=version,
        status=status,
        due_at=to_millis(event.due_at),
    )
    return CaseUpdated(**fields, action=action, from_status=event.status, actor=event.agency)


async def levels_sent(probe: QueueProbe, case_id: str, count: int) -> Counter[int]:
    async def enough() -> Counter[int] | None:
        sent = Counter(
            e.level for e in probe.events if isinstance(e, CaseEscalated) and e.case_id == case_id
        )
        return sent if sum(sent.values()) >= count else None

    return await wait_until(enough, timeout=20, what=f"{count} escalations of {case_id}")


async def settled(db: MongoDatabase, case_id: str, version: int) -> None:
    """Wait until the case's `version` is stored and it has no alert pending or unpublished."""

    async def done() -> bool:
        doc = await db.deadlines.find_one({"_id": case_id})
        if doc is None:
            return False
        return doc["version"] >= version and "next_due_at" not in doc and "outbox_since" not in doc

    await wait_until(done, timeout=20, what=f"{case_id} settled at version {version}")


def with_sub_millisecond_deadline(event: Event) -> Event:
    """The event with microseconds in its deadline (as routing computes one before storing it),
    never a whole millisecond by chance."""
    assert event.due_at is not None
    return event.model_copy(update={"due_at": to_millis(event.due_at) + timedelta(microseconds=7)})


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("note", CaseStatus.ASSIGNED),
        ("acknowledge", CaseStatus.ACKNOWLEDGED),
        ("start", CaseStatus.IN_PROGRESS),
    ],
)
async def test_an_action_on_an_escalated_case_never_resends_a_level(
    action: str,
    status: CaseStatus,
    notify: Any,
    cases: Cases,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "case.escalated.#")
    case = with_sub_millisecond_deadline(await cases.assign(due_in=0.2, publish=False))
    await cases.publisher.publish(case)
    await levels_sent(probe, case.case_id, 1)
    followed = follow_up(cases, case, action, status)
    await cases.publisher.publish(followed)
    await settled(notify_db, case.case_id, followed.version)
    escalations = [e for e in await probe.flush() if isinstance(e, CaseEscalated)]
    assert Counter(e.level for e in escalations) == {1: 1, 2: 1, 3: 1}
    assert len({e.event_id for e in escalations}) == 3


async def test_start_after_acknowledge_keeps_the_resolution_deadline_and_its_levels(
    notify: Any,
    cases: Cases,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "case.escalated.#")
    case = await cases.assign(due_in=60)
    acknowledged = await cases.update(case, CaseStatus.ACKNOWLEDGED, due_in=0.2, publish=False)
    acknowledged = with_sub_millisecond_deadline(acknowledged)
    await cases.publisher.publish(acknowledged)
    await levels_sent(probe, case.case_id, 1)
    started = follow_up(cases, acknowledged, "start", CaseStatus.IN_PROGRESS)
    await cases.publisher.publish(started)
    await settled(notify_db, case.case_id, started.version)
    escalations = [e for e in await probe.flush() if isinstance(e, CaseEscalated)]
    assert Counter(e.level for e in escalations) == {1: 1, 2: 1, 3: 1}
    assert len({e.event_id for e in escalations}) == 3
