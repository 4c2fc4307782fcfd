"""The events a claim announces, each with an id derived from the deadline's identity: an
escalation, a pre-breach warning, platforms past the legal deadline of a takedown request."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.common.contracts import (
    CaseEscalated,
    CaseWarning,
    DeadlineClock,
    PlatformDeadlineMissed,
)
from services.notify.clocks import EVENT_NAMESPACE, passed, platform_id, warning_id
from services.notify.escalation import EscalationPolicy, Step
from services.notify.records import Deadline


def claim_warning(
    deadline: Deadline, policy: EscalationPolicy, now: datetime
) -> tuple[int, CaseWarning | None]:
    """The latest share that has run, if not yet warned; an earlier one missed meanwhile is
    not sent late, nor any once the internal deadline itself has passed."""
    reached = passed(deadline.warnings, now)
    if reached <= deadline.warned:
        return deadline.warned, None
    if deadline.due_at is None or deadline.due_at <= now or not deadline.is_open:
        return reached, None
    share = deadline.warnings[reached - 1].share
    state = deadline.state
    return reached, CaseWarning(
        event_id=warning_id(
            deadline.case_id, deadline.warning_key, deadline.warning_version, share
        ),
        occurred_at=now,
        alerted_at=now,
        clock=DeadlineClock.INTERNAL,
        share=share,
        due_at=deadline.due_at,
        targets=[t.id for t in policy.targets_with(state, policy.warning_roles)],
        **_case_fields(deadline),
    )


def claim_platform(
    deadline: Deadline, policy: EscalationPolicy, now: datetime
) -> tuple[tuple[str, ...], tuple[PlatformDeadlineMissed, ...]]:
    """An alert for each request awaiting its answer past its legal deadline, once each."""
    alerted = tuple(deadline.platform_alerted)
    if not deadline.is_open:
        return alerted, ()
    missed = [
        t for t in deadline.takedowns if t.request_id not in alerted and t.legal_due_at <= now
    ]
    targets = [t.id for t in policy.targets_with(deadline.state, policy.platform_roles)]
    events = tuple(
        PlatformDeadlineMissed(
            event_id=platform_id(deadline.case_id, request.request_id, request.legal_due_at),
            occurred_at=now,
            alerted_at=now,
            request_id=request.request_id,
            platform=request.platform,
            sent_at=request.sent_at,
            legal_due_at=request.legal_due_at,
            overdue_by_seconds=max((now - request.legal_due_at).total_seconds(), 0.0),
            targets=targets,
            **_case_fields(deadline),
        )
        for request in missed
    )
    return alerted + tuple(request.request_id for request in missed), events


def _case_fields(deadline: Deadline) -> dict[str, Any]:
    return {
        "case_id": deadline.case_id,
        "report_id": deadline.report_id,
        "tracking_code": deadline.tracking_code,
        "agency": deadline.agency,
        "category": deadline.category,
        "priority": deadline.priority,
        "status": deadline.status,
    }


def escalation(
    deadline: Deadline, step: Step, policy: EscalationPolicy, now: datetime
) -> CaseEscalated:
    """The `case.escalated` event announcing `step` of the deadline, naming its clock."""
    anchor = deadline.anchor
    if anchor is None:
        raise ValueError("a deadline without a due time cannot escalate")
    return CaseEscalated(
        event_id=escalation_id(deadline, step.index),
        occurred_at=now,
        level=step.level,
        repeat=step.repeat,
        due_at=anchor.due_at,
        scheduled_at=step.due,
        escalated_at=now,
        overdue_by_seconds=max((now - anchor.due_at).total_seconds(), 0.0),
        targets=[t.id for t in policy.targets_for(deadline.state, step.level)],
        clock=anchor.clock,
        **_case_fields(deadline),
    )


def escalation_id(deadline: Deadline, index: int) -> str:
    """The id of the `index`-th alert about the deadline: the same however often computed."""
    name = f"{deadline.case_id}|{deadline.deadline_key}|{index}"
    if deadline.deadline_version is not None:
        name = f"{deadline.case_id}|{deadline.deadline_key}|v{deadline.deadline_version}|{index}"
    return uuid.uuid5(EVENT_NAMESPACE, name).hex
