"""Event contracts: the one wire format shared by every service (pydantic, JSON on RabbitMQ)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

AGENCY_ID_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"
AgencyId = Annotated[str, Field(pattern=AGENCY_ID_PATTERN)]
TRIAGE = "triage"


class Category(StrEnum):
    """What kind of harm a report is about."""

    HIJACKED_ACCOUNT = "hijacked_account"
    IMPERSONATION = "impersonation"
    SCAM_FRAUD = "scam_fraud"
    FALSE_INFORMATION = "false_information"
    HARMFUL_CONTENT = "harmful_content"
    CONFIDENTIAL_LEAK = "confidential_leak"
    MEMBER_MISCONDUCT = "member_misconduct"


class Platform(StrEnum):
    """Where the reported content or account lives."""

    FACEBOOK = "facebook"
    ZALO = "zalo"
    TIKTOK = "tiktok"
    YOUTUBE = "youtube"
    OTHER = "other"


class ReporterKind(StrEnum):
    """Who is reporting."""

    CITIZEN = "citizen"
    OFFICIAL = "official"


class CaseStatus(StrEnum):
    """The lifecycle states of a case."""

    TRIAGE = "triage"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REJECTED = "rejected"
    WAITING_ON_PLATFORM = "waiting_on_platform"
    APPEALED = "appealed"


CLOSED_STATUSES = frozenset({CaseStatus.RESOLVED, CaseStatus.REJECTED})
# Statuses in which the internal (service-level) clock stands still: a takedown request is
# out and the platform must act; the legal clock runs on.
PAUSED_STATUSES = frozenset({CaseStatus.WAITING_ON_PLATFORM})


class Priority(StrEnum):
    """How urgent a case is; escalation may differ by priority."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class DecisionOutcome(StrEnum):
    """How an agency decided a case (a statement of reasons names one)."""

    REMOVED_BY_PLATFORM = "removed_by_platform"
    ACCOUNT_RESTORED = "account_restored"
    WARNING_ISSUED = "warning_issued"
    REFERRED = "referred"
    NO_VIOLATION = "no_violation"
    NOT_ENOUGH_INFORMATION = "not_enough_information"
    DUPLICATE = "duplicate"


class AppealResult(StrEnum):
    """What the review of an appeal concluded about the decision appealed against."""

    UPHELD = "upheld"
    REVERSED = "reversed"


class DeadlineClock(StrEnum):
    """Which of a case's two clocks a deadline or an alert is about."""

    INTERNAL = "internal"  # the agency's service level, in working time on its calendar
    LEGAL = "legal"  # the time the law allows, in calendar time


ANONYMISED_EXPLANATION = "(đã ẩn danh / anonymised)"
"""What a decision's explanation reads once anonymised (services/admin/anonymise.py)."""


def shown_explanation(explanation: str) -> str:
    """An explanation as pages and APIs show it: "" once anonymised (they show their marker)."""
    return "" if explanation == ANONYMISED_EXPLANATION else explanation


class PublicDecision(BaseModel):
    """The part of a decision the reporter sees (and events carry): never internal notes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: DecisionOutcome
    legal_basis: str = Field(
        min_length=1, max_length=80, description="A code from the routing policy's list."
    )
    legal_basis_title: str | None = Field(
        default=None, max_length=300, description="The legal basis as the policy names it."
    )
    explanation: str = Field(
        min_length=1, max_length=2000, description="Plain words for the reporter."
    )
    automated: bool = Field(
        default=False, description="Whether automated means took part in the decision."
    )
    decided_at: AwareDatetime
    appeal_until: AwareDatetime | None = Field(
        default=None, description="Until when the reporter may appeal; None: no appeal open."
    )
    review: AppealResult | None = Field(
        default=None, description="On the decision that concluded an appeal's review."
    )


class TakedownClock(BaseModel):
    """A request to a platform that is still waiting for its answer, with its legal deadline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    request_id: str = Field(min_length=1, max_length=64)
    platform: str = Field(min_length=1, max_length=40)
    sent_at: AwareDatetime
    legal_due_at: AwareDatetime


