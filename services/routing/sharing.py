"""Agencies informed of a case besides its owner: their read-only copies of its events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.common.contracts import AnyEvent, CaseAssigned, CaseEvent, CaseShared, CaseUpdated
from services.routing.case import Case
from services.routing.visibility import may_see

ASSIGN = "assign"
# Copies get ids derived from the original's, so the same event always gives the same copies.
SHARE_IDS = uuid.UUID("6a1f2a53-3f55-4a8e-9f0e-5b0c2a7d9e41")
CASE_FIELDS = tuple(CaseEvent.model_fields)


class InformedOnly(Exception):
    """The caller is only informed of the case: it may read it, never act on it."""

    def __init__(self, case_id: str, principal: str) -> None:
        super().__init__(f"informed only: {principal} may read case {case_id} but not act on it")
        self.case_id = case_id
        self.principal = principal


def only_informed(case: Case, principal: str) -> bool:
    """Whether `principal` sees `case` only because the policy informs it."""
    return principal != case.agency and principal in case.informed


def sees_contact(case: Case, principal: str) -> bool:
    """Whether `principal` may see the reporter's contact: the holding agency, or an informed
    one when the rule that informed it says so."""
    return principal == case.agency or (case.inform_contact and only_informed(case, principal))


def shared_copies(event: AnyEvent) -> list[CaseShared]:
    """One `case.shared.<agency>` per agency informed of the case an event announces (never
    to an agency that may not see the case: a sensitive case is not shared)."""
    if not isinstance(event, CaseAssigned | CaseUpdated):
        return []
    fields = {name: getattr(event, name) for name in CASE_FIELDS}
    action = ASSIGN if isinstance(event, CaseAssigned) else event.action
    return [
        CaseShared(
            **{**fields, "event_id": str(uuid.uuid5(SHARE_IDS, f"{event.event_id}/{agency}"))},
            shared_with=agency,
            action=action,
        )
        for agency in dict.fromkeys(event.informed)
        if agency != event.agency and may_see(agency, event.category)
    ]


def with_shares(events: Sequence[AnyEvent]) -> list[AnyEvent]:
    """The events with, after each, its copies for the informed agencies: what a case's
    outbox gets, so the copies are written atomically with the change."""
    return [copy for event in events for copy in (event, *shared_copies(event))]
