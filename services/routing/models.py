"""HTTP request and response models of the agency API; `case_view` is the one conversion."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.common.contracts import AGENCY_ID_PATTERN, CaseStatus, Category, Contact, Priority
from services.common.geography import province_code_of
from services.routing.case import Case
from services.routing.evidence import EvidenceView
from services.routing.lifecycle import allowed_actions

Note = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class Outcome(StrEnum):
    """How a resolved case ended."""

    REMOVED = "removed"
    ACCOUNT_RESTORED = "account_restored"
    NO_VIOLATION = "no_violation"
    REFERRED = "referred"
    OTHER = "other"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OptionalNote(_Body):
    """Body of acknowledge and start: an optional note."""

    note: Note | None = None


class ResolveBody(_Body):
    """Body of resolve."""

    outcome: Outcome
    note: Note


class RejectBody(_Body):
    """Body of reject."""

    reason: Note


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
    action: str
    from_status: str | None = Field(alias="from")
    to_status: str = Field(alias="to")
    note: str | None = None
    agency: str | None = None

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=False)


class ReportView(BaseModel):
    """The report behind a case; `contact` only for the agency holding it."""

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
    contact: Contact | None
    language: str


class CaseReportView(BaseModel):
    """One of a case's reports; `contact` only for the agency holding the case."""

    report_id: str
    tracking_code: str
    reported_at: datetime | None
    reporter_kind: str
    category: Category
    content_urls: list[str]
    description: str
    evidence_links: list[str]
    anonymous: bool
    contact: Contact | None


class CaseSummary(BaseModel):
    """A case in a list."""

    case_id: str
    tracking_code: str
    agency: str
    category: Category
    priority: Priority
    status: CaseStatus
    version: int
    due_at: datetime | None
    overdue: bool
    created_at: datetime
    updated_at: datetime
    province: str | None
    province_code: str | None = Field(default=None, description='Province code ("01").')
    district: str | None
    content_key: str = Field(description="platform:kind:id of the content the case is about")
    reporters: int = Field(description="Distinct reporters of the case's reports")


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
    merged_into: str | None = None
    merged_from: list[str] = Field(default_factory=list)
    evidence: list[EvidenceView] = Field(
        default_factory=list,
        description="The reports' files; links (short-lived) only for the holding agency.",
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
    return {
        "case_id": case.case_id,
        "tracking_code": case.tracking_code,
        "agency": case.agency,
        "category": case.category,
        "priority": case.priority,
        "status": case.status,
        "version": case.version,
        "due_at": case.due_at,
        "overdue": case.is_overdue(now),
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "province": case.report.province,
        "province_code": province_code_of(case.report.province_code, case.report.province),
        "district": case.report.district,
        "content_key": case.content_key,
        "reporters": case.reporters,
    }


def case_summary(case: Case, now: datetime) -> CaseSummary:
    """A case as a list shows it."""
    return CaseSummary(**summary_fields(case, now))


def case_view(case: Case, principal: str, now: datetime) -> CaseDetail:
    """A case as `principal` may see it: the contact only for the holding agency."""
    hidden = {} if principal == case.agency else {"contact": None}
    return CaseDetail(
        **summary_fields(case, now),
        report=ReportView(**{**case.report.model_dump(), **hidden}),
        policy_version=case.policy_version,
        rule_id=case.rule_id,
        outcome=case.outcome,
        notes=[note.model_dump() for note in case.notes],
        audit=[AuditEntry(**entry.model_dump()) for entry in case.audit],
        allowed_actions=[a.value for a in allowed_actions(case.status)],
        reports=[
            CaseReportView(**{**entry.model_dump(include=REPORT_VIEW_FIELDS), **hidden})
            for entry in case.reports
        ],
        merged_into=case.merged_into,
        merged_from=case.merged_from,
    )


REPORT_VIEW_FIELDS = set(CaseReportView.model_fields)
