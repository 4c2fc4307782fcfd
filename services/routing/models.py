"""HTTP request and response models of the agency API; `case_view` is the one conversion."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.common.contracts import (
    AGENCY_ID_PATTERN,
    AppealResult,
    CaseStatus,
    Category,
    DeadlineClock,
    DecisionOutcome,
    Priority,
)
from services.common.geography import province_code_of
from services.common.text import Trimmed, TrimmedNotBlank
from services.routing.case import Appeal, Case, Decision
from services.routing.decisions import EXPLANATION_MAX, DecisionInput
from services.routing.evidence import EvidenceView
from services.routing.lifecycle import Action, allowed_actions
from services.routing.sharing import only_informed, sees_contact
from services.routing.takedown_terms import Note, TakedownView

Explanation = Annotated[
    str, StringConstraints(min_length=1, max_length=EXPLANATION_MAX), TrimmedNotBlank
]
LegalBasisCode = Annotated[
    str,
    StringConstraints(min_length=1, max_length=80),
    TrimmedNotBlank,
    Field(description="A code from the routing policy's `legal_bases` list."),
]
LegalBasisText = Annotated[
    str,
    StringConstraints(max_length=2000),
    Trimmed,
    Field(description="The exact provision, in words (stays inside the agencies)."),
]
_O = DecisionOutcome
ResolveOutcome = Literal[
    _O.REMOVED_BY_PLATFORM, _O.ACCOUNT_RESTORED, _O.WARNING_ISSUED, _O.REFERRED
]
RejectOutcome = Literal[_O.NO_VIOLATION, _O.NOT_ENOUGH_INFORMATION, _O.DUPLICATE, _O.REFERRED]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OptionalNote(_Body):
    """Body of acknowledge and start: an optional note."""

    note: Note | None = None


class _DecisionBody(_Body):
    """The statement of reasons a closing action takes."""

    legal_basis: LegalBasisCode
    legal_basis_text: LegalBasisText | None = None
    explanation: Explanation = Field(
        description="Plain words for the reporter: shown on the status page and e-mailed."
    )

    def decision(self) -> DecisionInput:
        """The decision input the body stands for."""
        return DecisionInput(
            outcome=getattr(self, "outcome", None),
            legal_basis=self.legal_basis,
            explanation=self.explanation,
            legal_basis_text=self.legal_basis_text or None,
        )


class ResolveBody(_DecisionBody):
    """Body of resolve: the decision, and an internal note the reporter never sees."""

    outcome: ResolveOutcome
    note: Note = Field(description="Internal: what was done (never shown to the reporter).")


class RejectBody(_DecisionBody):
    """Body of reject: the decision, and the internal reason the reporter never sees."""

    outcome: RejectOutcome
    reason: Note = Field(description="Internal: why (never shown to the reporter).")


class ReviewBody(_Body):
    """Body of review: the appeal's result and the reviewer's decision (an upheld decision
    keeps its outcome and legal basis unless others are named; a reversal names them)."""

    result: AppealResult
    outcome: DecisionOutcome | None = None
    legal_basis: LegalBasisCode | None = None
    legal_basis_text: LegalBasisText | None = None
    explanation: Explanation = Field(description="Plain words for the reporter.")
    note: Note | None = Field(default=None, description="Internal note.")

    def decision(self) -> DecisionInput:
        """The decision input the body stands for."""
        return DecisionInput(
            outcome=self.outcome,
            legal_basis=self.legal_basis,
            explanation=self.explanation,
            legal_basis_text=self.legal_basis_text or None,
        )


class ReassignBody(_Body):
    """Body of reassign."""

    agency: Annotated[str, Field(pattern=AGENCY_ID_PATTERN)]
    reason: Note


class NoteBody(_Body):
    """Body of notes."""

    note: Note


CaseRef = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")
]


class SplitBody(_Body):
    """Body of split: the report to take out of the case into a case of its own, and why."""

    report_id: CaseRef
    reason: Note


class MergeBody(_Body):
    """Body of merge: the case this one's reports move into, and why."""

    into: CaseRef
    reason: Note


