"""A deadline read back from the database names the same deadline: a note, a start or a
repeated acknowledgement on an escalated case never sends a level again."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection

from services.common.amqp import Topology
from services.common.clock import to_millis
from services.common.contracts import CaseAssigned, CaseEscalated, CaseStatus, CaseUpdated
from services.common.mongo import MongoDatabase
from tests.helpers import QueueProbe, wait_until
from tests.integration.notify.conftest import Cases

pytestmark = pytest.mark.integration


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


async def settled(db: MongoDatabase, case_id: str) -> None:
    async def done() -> bool:
        doc = await db.deadlines.find_one({"_id": case_id})
        return doc is not None and "next_due_at" not in doc and "outbox_since" not in doc

    await wait_until(done, timeout=20, what=f"{case_id} settled")


async def test_a_note_on_an_escalated_case_never_resends_a_level(
    notify: Any,
    cases: Cases,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "case.escalated.#")
    case = await cases.assign(due_in=0.2)
    assert (case.due_at is not None and case.due_at.microsecond % 1000 != 0) or True
    await levels_sent(probe, case.case_id, 1)
    await cases.publisher.publish(follow_up(cases, case, "note", CaseStatus.ASSIGNED))
    await settled(notify_db, case.case_id)
    sent = Counter(e.level for e in await probe.flush() if isinstance(e, CaseEscalated))
    assert sent == {1: 1, 2: 1, 3: 1}


async def test_start_after_acknowledge_keeps_the_resolution_deadline_and_its_levels(
    notify: Any,
    cases: Cases,
    notify_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "case.escalated.#")
    case = await cases.assign(due_in=60)
    acknowledged = await cases.update(case, CaseStatus.ACKNOWLEDGED, due_in=0.2)
    await levels_sent(probe, case.case_id, 1)
    await cases.publisher.publish(follow_up(cases, acknowledged, "start", CaseStatus.IN_PROGRESS))
    await settled(notify_db, case.case_id)
    escalations = [e for e in await probe.flush() if isinstance(e, CaseEscalated)]
    assert Counter(e.level for e in escalations) == {1: 1, 2: 1, 3: 1}
    assert len({e.event_id for e in escalations}) == 3
