"""Decisions with reasons, pure: which outcomes close a case how, and the checked `Decision`
(statement of reasons) an officer's input makes, with the deadlines in force at the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.common.contracts import AppealResult, CaseStatus, DecisionOutcome
from services.routing.case import Case, Decision
from services.routing.clocks import add_time, case_calendar
from services.routing.policy import Policy

Out = DecisionOutcome
RESOLVE_OUTCOMES = (
    Out.REMOVED_BY_PLATFORM,
    Out.ACCOUNT_RESTORED,
    Out.WARNING_ISSUED,
    Out.REFERRED,
)
REJECT_OUTCOMES = (Out.NO_VIOLATION, Out.NOT_ENOUGH_INFORMATION, Out.DUPLICATE, Out.REFERRED)
OUTCOMES_OF = {CaseStatus.RESOLVED: RESOLVE_OUTCOMES, CaseStatus.REJECTED: REJECT_OUTCOMES}
EXPLANATION_MAX = 2000


class InvalidDecision(ValueError):
    """A decision the policy or the lifecycle does not accept; names the field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class ReviewerConflict(Exception):
    """The actor made the decision under review: someone else must review it."""


@dataclass(frozen=True)
class DecisionInput:
    """What an officer gives for a decision (a review may leave outcome and basis to the
    decision it upholds)."""

    outcome: DecisionOutcome | None
    legal_basis: str | None
    explanation: str
    legal_basis_text: str | None = None
    automated: bool = False


def make_decision(
    case: Case,
    given: DecisionInput,
    status: CaseStatus,
    actor: str,
    policy: Policy,
    now: datetime,
    review: AppealResult | None = None,
) -> Decision:
    """The checked decision closing `case` as `status`; InvalidDecision naming the field."""
    outcome, code = given.outcome, given.legal_basis
    if outcome is None or outcome not in OUTCOMES_OF[status]:
        allowed = ", ".join(o.value for o in OUTCOMES_OF[status])
        raise InvalidDecision("outcome", f"a {status.value} case's outcome is one of: {allowed}")
    basis = policy.legal_bases.get(code or "")
    if basis is None:
        known = ", ".join(policy.legal_bases) or "none configured"
        raise InvalidDecision("legal_basis", f"unknown legal basis {code!r}; known: {known}")
    explanation = given.explanation.strip()
    if not explanation or len(explanation) > EXPLANATION_MAX:
        raise InvalidDecision("explanation", f"1 to {EXPLANATION_MAX} characters for the reporter")
    return Decision(
        outcome=outcome,
        legal_basis=basis.code,
        legal_basis_title=basis.title(case.report.language),
        legal_basis_text=(given.legal_basis_text or "").strip() or None,
        explanation=explanation,
        automated=given.automated,
        decided_at=now,
        decided_by=actor,
        status=status,
        review=review,
        appeal_until=None if review is not None else now + policy.appeal_window,
        internal_due_at=internal_due(case, policy, now),
        legal_due_at=case.legal_due_at,
    )


def internal_due(case: Case, policy: Policy, now: datetime) -> datetime | None:
    """The internal deadline in force: `due_at`, or while paused where it would resume now."""
    if case.due_at is not None or case.internal_left_s is None:
        return case.due_at
    return add_time(now, case.internal_left_s, case_calendar(case, policy))


def review_status(outcome: DecisionOutcome, appealed: Decision) -> CaseStatus:
    """What a review's decision closes the case as: by its outcome, or (an outcome both
    resolve and reject use: `referred`) as the decision appealed against did."""
    resolves, rejects = outcome in RESOLVE_OUTCOMES, outcome in REJECT_OUTCOMES
    if resolves and rejects:
        return appealed.status
    return CaseStatus.RESOLVED if resolves else CaseStatus.REJECTED


def review_input(given: DecisionInput, result: AppealResult, appealed: Decision) -> DecisionInput:
    """The review's decision input: an upheld decision keeps the outcome and basis unless the
    reviewer names others; a reversal must name an outcome other than the one reversed."""
    if result is AppealResult.UPHELD:
        return DecisionInput(
            outcome=given.outcome or appealed.outcome,
            legal_basis=given.legal_basis or appealed.legal_basis,
            explanation=given.explanation,
            legal_basis_text=given.legal_basis_text,
        )
    if given.outcome is None or given.outcome is appealed.outcome:
        raise InvalidDecision(
            "outcome", f"a reversal names a new outcome (not {appealed.outcome.value})"
        )
    if given.legal_basis is None:
        raise InvalidDecision("legal_basis", "a reversal names its legal basis")
    return given
