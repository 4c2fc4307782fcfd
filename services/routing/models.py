"""HTTP request and response models of the agency API; `case_view` is the one conversion."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.common.contracts import AGENCY_ID_PATTERN, CaseStatus, Category, Contact, Priority
from services.common.mongo import Document
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
    district: str | None
    evidence_links: list[str]
    reporter_kind: str
    anonymous: bool
    contact: Contact | None
    language: str


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
    district: str | None


class CaseDetail(CaseSummary):
    """A case with its report, audit log and what can be done next."""

    report: ReportView
    policy_version: str
    rule_id: str | None
    outcome: str | None
    notes: list[dict[str, Any]]
    audit: list[AuditEntry]
    allowed_actions: list[str]


class CaseList(BaseModel):
    """A page of cases, newest first."""

    cases: list[CaseSummary]
    next_cursor: str | None


def summary_fields(case: Document, now: datetime) -> dict[str, Any]:
    """The list fields of a stored case."""
    status = CaseStatus(case["status"])
    due = case.get("due_at")
    open_case = status not in (CaseStatus.RESOLVED, CaseStatus.REJECTED)
    return {
        "case_id": case["_id"],
        "tracking_code": case["tracking_code"],
        "agency": case["agency"],
        "category": case["category"],
        "priority": case["priority"],
        "status": status,
        "version": case["version"],
        "due_at": due,
        "overdue": bool(open_case and due is not None and due < now),
        "created_at": case["created_at"],
        "updated_at": case["updated_at"],
        "province": case["report"].get("province"),
        "district": case["report"].get("district"),
    }


def case_view(case: Document, principal: str, now: datetime) -> CaseDetail:
    """A stored case as `principal` may see it: the contact only for the holding agency."""
    report = dict(case["report"])
    if principal != case["agency"]:
        report["contact"] = None
    return CaseDetail(
        **summary_fields(case, now),
        report=ReportView(**report),
        policy_version=case["policy_version"],
        rule_id=case.get("rule_id"),
        outcome=case.get("outcome"),
        notes=[
            {"at": n["at"], "actor": n["actor"], "text": n["text"]} for n in case.get("notes", [])
        ],
        audit=[AuditEntry(**entry) for entry in case.get("audit", [])],
        allowed_actions=[a.value for a in allowed_actions(CaseStatus(case["status"]))],
    )
