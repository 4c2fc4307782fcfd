"""Notify's decisions as pure functions of (stored deadline, event, policy, now).

What to store for an incoming case event, and what claiming a due deadline writes and
announces. The deadline store only loads documents, calls these and writes what they return.

A deadline's identity is its agency and its time to the millisecond (as BSON keeps it), so an
event carrying the deadline read back from the database names the same deadline as the event
that set it; with the case version that set it, it also tells apart a deadline that changes
and later returns to an earlier time. Escalation event ids derive from that identity and the
alert's index, so a repeated claim or a redelivery yields the same id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.common.clock import to_millis
from services.common.contracts import (
    AgencyId,
    CaseAssigned,
    CaseEscalated,
    CaseStatus,
    CaseUpdated,
    Category,
    Priority,
)
from services.notify.escalation import CaseState, EscalationPolicy, Step

EVENT_NAMESPACE = uuid.UUID("5b0f3c56-4c8e-4e8f-9a57-0c7f2f3a9e11")

CaseEvent = CaseAssigned | CaseUpdated


class Revision(BaseModel):
    """What deciding on a new case event needs from the stored deadline document."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: int
    rev: int
    deadline_key: str | None = None
    # Absent on documents stored before deadlines carried the version that set them.
    deadline_version: int | None = None
    sent: int = Field(default=0, ge=0)


class Deadline(Revision):
    """A stored deadline as the scanner reads it; a document that does not fit is poison."""

    case_id: str = Field(alias="_id")
    agency: AgencyId
    category: Category
    priority: Priority
    status: CaseStatus
    due_at: AwareDatetime | None
    report_id: str
    tracking_code: str
    province: str | None = None

    @property
    def state(self) -> CaseState:
        """The escalation-relevant state of the case."""
        return CaseState(self.agency, self.priority, self.status, self.due_at, self.province)


@dataclass(frozen=True)
class Claim:
    """What claiming a due deadline writes: alerts sent, the next alert's time, and the
    escalation to announce (None when the deadline is only rescheduled)."""

    sent: int
    next_due_at: datetime | None
    escalation: CaseEscalated | None


def deadline_key(event: CaseEvent) -> str | None:
    """The deadline an event sets (agency and UTC time to the millisecond), None for none."""
    if event.due_at is None:
        return None
    return f"{event.agency}@{to_millis(event.due_at.astimezone(UTC)).isoformat()}"


def plan_case_event(
    stored: Revision | None, event: CaseEvent, policy: EscalationPolicy, now: datetime
) -> dict[str, Any] | None:
    """The fields to store for `event`, or None when the stored state is as new or newer.

    Only a different deadline restarts the alerts: one that names the stored deadline keeps
    the count of alerts sent and the version that set it.
    """
    if stored is not None and stored.version >= event.version:
        return None
    key = deadline_key(event)
    kept = stored is not None and key is not None and stored.deadline_key == key
    fields: dict[str, Any] = {
        "version": event.version,
        "agency": event.agency,
        "category": event.category.value,
        "priority": event.priority.value,
        "status": event.status.value,
        "due_at": event.due_at,
        "deadline_key": key,
        "deadline_version": _set_by(stored, event, key, kept),
        "sent": stored.sent if kept and stored is not None else 0,
        "report_id": event.report_id,
        "tracking_code": event.tracking_code,
        "province": event.province,
        "rev": stored.rev + 1 if stored is not None else 1,
        "updated_at": now,
    }
    state = CaseState(event.agency, event.priority, event.status, event.due_at, event.province)
    step = policy.next_step(state, fields["sent"], now)
    fields["next_due_at"] = step.due if step else None
    return fields


def _set_by(stored: Revision | None, event: CaseEvent, key: str | None, kept: bool) -> int | None:
    if key is None:
        return None
    return stored.deadline_version if kept and stored is not None else event.version


def plan_claim(deadline: Deadline, policy: EscalationPolicy, now: datetime) -> Claim:
    """Advance a due deadline by one alert, or reschedule it when nothing is due after all
    (the policy changed since the deadline was stored)."""
    state = deadline.state
    step = policy.next_step(state, deadline.sent, now)
    if step is None or step.due > now:
        return Claim(deadline.sent, step.due if step else None, None)
    following = policy.next_step(state, step.index + 1, now)
    event = escalation(deadline, step, policy, now)
    return Claim(step.index + 1, following.due if following else None, event)


def escalation(
    deadline: Deadline, step: Step, policy: EscalationPolicy, now: datetime
) -> CaseEscalated:
    """The `case.escalated` event announcing `step` of the deadline."""
    state = deadline.state
    if state.due_at is None:
        raise ValueError("a deadline without a due time cannot escalate")
    return CaseEscalated(
        event_id=escalation_id(deadline, step.index),
        occurred_at=now,
        case_id=deadline.case_id,
        report_id=deadline.report_id,
        tracking_code=deadline.tracking_code,
        agency=state.agency,
        category=deadline.category,
        priority=state.priority,
        status=state.status,
        level=step.level,
        repeat=step.repeat,
        due_at=state.due_at,
        scheduled_at=step.due,
        escalated_at=now,
        overdue_by_seconds=max((now - state.due_at).total_seconds(), 0.0),
        targets=[t.id for t in policy.targets_for(state, step.level)],
    )


def escalation_id(deadline: Deadline, index: int) -> str:
    """The id of the `index`-th alert about the deadline: the same however often computed."""
    name = f"{deadline.case_id}|{deadline.deadline_key}|{index}"
    if deadline.deadline_version is not None:
        name = f"{deadline.case_id}|{deadline.deadline_key}|v{deadline.deadline_version}|{index}"
    return uuid.uuid5(EVENT_NAMESPACE, name).hex