class AuditEntry(BaseModel):
    """One line of the audit log."""

    at: datetime
    actor: str
    person: str | None = Field(
        default=None, description="The person who acted (name and account), when one did."
    )
    action: str
    from_status: str | None = Field(alias="from")
    to_status: str = Field(alias="to")
    note: str | None = None
    agency: str | None = None
    outcome: str | None = None
    clock: str | None = Field(
        default=None, description="How the change moved a clock: which one, its new deadline."
    )
    request_id: str | None = Field(default=None, description="The takedown request concerned.")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=False)


class ReportView(BaseModel):
    """The report behind a case; whether a contact is held, never the contact itself."""

    category: Category
    content_urls: list[str]
    platform: str
    description: str
    seen_at: datetime | None
    province: str | None
    province_code: str | None = Field(default=None, description='Province code ("01").')
    commune: str | None = None
    commune_code: str | None = Field(default=None, description='Commune code ("00070").')
    district: str | None = Field(description="Only on reports made before July 2025.")
    evidence_links: list[str]
    reporter_kind: str
    anonymous: bool
    has_contact: bool = Field(
        description="Whether the reporter left a contact the caller may reveal (GET "
        "/api/v1/cases/{case_id}/contact, audited); the contact itself is never in the case."
    )
    language: str


class CaseReportView(BaseModel):
    """One of a case's reports; whether it holds a contact, never the contact itself."""

    report_id: str
    tracking_code: str
    reported_at: datetime | None
    reporter_kind: str
    category: Category
    content_urls: list[str]
    description: str
    evidence_links: list[str]
    anonymous: bool
    has_contact: bool = Field(
        description="Whether this report holds a contact the caller may reveal (audited)."
    )


class CaseSummary(BaseModel):
    """A case in a list."""

    case_id: str
    tracking_code: str
    agency: str
    category: Category
    priority: Priority
    status: CaseStatus
    version: int
    due_at: datetime | None = Field(
        description="The internal deadline (working time on `calendar`); None while paused."
    )
    legal_due_at: datetime | None = Field(
        default=None, description="The legal deadline (calendar time); kept on reassignment."
    )
    deadline_clock: DeadlineClock | None = Field(
        default=None, description="Which clock is nearer to breach (what `overdue` follows)."
    )
    paused: bool = Field(
        default=False,
        description="Whether the internal clock stands still (a platform must act).",
    )
    overdue: bool
    created_at: datetime
    updated_at: datetime
    province: str | None
    province_code: str | None = Field(default=None, description='Province code ("01").')
    district: str | None
    content_key: str = Field(description="platform:kind:id of the content the case is about")
    reporters: int = Field(description="Distinct reporters of the case's reports")
    informed: list[str] = Field(
        default_factory=list, description="Agencies informed of the case besides `agency`."
    )
    assignee: str | None = Field(
        default=None, description="The officer of the agency the case is assigned to (account)."
    )
    read_only: bool = Field(
        default=False,
        description="The caller is only informed of the case: it reads it (without the "
        "reporter's contact, unless the policy says so), never acts on it.",
    )


class CaseDetail(CaseSummary):
    """A case with its report, audit log and what can be done next."""

    report: ReportView
    policy_version: str
    rule_id: str | None
    outcome: str | None
    notes: list[dict[str, Any]]
    audit: list[AuditEntry]
    allowed_actions: list[str]
    reports: list[CaseReportView] = Field(description="Every report, the first one first")
    continues: str | None = Field(
        default=None,
        description="The case of the same content whose later reports this one took, when that "
        "one could hold no more.",
    )
    continued_by: str | None = Field(
        default=None,
        description="The case that takes this one's later reports, once this one could hold no "
        "more.",
    )
    merged_into: str | None = None
    merged_from: list[str] = Field(default_factory=list)
    calendar: str | None = Field(
        default=None, description="The business calendar of `due_at`; None: calendar time."
    )
    internal_budget_s: float | None = Field(
        default=None, description="The current internal deadline's allowance, in working seconds."
    )
    internal_left_s: float | None = Field(
        default=None, description="While paused: the internal clock's working seconds left."
    )
    decision: Decision | None = Field(default=None, description="The latest decision.")
    decisions: list[Decision] = Field(default_factory=list, description="Every one, oldest first.")
    appeals: list[Appeal] = Field(default_factory=list)
    takedowns: list[TakedownView] = Field(
        default_factory=list, description="Requests to platforms and their legal clocks."
    )
    evidence: list[EvidenceView] = Field(
        default_factory=list,
        description="The reports' files; links (short-lived) only for the holding agency.",
    )
    anonymised_at: datetime | None = Field(
        default=None,
        description="When the case's free text (descriptions, appeal reasons, notes, "
        "explanations, evidence file names) was anonymised, a set time after it closed; those "
        "texts are empty from then on.",
    )


