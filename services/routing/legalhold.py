"""Legal holds: a supervisor keeps a case's data from retention (contact erasure and the
anonymisation of free text) while a legal matter needs it.

A hold has a reason and, optionally, a last day (`until`, in Vietnamese time); it is in force
until it is lifted or that day has passed. It lives on the case document (`legal_hold`) with
`ends_at`, the instant it stops, which is what `incidents-admin retention` queries. Every set
and lift is a line on the case's audit log. Holds change nothing the reporter or the agency
acts on, so they announce no event and leave the case's version alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints, field_validator

from services.common.mongo import Document
from services.common.text import TrimmedNotBlank
from services.routing.case import AuditRecord, Case

LEGAL_HOLD = "legal_hold"
HOLD_SET, HOLD_LIFTED = "legal_hold_set", "legal_hold_lifted"
LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the day a hold's `until` names is a Vietnamese day
LAST_YEAR = 2999
REASON_MAX = 2000

HoldReason = Annotated[str, StringConstraints(min_length=1, max_length=REASON_MAX), TrimmedNotBlank]


class LegalHoldBody(BaseModel):
    """Body of PUT legal-hold: why, and until when (none: until lifted)."""

    model_config = ConfigDict(extra="forbid")

    reason: HoldReason = Field(
        description="Why the data must be kept: the proceedings, request or order (internal)."
    )
    until: Annotated[date, Strict()] | None = Field(
        default=None,
        description="The last day of the hold (YYYY-MM-DD, Asia/Ho_Chi_Minh), today or later; "
        "none: until lifted.",
    )

    @field_validator("until")
    @classmethod
    def _before_the_last_year(cls, until: date | None) -> date | None:
        if until is not None and until.year > LAST_YEAR:
            raise ValueError(f"must be a day before {LAST_YEAR + 1}")
        return until


class LegalHold(BaseModel):
    """A hold as stored on the case and shown."""

    model_config = ConfigDict(extra="ignore")

    reason: str
    until: date | None = None
    ends_at: datetime | None = Field(
        default=None, description="When the hold stops (the end of `until`); none: when lifted."
    )
    set_at: datetime
    set_by: str = Field(description="The principal who set it (supervisor).")
    person: str | None = Field(default=None, description="The person who set it, when one did.")

    def in_force(self, now: datetime) -> bool:
        """Whether the hold still keeps the case's data at `now`."""
        return self.ends_at is None or now < self.ends_at

    def stored(self) -> Document:
        """The document kept in `legal_hold` (BSON has no date: `until` as YYYY-MM-DD)."""
        document = self.model_dump(mode="python")
        document["until"] = None if self.until is None else self.until.isoformat()
        return document


class LegalHoldView(BaseModel):
    """A case's legal hold and whether it is in force now (a past `until` ends it)."""

    case_id: str
    legal_hold: LegalHold
    in_force: bool


def end_of(until: date) -> datetime:
    """The instant the day `until` ends in Vietnam."""
    return datetime.combine(until + timedelta(days=1), time(), LOCAL_ZONE).astimezone(UTC)


def today(now: datetime) -> date:
    """The Vietnamese day `now` falls on."""
    return now.astimezone(LOCAL_ZONE).date()


def in_force(now: datetime) -> Document:
    """The query matching cases whose legal hold is in force at `now`."""
    return {
        f"{LEGAL_HOLD}.set_at": {"$exists": True},
        "$or": [{f"{LEGAL_HOLD}.ends_at": None}, {f"{LEGAL_HOLD}.ends_at": {"$gt": now}}],
    }


def not_held(now: datetime) -> Document:
    """The query matching cases with no legal hold in force at `now`."""
    return {"$nor": [in_force(now)]}


def hold_of(document: Document) -> LegalHold | None:
    """The hold a stored case document carries, if any."""
    stored = document.get(LEGAL_HOLD)
    return LegalHold.model_validate(stored) if isinstance(stored, dict) else None


def view_of(case_id: str, hold: LegalHold, now: datetime) -> LegalHoldView:
    """What the API answers about a case's hold."""
    return LegalHoldView(case_id=case_id, legal_hold=hold, in_force=hold.in_force(now))


def planned_hold(body: LegalHoldBody, actor: str, person: str | None, now: datetime) -> LegalHold:
    """The hold `body` asks for, set by `actor` (and `person`) at `now`."""
    return LegalHold(
        reason=body.reason,
        until=body.until,
        ends_at=None if body.until is None else end_of(body.until),
        set_at=now,
        set_by=actor,
        person=person,
    )


def hold_record(
    case: Case, action: str, note: str, actor: str, person: str | None, now: datetime
) -> AuditRecord:
    """The audit line of a hold set or lifted (the case's status unchanged)."""
    return AuditRecord(
        at=now,
        actor=actor,
        person=person,
        action=action,
        from_status=case.status.value,
        to_status=case.status.value,
        note=note,
        agency=case.agency,
    )


def set_note(hold: LegalHold) -> str:
    """The audit note of a hold set: its reason and how long it lasts."""
    lasts = "until lifted" if hold.until is None else f"until {hold.until.isoformat()}"
    return f"{lasts}: {hold.reason}"


def set_update(hold: LegalHold, record: AuditRecord) -> dict[str, Any]:
    """The write setting (or replacing) a case's hold, with its audit line."""
    return {
        "$set": {LEGAL_HOLD: hold.stored()},
        "$push": {"audit": record.model_dump(by_alias=True, exclude_none=True)},
    }


def lift_update(record: AuditRecord) -> dict[str, Any]:
    """The write lifting a case's hold, with its audit line."""
    return {
        "$unset": {LEGAL_HOLD: ""},
        "$push": {"audit": record.model_dump(by_alias=True, exclude_none=True)},
    }
