"""The deadline document as notify stores it: what deciding on a case event needs of it
(`Revision`), and the whole document as the scanner reads it (`Deadline`)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.common.contracts import (
    CLOSED_STATUSES,
    AgencyId,
    CaseStatus,
    Category,
    Priority,
    TakedownClock,
)
from services.notify.clocks import Anchor, WarningTime, anchor_of
from services.notify.escalation import CaseState


class Revision(BaseModel):
    """What deciding on a new case event needs from the stored deadline document."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: int
    rev: int
    deadline_key: str | None = None
    # Absent on documents stored before deadlines carried the version that set them.
    deadline_version: int | None = None
    sent: int = Field(default=0, ge=0)
    # The internal deadline the warnings are about, the version that set it, warnings done.
    warning_key: str | None = None
    warning_version: int | None = None
    warned: int = Field(default=0, ge=0)
    platform_alerted: list[str] = Field(default_factory=list)


class Deadline(Revision):
    """A stored deadline as the scanner reads it; a document that does not fit is poison."""

    case_id: str = Field(alias="_id")
    agency: AgencyId
    category: Category
    priority: Priority
    status: CaseStatus
    due_at: AwareDatetime | None
    report_id: str
    tracking_code: str
    province: str | None = None
    legal_due_at: AwareDatetime | None = None
    warnings: list[WarningTime] = Field(default_factory=list)
    takedowns: list[TakedownClock] = Field(default_factory=list)

    @property
    def anchor(self) -> Anchor | None:
        """The deadline escalation runs on (the earlier clock)."""
        return anchor_of(self.agency, self.due_at, self.legal_due_at)

    @property
    def state(self) -> CaseState:
        """The escalation-relevant state of the case, its deadline the escalation's anchor."""
        anchor = self.anchor
        due_at = anchor.due_at if anchor is not None else None
        return CaseState(self.agency, self.priority, self.status, due_at, self.province)

    @property
    def is_open(self) -> bool:
        """Whether the case can still miss a deadline."""
        return self.status not in CLOSED_STATUSES