class Contact(BaseModel):
    """The reporter's contact details; only the agency holding the case may see them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)


SHA256_HEX = r"^[0-9a-f]{64}$"


class EvidenceFile(BaseModel):
    """A file a reporter attached, as intake stored it (metadata removed, re-encoded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file_id: str = Field(min_length=1, max_length=64)
    filename: str = Field(max_length=200, description="The name the reporter's file had.")
    content_type: Literal["image/jpeg", "image/png", "image/webp", "application/pdf"]
    size: int = Field(ge=1, description="Bytes stored.")
    sha256_received: str = Field(pattern=SHA256_HEX, description="Of the file as received.")
    sha256_stored: str = Field(pattern=SHA256_HEX, description="Of the file as stored.")


def new_event_id() -> str:
    """Return a fresh, random event id."""
    return str(uuid.uuid4())


class Event(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(min_length=1, max_length=64)
    occurred_at: AwareDatetime
    schema_version: int = 1

    def routing_key(self) -> str:
        """The topic routing key this event is published under."""
        raise NotImplementedError


class ReportSubmitted(Event):
    """A reporter's submission was accepted and stored by intake."""

    type: Literal["report.submitted"] = "report.submitted"
    report_id: str
    tracking_code: str
    category: Category
    content_urls: list[str] = Field(min_length=1, max_length=10)
    platform: Platform
    description: str = Field(max_length=5000)
    seen_at: AwareDatetime | None = None
    province: str | None = Field(default=None, max_length=100, description="Display name.")
    province_code: str | None = Field(default=None, max_length=10)
    commune: str | None = Field(default=None, max_length=100, description="Display name.")
    commune_code: str | None = Field(default=None, max_length=10)
    district: str | None = Field(
        default=None, max_length=100, description="Only on reports made before July 2025."
    )
    geography_version: str | None = Field(
        default=None,
        max_length=100,
        description="The administrative geography data the codes were resolved against.",
    )
    evidence_links: list[str] = Field(default_factory=list, max_length=10)
    evidence: list[EvidenceFile] = Field(default_factory=list, max_length=5)
    reporter_kind: ReporterKind
    reporter_id: str | None = Field(
        default=None,
        max_length=64,
        description="A keyed hash of the reporter's contact or client address: the same "
        "person gives the same id, and the id reveals neither.",
    )
    anonymous: bool
    contact_sealed: str | None = Field(
        default=None,
        max_length=4096,
        pattern=r"^v1\.[A-Za-z0-9_-]{1,32}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
        description="The reporter's contact sealed with AES-256-GCM under the key ring intake "
        "and routing share (`v1.<key id>.<nonce>.<ciphertext>`, bound to this report): only "
        "they can open it. None: an anonymous report, or a contact erased.",
    )
    contact: Contact | None = Field(
        default=None,
        exclude=True,
        json_schema_extra={"deprecated": True},
        description="Never sent (deprecated): events published before contacts were sealed "
        "carried the contact in clear here; routing still accepts them during an upgrade and "
        "seals the contact on receipt.",
    )
    language: Literal["vi", "en"] = "vi"

    def routing_key(self) -> str:
        """`report.submitted`."""
        return self.type


class CaseFacts(Event):
    """What every event about a case says of it: which case, whose, what kind, where it stands."""

    case_id: str
    report_id: str
    tracking_code: str
    agency: AgencyId
    category: Category
    priority: Priority
    status: CaseStatus


class CaseEvent(CaseFacts):
    """Fields shared by the events that announce a case's state."""

    version: int = Field(ge=1)
    due_at: AwareDatetime | None
    province: str | None = None
    province_code: str | None = None
    district: str | None = None
    content_key: str | None = Field(default=None, description="platform:kind:id of the content.")
    reporters: int | None = Field(default=None, ge=1, description="Distinct reporters so far.")
    legal_due_at: AwareDatetime | None = Field(
        default=None,
        description="The legal clock's deadline (calendar time); kept on reassignment.",
    )
    calendar: str | None = Field(
        default=None,
        max_length=40,
        description="The business calendar `due_at` counts working time on; None: calendar time "
        "(urgent cases, or no calendar).",
    )
    internal_budget_s: float | None = Field(
        default=None,
        ge=0,
        description="The internal clock's allowance for the current deadline, in (working) "
        "seconds: pre-breach warnings fall at shares of it, counted back from `due_at`.",
    )
    takedowns: list[TakedownClock] = Field(
        default_factory=list,
        max_length=100,
        description="Requests to platforms awaiting an answer.",
    )
    decision: PublicDecision | None = Field(
        default=None, description="The case's latest decision, the reporter-visible part only."
    )
    informed: list[AgencyId] = Field(
        default_factory=list, max_length=20, description="Agencies informed besides the owner."
    )

    def opens_case(self) -> bool:
        """Whether this event announced the case's creation, so that no state of the case
        precedes it (only `case.assigned` at version 1 does)."""
        return False


class CaseAssigned(CaseEvent):
    """A case was assigned to an agency (on creation, or on reassignment)."""

    type: Literal["case.assigned"] = "case.assigned"
    policy_version: str
    rule_id: str | None
    previous_agency: AgencyId | None = None
    reason: str | None = None

    def opens_case(self) -> bool:
        """True at version 1: the case was created (a new content, a split, a full case's
        successor); a reassignment comes later."""
        return self.version == 1

    def routing_key(self) -> str:
        """`case.assigned.<agency>`."""
        return f"{self.type}.{self.agency}"


class CaseUpdated(CaseEvent):
    """A case changed state (an action by an agency or supervisor); intake never shows `note`."""

    type: Literal["case.updated"] = "case.updated"
    action: str
    from_status: CaseStatus
    actor: str
    note: str | None = Field(default=None, max_length=5000)
    outcome: str | None = None
    reassigned_to: AgencyId | None = None
    report_ids: list[str] = Field(
        default_factory=list,
        max_length=100_000,
        description="Reports this change attaches to the case (a joined report, or the "
        "reports of a merged case); their reporters' status follows the case from now on.",
    )
    merged_into: str | None = Field(
        default=None,
        max_length=64,
        description="On a case closed by a merge (outcome `merged`): the case it joined.",
    )

    def routing_key(self) -> str:
        """`case.updated.<agency>`."""
        return f"{self.type}.{self.agency}"


class CaseShared(CaseEvent):
    """A copy of a case's state for an agency the policy informs besides the owner (`agency`):
    sent when the case opens and after every change, read-only, never with contact data."""

    type: Literal["case.shared"] = "case.shared"
    shared_with: AgencyId
    action: str = Field(description="What changed: `assign`, or the action of the update.")

    def routing_key(self) -> str:
        """`case.shared.<informed agency>`."""
        return f"{self.type}.{self.shared_with}"


class ReportAppealed(Event):
    """A reporter appealed the decision on their report's case (once, within the window)."""

    type: Literal["report.appealed"] = "report.appealed"
    report_id: str
    tracking_code: str
    case_id: str
    reason: str = Field(min_length=1, max_length=2000)
    decided_at: AwareDatetime = Field(description="When the decision appealed against was made.")

    def routing_key(self) -> str:
        """`report.appealed`."""
        return self.type


class ErasureReason(StrEnum):
    """Why a reporter's contact was erased."""

    REPORTER_REQUEST = "reporter_request"
    RETENTION = "retention"


class ReportContactErased(Event):
    """A report's contact (name, phone, e-mail) was erased by intake: every copy goes too."""

    type: Literal["report.contact_erased"] = "report.contact_erased"
    report_id: str
    tracking_code: str
    erased_at: AwareDatetime
    reason: ErasureReason

    def routing_key(self) -> str:
        """`report.contact_erased`."""
        return self.type


class CaseEscalated(CaseFacts):
    """An open case passed a deadline level and was escalated to a supervisor target."""

    type: Literal["case.escalated"] = "case.escalated"
    level: int = Field(ge=1)
    repeat: int = Field(default=0, ge=0, description="0 for a level's first alert, then 1, 2 ...")
    due_at: AwareDatetime = Field(description="The case's deadline that was missed.")
    scheduled_at: AwareDatetime | None = Field(
        default=None, description="When this level fell due (due_at plus the level's offset)."
    )
    escalated_at: AwareDatetime
    overdue_by_seconds: float = Field(ge=0)
    targets: list[str]
    clock: DeadlineClock = Field(
        default=DeadlineClock.INTERNAL, description="The clock whose deadline was missed."
    )

    def routing_key(self) -> str:
        """`case.escalated.<agency>.<level>`."""
        return f"{self.type}.{self.agency}.{self.level}"


class CaseAlert(CaseFacts):
    """Fields shared by notify's alerts other than escalations."""

    alerted_at: AwareDatetime
    targets: list[str]


class CaseWarning(CaseAlert):
    """A pre-breach warning to the handling agency: a share of a clock has run."""

    type: Literal["case.warning"] = "case.warning"
    clock: DeadlineClock
    share: float = Field(gt=0, lt=1, description="The share of the clock used up (0.5, 0.8).")
    due_at: AwareDatetime = Field(description="The deadline the warning is about.")

    def routing_key(self) -> str:
        """`case.warning.<agency>`."""
        return f"{self.type}.{self.agency}"


class PlatformDeadlineMissed(CaseAlert):
    """A platform did not answer a takedown request within its legal deadline."""

    type: Literal["case.platform_overdue"] = "case.platform_overdue"
    request_id: str
    platform: str
    sent_at: AwareDatetime
    legal_due_at: AwareDatetime
    overdue_by_seconds: float = Field(ge=0)

    def routing_key(self) -> str:
        """`case.platform_overdue.<agency>`."""
        return f"{self.type}.{self.agency}"


AnyEvent = Annotated[
    ReportSubmitted
    | ReportAppealed
    | ReportContactErased
    | CaseAssigned
    | CaseUpdated
    | CaseShared
    | CaseEscalated
    | CaseWarning
    | PlatformDeadlineMissed,
    Field(discriminator="type"),
]
EVENT_ADAPTER: TypeAdapter[AnyEvent] = TypeAdapter(AnyEvent)


def parse_event(body: bytes | str) -> AnyEvent:
    """Parse one event from its JSON wire form; raises pydantic.ValidationError."""
    return EVENT_ADAPTER.validate_json(body)


def event_occurred(now: datetime) -> dict[str, object]:
    """The common constructor fields of a new event at `now`."""
    return {"event_id": new_event_id(), "occurred_at": now}
