"""What a takedown request to a platform can say: its terms, the API's bodies and view of it, and
the draft a case opens with. Pure."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from services.common.contracts import TRIAGE, Category
from services.common.text import TrimmedNotBlank
from services.routing.case import CaseReport, Takedown


class Channel(StrEnum):
    """How a request reached the platform."""

    EMAIL = "email"
    PORTAL = "portal"  # the platform's portal for government requests
    PHONE = "phone"
    LETTER = "letter"


class Asked(StrEnum):
    """What the agency asked the platform to do."""

    REMOVE = "remove"
    RESTRICT = "restrict"
    RESTORE_ACCOUNT = "restore_account"
    REMOVE_IMPERSONATING_PAGE = "remove_impersonating_page"


class TakedownStatus(StrEnum):
    """Where a request stands: drafted, sent and awaiting the platform, or answered."""

    DRAFT = "draft"
    SENT = "sent"
    DONE = "done"
    REFUSED = "refused"
    PARTIAL = "partial"
    NO_ANSWER = "no_answer"
    DISCARDED = "discarded"  # a draft never sent, kept for the record


ANSWERS = (
    TakedownStatus.DONE,
    TakedownStatus.REFUSED,
    TakedownStatus.PARTIAL,
    TakedownStatus.NO_ANSWER,
)
# The step a reporter cannot take alone: a case of these categories opens with a draft request
# asking the platform for it, one click from being sent.
OPENING_ASKS = {
    Category.HIJACKED_ACCOUNT: Asked.RESTORE_ACCOUNT,
    Category.IMPERSONATION: Asked.REMOVE_IMPERSONATING_PAGE,
}
DRAFT_CHANNEL = Channel.PORTAL
ROUTING_ACTOR = "routing"


Note = Annotated[str, StringConstraints(min_length=1, max_length=5000), TrimmedNotBlank]
PLATFORM_ID = r"^[a-z0-9][a-z0-9_.-]{0,39}$"
PlatformId = Annotated[
    str,
    StringConstraints(pattern=PLATFORM_ID),
    Field(description="The platform's id as events carry it: facebook, tiktok, zalo, ..."),
]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=200), TrimmedNotBlank]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000), TrimmedNotBlank]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TakedownBody(_Body):
    """Record a request sent to a platform (or a draft of one)."""

    status: Literal[TakedownStatus.SENT, TakedownStatus.DRAFT] = Field(
        default=TakedownStatus.SENT, description="`draft`: recorded, not sent yet (no clock)."
    )
    platform: PlatformId | None = Field(default=None, description="Default: the report's.")
    channel: Channel
    asked: Asked
    reference: Reference | None = None
    sent_at: AwareDatetime | None = None
    note: Note | None = None

    @field_validator("sent_at")
    @classmethod
    def _not_on_a_draft(cls, sent_at: datetime | None, info: ValidationInfo) -> datetime | None:
        if sent_at is not None and info.data.get("status") is TakedownStatus.DRAFT:
            raise ValueError("a draft has not been sent: leave sent_at out")
        return sent_at


class SendBody(_Body):
    """Send a draft (every field optional: one click sends it now as drafted)."""

    channel: Channel | None = None
    reference: Reference | None = None
    sent_at: AwareDatetime | None = None
    note: Note | None = None


class AnswerBody(_Body):
    """The platform's answer to a request awaiting one."""

    # `reason` is checked even when left out: a refusal needs it.
    model_config = ConfigDict(extra="forbid", validate_default=True)

    status: Literal[
        TakedownStatus.DONE,
        TakedownStatus.REFUSED,
        TakedownStatus.PARTIAL,
        TakedownStatus.NO_ANSWER,
    ]
    reason: Reason | None = Field(default=None, description="Required when `refused`.")
    answered_at: AwareDatetime | None = None
    reference: Reference | None = None
    note: Note | None = None

    @field_validator("reason", mode="after")
    @classmethod
    def _given_when_refused(cls, reason: str | None, info: ValidationInfo) -> str | None:
        if reason is None and info.data.get("status") is TakedownStatus.REFUSED:
            raise ValueError("the platform's reason is required when it refused")
        return reason


class DiscardBody(_Body):
    """Discard a draft, optionally saying why."""

    note: Note | None = None


class TakedownView(BaseModel):
    """A request as the API shows it, with where its legal clock stands."""

    request_id: str
    platform: str
    channel: str
    asked: str
    reference: str | None
    status: str
    created_at: datetime
    created_by: str
    sent_at: datetime | None
    sent_by: str | None
    legal_due_at: datetime | None = Field(description="sent_at + the policy's deadline.")
    answered_at: datetime | None
    answered_by: str | None
    answer_reason: str | None = Field(description="The platform's reason (a refusal's).")
    note: str | None
    awaiting: bool = Field(description="Sent, no answer yet: its legal clock runs.")
    overdue: bool = Field(description="Awaiting an answer past its legal deadline.")
    answered_in_time: bool | None = Field(
        description="Answered by its legal deadline (None: not answered)."
    )

    @classmethod
    def of(cls, request: Takedown, now: datetime) -> TakedownView:
        """The view of a stored request at `now`."""
        due, answered = request.legal_due_at, request.answered_at
        return cls(
            **request.model_dump(),
            awaiting=request.awaiting,
            overdue=request.awaiting and due is not None and due < now,
            answered_in_time=None if answered is None or due is None else answered <= due,
        )


def new_request_id() -> str:
    """A fresh request id."""
    return uuid.uuid4().hex[:20]


def opening_drafts(
    report: CaseReport, agency: str, now: datetime, request_id: str | None = None
) -> list[Takedown]:
    """The draft requests a case opens with: one for a hijacked account or an impersonation
    held by an agency (none in triage, where no agency holds it yet)."""
    asked = OPENING_ASKS.get(report.category)
    if asked is None or agency == TRIAGE:
        return []
    draft = Takedown(
        request_id=request_id or new_request_id(),
        platform=report.platform.value,
        channel=DRAFT_CHANNEL.value,
        asked=asked.value,
        status=TakedownStatus.DRAFT.value,
        created_at=now,
        created_by=ROUTING_ACTOR,
    )
    return [draft]
