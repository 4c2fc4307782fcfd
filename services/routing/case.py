"""The case as routing reasons about it: a typed model, converted to and from documents."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.clock import EPOCH
from services.common.contracts import (
    ANONYMISED_EXPLANATION,
    CLOSED_STATUSES,
    AppealResult,
    CaseStatus,
    Category,
    DeadlineClock,
    DecisionOutcome,
    EvidenceFile,
    Platform,
    Priority,
    PublicDecision,
    ReporterKind,
    TakedownClock,
)
from services.common.mongo import Document
from services.routing.visibility import grouping_key

LEVEL_NOTE = re.compile(r"^level (\d+)")
MILLISECOND = timedelta(milliseconds=1)
# Urgency ranks, most urgent first: open with a deadline (soonest first), open without one
# (newest first), closed (newest first). One integer orders them all, so the list is one
# indexed range: rank * URGENCY_SPAN + the position inside the rank.
DUE, OPEN_WITHOUT_DEADLINE, CLOSED = 0, 1, 2
URGENCY_SPAN = 2**48  # milliseconds after 1970: beyond the year 10000, below BSON's int64
URGENCY_END = (CLOSED + 1) * URGENCY_SPAN  # above every urgency key


class _Stored(BaseModel):
    """A part of a stored case: unknown fields kept out, names as stored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class CaseReport(_Stored):
    """The report behind a case, as intake submitted it."""

    category: Category
    content_urls: list[str]
    platform: Platform
    description: str
    seen_at: datetime | None = None
    province: str | None = None
    province_code: str | None = None
    commune: str | None = None
    commune_code: str | None = None
    district: str | None = None
    geography_version: str | None = None
    evidence_links: list[str] = Field(default_factory=list)
    evidence: list[EvidenceFile] = Field(default_factory=list)
    reporter_kind: ReporterKind
    anonymous: bool
    contact_sealed: str | None = Field(
        default=None,
        description="The reporter's contact, sealed (services/common/sealing.py); opened only "
        "by a reveal, which the audit log records.",
    )
    language: str = "vi"


class CaseReportEntry(CaseReport):
    """One report of a case (the first or one that joined): its own fields and who made it."""

    report_id: str
    tracking_code: str
    reported_at: datetime | None = None
    reporter_id: str | None = None

    @property
    def reporter_key(self) -> str:
        """Who counts as this report's reporter: its reporter id, else the report itself."""
        return self.reporter_id or f"report:{self.report_id}"


class AuditRecord(_Stored):
    """One line of a case's audit log: who did what, when, from which status to which."""

    at: datetime
    actor: str
    person: str | None = Field(
        default=None, description="The person who acted (name and account), when one did."
    )
    action: str
    from_status: str | None = Field(default=None, alias="from")
    to_status: str = Field(alias="to")
    note: str | None = None
    agency: str | None = None
    outcome: str | None = None
    previous_agency: str | None = None
    level: int | None = None
    event_id: str | None = None
    clock: str | None = Field(
        default=None, description="How the change moved a clock: which one, its new deadline."
    )
    request_id: str | None = Field(
        default=None, description="The takedown request a step on one was about."
    )

    def escalation_level(self) -> int:
        """The level this entry escalated to (0 when it is not an escalation)."""
        if self.action != "escalated":
            return 0
        match = LEVEL_NOTE.match(self.note or "")
        return self.level or (int(match.group(1)) if match else 0)


class CaseNote(_Stored):
    """A note an agency or supervisor added to a case."""

    at: datetime
    actor: str
    text: str


class Decision(_Stored):
    """A decision on a case (a statement of reasons): the reporter-visible part, and who made
    it and the legal text, which stay inside the agency."""

    outcome: DecisionOutcome
    legal_basis: str
    legal_basis_title: str | None = None
    legal_basis_text: str | None = None
    explanation: str
    automated: bool = False
    decided_at: datetime
    decided_by: str
    status: CaseStatus = Field(description="What the decision closed the case as.")
    review: AppealResult | None = None
    appeal_until: datetime | None = Field(
        default=None,
        description="Until when the reporter may appeal it: decided_at + the policy's window; "
        "None on a review's decision and once an appeal was made.",
    )
    # The deadlines in force when the decision was taken (the transparency report's early /
    # on time / late): the internal one (while paused, where it would have resumed) and the
    # legal one.
    internal_due_at: datetime | None = None
    legal_due_at: datetime | None = None

    def public(self, appeal_until: datetime | None) -> PublicDecision:
        """The part the reporter sees and events carry."""
        return PublicDecision(
            outcome=self.outcome,
            legal_basis=self.legal_basis,
            legal_basis_title=self.legal_basis_title,
            explanation=self.explanation or ANONYMISED_EXPLANATION,  # "": anonymised before
            automated=self.automated,
            decided_at=self.decided_at,
            appeal_until=appeal_until,
            review=self.review,
        )


