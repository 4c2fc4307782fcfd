"""Appeals: a reporter may appeal the decision on their report's case once, within its window.

The rules are pure functions of the stored report and the time (`appeal_refusal`,
`plan_appeal`); `Appeals.appeal` stores the appeal and its `report.appealed` event in one
conditional write, so a report is appealed at most once however many requests race.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.common.clock import Clock
from services.common.contracts import ReportAppealed, event_occurred, shown_explanation
from services.common.i18n import localised
from services.common.mongo import Document
from services.common.outbox import outbox_update, with_outbox
from services.intake.labels import Language, decision_outcome_label, review_label
from services.intake.models import AppealView, DecisionView
from services.intake.repository import ReportRepository

APPEALED = "appealed"
# The reporter statuses of a decided case: an appeal is possible only from one of them.
DECIDED_STATUSES = frozenset({"resolved", "rejected"})


class AppealRefusal(StrEnum):
    """Why a report cannot be appealed now."""

    NO_DECISION = "no_decision"
    ALREADY_APPEALED = "already_appealed"
    NOT_APPEALABLE = "not_appealable"
    WINDOW_CLOSED = "window_closed"

    @property
    def http_status(self) -> int:
        """409 (the report's state does not allow it), 410 once the window has passed."""
        return 410 if self is AppealRefusal.WINDOW_CLOSED else 409

    def message(self, lang: Language) -> str:
        """The refusal in words."""
        return REFUSALS[self][lang]


REFUSALS: dict[AppealRefusal, dict[Language, str]] = {
    AppealRefusal.NO_DECISION: localised("There is no decision on this report to appeal yet."),
    AppealRefusal.ALREADY_APPEALED: localised(
        "This report was already appealed; a decision can be appealed only once."
    ),
    AppealRefusal.NOT_APPEALABLE: localised("This decision cannot be appealed."),
    AppealRefusal.WINDOW_CLOSED: localised("The time to appeal this decision has passed."),
}


def stored_decision(document: Document) -> Document | None:
    """The decision on the report's case, as intake stored it from the case events."""
    case = document.get("case") or {}
    decision: Document | None = case.get("decision")
    return decision


def appeal_refusal(document: Document, now: datetime) -> AppealRefusal | None:
    """Why the report cannot be appealed at `now`, or None when it can."""
    decision = stored_decision(document)
    if decision is None:
        return AppealRefusal.NO_DECISION
    if document.get("appeal") is not None:
        return AppealRefusal.ALREADY_APPEALED
    appeal_until = decision.get("appeal_until")
    if appeal_until is None or document.get("status") not in DECIDED_STATUSES:
        return AppealRefusal.NOT_APPEALABLE
    if appeal_until <= now:
        return AppealRefusal.WINDOW_CLOSED
    return None


@dataclass(frozen=True)
class AppealPlan:
    """The conditional write recording an appeal and the event announcing it."""

    filter: Document
    update: Document
    event: ReportAppealed


def plan_appeal(document: Document, reason: str, now: datetime) -> AppealPlan:
    """The write appealing `document` (which `appeal_refusal` allowed) with `reason`."""
    decision = stored_decision(document)
    assert decision is not None  # checked by appeal_refusal
    event = ReportAppealed(
        **event_occurred(now),
        report_id=document["_id"],
        tracking_code=document["tracking_code"],
        case_id=document["case"]["case_id"],
        reason=reason,
        decided_at=decision["decided_at"],
    )
    appeal = {"reason": reason, "at": now, "decided_at": decision["decided_at"]}
    own: dict[str, Any] = {
        "$set": {"appeal": {**appeal, "case_id": event.case_id}, "status": APPEALED},
        "$push": {"history": {"status": APPEALED, "at": now}},
    }
    own["$set"]["updated_at"] = now
    update = with_outbox(own, outbox_update([event], now))
    # Only while the report is as read: not appealed, and the same decision on it.
    condition = {
        "_id": document["_id"],
        "appeal": None,
        "case.decision.decided_at": decision["decided_at"],
    }
    return AppealPlan(condition, update, event)


def decision_view(document: Document, lang: Language, now: datetime | None) -> DecisionView | None:
    """The decision on the report's case in `lang`; `can_appeal` as of `now` (None: false)."""
    decision = stored_decision(document)
    if decision is None:
        return None
    return DecisionView(
        outcome=decision["outcome"],
        outcome_label=decision_outcome_label(decision["outcome"], lang),
        legal_basis=decision["legal_basis"],
        legal_basis_title=decision.get("legal_basis_title"),
        explanation=shown_explanation(decision["explanation"]),
        automated=bool(decision.get("automated")),
        decided_at=decision["decided_at"],
        appeal_until=decision.get("appeal_until"),
        can_appeal=now is not None and appeal_refusal(document, now) is None,
        review=decision.get("review"),
        review_label=review_label(decision.get("review"), lang),
    )


def appeal_view(document: Document) -> AppealView | None:
    """The report's appeal, once made."""
    appeal = document.get("appeal")
    if not appeal:
        return None
    return AppealView(appealed_at=appeal["at"], decided_at=appeal["decided_at"])


@dataclass
class Appeals:
    """Records appeals: the one path from the API and the status page's form alike."""

    repository: ReportRepository
    clock: Clock
    stored_hook: Callable[[], None]  # wakes the outbox relay

    async def appeal(self, document: Document, reason: str) -> AppealRefusal | datetime:
        """Appeal the report's decision: when stored, its time; else why not."""
        now = self.clock()
        if (refusal := appeal_refusal(document, now)) is not None:
            return refusal
        plan = plan_appeal(document, reason, now)
        if not await self.repository.apply(plan.filter, plan.update):
            # Changed since it was read (appealed in a race, or a new decision): read again.
            current = await self.repository.by_id(document["_id"])
            refusal = appeal_refusal(current, now) if current else AppealRefusal.NO_DECISION
            return refusal or AppealRefusal.NOT_APPEALABLE
        self.stored_hook()
        return now