class SplitResult(BaseModel):
    """The case after a split and the new case the report opened."""

    case: CaseDetail
    new_case: CaseDetail


class CaseList(BaseModel):
    """A page of cases, most urgent first."""

    cases: list[CaseSummary]
    next_cursor: str | None


def summary_fields(case: Case, now: datetime) -> dict[str, Any]:
    """The list fields of a case."""
    deadline = case.deadline
    return {
        "case_id": case.case_id,
        "tracking_code": case.tracking_code,
        "agency": case.agency,
        "category": case.category,
        "priority": case.priority,
        "status": case.status,
        "version": case.version,
        "due_at": case.due_at,
        "legal_due_at": case.legal_due_at,
        "deadline_clock": None if deadline is None else deadline[1],
        "paused": case.internal_left_s is not None,
        "overdue": case.is_overdue(now),
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "province": case.report.province,
        "province_code": province_code_of(case.report.province_code, case.report.province),
        "district": case.report.district,
        "content_key": case.content_key,
        "reporters": case.reporters,
        "informed": case.informed,
        "assignee": case.assignee,
    }


def case_summary(case: Case, now: datetime, principal: str | None = None) -> CaseSummary:
    """A case as a list shows it (to `principal`: read-only when only informed of it)."""
    read_only = principal is not None and only_informed(case, principal)
    return CaseSummary(**summary_fields(case, now), read_only=read_only)


def case_view(case: Case, principal: str, now: datetime) -> CaseDetail:
    """A case as `principal` may see it, never with the contact: `has_contact` for the holding
    agency (and the informed ones when the policy says so), who may reveal it; no action for an
    agency only informed of it."""
    allowed = sees_contact(case, principal)
    read_only = only_informed(case, principal)
    return CaseDetail(
        **summary_fields(case, now),
        report=ReportView(
            **case.report.model_dump(), has_contact=allowed and bool(case.report.contact_sealed)
        ),
        policy_version=case.policy_version,
        rule_id=case.rule_id,
        outcome=case.outcome,
        notes=[note.model_dump() for note in case.notes],
        audit=[AuditEntry(**entry.model_dump()) for entry in case.audit],
        allowed_actions=[] if read_only else [a.value for a in actions_of(case, principal)],
        read_only=read_only,
        reports=[
            CaseReportView(
                **entry.model_dump(include=REPORT_VIEW_FIELDS),
                has_contact=allowed and bool(entry.contact_sealed),
            )
            for entry in case.reports
        ],
        continues=case.continues,
        continued_by=case.continued_by,
        merged_into=case.merged_into,
        merged_from=case.merged_from,
        calendar=case.calendar,
        internal_budget_s=case.internal_budget_s,
        internal_left_s=case.internal_left_s,
        decision=case.decision,
        decisions=case.decisions,
        appeals=case.appeals,
        takedowns=[TakedownView.of(t, now) for t in case.takedowns],
        anonymised_at=case.anonymised_at,
    )


def actions_of(case: Case, principal: str) -> list[Action]:
    """What `principal` may do to the case now: its status's actions, except reviewing a
    decision of its own."""
    decided_by = case.decision.decided_by if case.decision else None
    return [
        action
        for action in allowed_actions(case.status)
        if not (action is Action.REVIEW and principal == decided_by)
    ]


REPORT_VIEW_FIELDS = set(CaseReportView.model_fields)