class Appeal(_Stored):
    """A reporter's appeal against a decision, and its review by someone other than the
    person who decided."""

    event_id: str
    report_id: str
    tracking_code: str
    reason: str
    appealed_at: datetime
    against: datetime = Field(description="`decided_at` of the decision appealed against.")
    decided_by: str = Field(description="Who made that decision: they may not review it.")
    result: AppealResult | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None


class Takedown(_Stored):
    """A request an agency sent (or drafted) to a platform, and the platform's answer."""

    request_id: str
    platform: str
    channel: str
    asked: str
    reference: str | None = None
    status: str = Field(description="draft, sent, done, refused, partial, no_answer, discarded")
    created_at: datetime
    created_by: str
    sent_at: datetime | None = None
    sent_by: str | None = None
    legal_due_at: datetime | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    answer_reason: str | None = None
    note: str | None = None

    @property
    def awaiting(self) -> bool:
        """Sent and not yet answered: its legal clock runs."""
        return self.status == "sent"

    def clock(self) -> TakedownClock | None:
        """The legal deadline notify follows while the platform has not answered."""
        if not self.awaiting or self.sent_at is None or self.legal_due_at is None:
            return None
        return TakedownClock(
            request_id=self.request_id,
            platform=self.platform,
            sent_at=self.sent_at,
            legal_due_at=self.legal_due_at,
        )


class Case(_Stored):
    """One case: the reports of one piece of content, routed to an agency, with its status,
    deadline and history. `report_id`, `tracking_code` and `report` are the first report's
    (the one that opened the case); `reports` holds every report, the first included."""

    case_id: str = Field(alias="_id")
    report_id: str
    tracking_code: str
    report: CaseReport
    reported_at: datetime | None = None
    content_key: str
    reports: list[CaseReportEntry]
    reporter_keys: list[str]
    reporters: int = Field(ge=1)
    reports_bytes: int = Field(
        default=0,
        ge=0,
        description="The stored size of the reports (and reporter keys) that joined since the "
        "count began; what a case held before, or gained by a merge, is not counted.",
    )
    joinable: bool = True
    continues: str | None = Field(
        default=None,
        description="The case of the same content this one took the later reports from, when "
        "that one could take no more.",
    )
    continued_by: str | None = Field(
        default=None,
        description="The case that takes this one's later reports, named when this one was "
        "closed to them (before that case is stored).",
    )
    merged_into: str | None = None
    merged_from: list[str] = Field(default_factory=list)
    agency: str
    category: Category
    priority: Priority
    status: CaseStatus
    version: int = Field(ge=1)
    due_at: datetime | None = None
    acknowledge_within_s: float
    resolve_within_s: float | None = None
    policy_version: str
    rule_id: str | None = None
    outcome: str | None = None
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None = None
    closed_at: datetime | None = None
    audit: list[AuditRecord] = Field(default_factory=list)
    notes: list[CaseNote] = Field(default_factory=list)
    # The two clocks. The internal one (`due_at`) counts working time on `calendar` (None:
    # calendar time) and stands still while the case waits on a platform, its remaining
    # allowance kept in `internal_left_s`; the legal one runs in calendar time from the first
    # assignment and survives reassignment.
    legal_due_at: datetime | None = None
    calendar: str | None = None
    internal_budget_s: float | None = None
    internal_left_s: float | None = None
    decision: Decision | None = None
    decisions: list[Decision] = Field(default_factory=list, description="Every one, oldest first.")
    appeals: list[Appeal] = Field(default_factory=list)
    takedowns: list[Takedown] = Field(default_factory=list)
    informed: list[str] = Field(default_factory=list, description="Agencies informed, read-only.")
    assignee: str | None = Field(
        default=None, description="The account id of the agency's officer assigned the case."
    )
    assignee_name: str | None = Field(default=None, description="Their display name.")
    inform_contact: bool = Field(
        default=False, description="Whether the informed agencies may see the reporter's contact."
    )
    anonymised_at: datetime | None = Field(
        default=None, description="When retention emptied its free text (services/admin)."
    )

    @model_validator(mode="before")
    @classmethod
    def _before_grouping(cls, data: Any) -> Any:
        """A case stored before grouping: its one report, a content key of its own."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        report_id = data.get("report_id")
        data.setdefault("content_key", f"report:{report_id}")
        if "reports" not in data and isinstance(data.get("report"), dict):
            first = {
                "report_id": report_id,
                "tracking_code": data.get("tracking_code"),
                "reported_at": data.get("reported_at"),
            }
            data["reports"] = [{**data["report"], **first}]
        if "reporter_keys" not in data and isinstance(data.get("reports"), list):
            data["reporter_keys"] = sorted(set(_reporter_keys(data["reports"])))
        if "reporters" not in data and isinstance(data.get("reporter_keys"), list):
            data["reporters"] = max(len(data["reporter_keys"]), 1)
        return data

    @classmethod
    def from_document(cls, document: Document) -> Case:
        """The case a stored document holds; pydantic's ValidationError if it is unreadable."""
        return cls.model_validate(document)

    def to_document(self) -> Document:
        """The document to store, with the keys lists find and sort it by (readers, urgency)."""
        document = self.model_dump(mode="python", by_alias=True)
        return {
            **document,
            "urgency": self.urgency,
            "open_key": self.open_key,
            "readers": self.readers,
        }

    @property
    def open_key(self) -> str:
        """The content key while open (unique: one open case per content), then a key of its
        own (`<key>#closed#<case id>`), so every case has a distinct value. A case split off
        another never takes later reports: its key is its own from the start. A sensitive
        case's key is apart (`<key>#sensitive`): reports group by content and sensitivity."""
        if not self.is_open:
            return closed_key(self.content_key, self.case_id)
        if not self.joinable:
            return f"{self.content_key}#own#{self.case_id}"
        return grouping_key(self.content_key, self.category)

    @property
    def readers(self) -> list[str]:
        """The agencies that see the case: the one holding it, then those informed."""
        return [self.agency, *(a for a in self.informed if a != self.agency)]

    @property
    def any_official(self) -> bool:
        """Whether one of the case's reporters is an official."""
        return any(r.reporter_kind is ReporterKind.OFFICIAL for r in self.reports)

    def report_entry(self, report_id: str) -> CaseReportEntry | None:
        """The case's report with this id, if it holds it."""
        return next((r for r in self.reports if r.report_id == report_id), None)

    @property
    def is_open(self) -> bool:
        """Whether the case still waits for the agency (not resolved or rejected)."""
        return is_open_status(self.status)

    @property
    def deadline(self) -> tuple[datetime, DeadlineClock] | None:
        """The nearer of the open case's two deadlines and its clock; None when closed or
        without one (the internal clock stands still while the case waits on a platform, the
        legal one does not)."""
        if not self.is_open:
            return None
        clocks = [(self.due_at, DeadlineClock.INTERNAL), (self.legal_due_at, DeadlineClock.LEGAL)]
        running = [(at, clock) for at, clock in clocks if at is not None]
        return min(running, key=lambda pair: pair[0], default=None)

    def is_overdue(self, now: datetime) -> bool:
        """Whether the case is open and past the nearer of its deadlines."""
        return (deadline := self.deadline) is not None and deadline[0] < now

    def time_left(self, now: datetime) -> timedelta | None:
        """Time to the nearer deadline (negative when overdue); None when closed or without."""
        return None if (deadline := self.deadline) is None else deadline[0] - now

    @property
    def escalation_level(self) -> int:
        """The highest escalation level recorded in the audit log (0 if none)."""
        return max((entry.escalation_level() for entry in self.audit), default=0)

    @property
    def urgency(self) -> int:
        """The sort key of "most urgent first": smaller is more urgent."""
        if (deadline := self.deadline) is not None:
            return urgency_key(DUE, deadline[0])
        return urgency_key(OPEN_WITHOUT_DEADLINE if self.is_open else CLOSED, self.created_at)


def closed_key(content_key: str, case_id: str) -> str:
    """The `open_key` of a closed case: distinct from every other case's."""
    return f"{content_key}#closed#{case_id}"


def _reporter_keys(reports: list[Any]) -> list[str]:
    """The reporter keys of stored report entries (as documents)."""
    return [
        r.get("reporter_id") or f"report:{r.get('report_id')}"
        for r in reports
        if isinstance(r, dict)
    ]


def is_open_status(status: CaseStatus) -> bool:
    """Whether a case in `status` is still open; the one definition of "closed" is common's."""
    return status not in CLOSED_STATUSES


def urgency_key(rank: int, at: datetime) -> int:
    """The urgency of a case of `rank` at `at` (due_at for DUE, created_at otherwise)."""
    millis = min(max((at - EPOCH) // MILLISECOND, 0), URGENCY_SPAN - 1)
    position = millis if rank == DUE else URGENCY_SPAN - 1 - millis
    return rank * URGENCY_SPAN + position


def urgency_position(key: int) -> tuple[int, datetime]:
    """The (rank, time) an urgency key stands for: the inverse of `urgency_key`."""
    rank, position = divmod(key, URGENCY_SPAN)
    millis = position if rank == DUE else URGENCY_SPAN - 1 - position
    return rank, EPOCH + millis * MILLISECOND


def overdue_bound(now: datetime) -> int:
    """The urgency below which every case is overdue (open, due before `now`)."""
    millis = -(-(now - EPOCH) // MILLISECOND)  # rounded up: due_at is stored to the millisecond
    return urgency_key(DUE, EPOCH + millis * MILLISECOND)
