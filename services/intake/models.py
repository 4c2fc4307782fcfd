"""HTTP request and response models of intake; `to_event` is the one place they become an event."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from services.common.contracts import (
    Category,
    Contact,
    Platform,
    ReporterKind,
    ReportSubmitted,
    new_event_id,
)
from services.common.params import MIN_SEEN_AT, ParamError, check_datetime
from services.common.phones import e164
from services.common.sealing import KeyRing
from services.common.text import Trimmed, TrimmedNotBlank, trimmed_at_least
from services.intake.placefields import (
    PLACE_FIELDS,
    CommuneIn,
    DistrictIn,
    ProvinceIn,
    event_place,
)
from services.intake.urlfields import ContentUrls, EvidenceLink

MAX_URLS = 5
MAX_EVIDENCE_LINKS = 10
CLOCK_SKEW = timedelta(minutes=5)

PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ().-]{3,30}$")


def _phone_e164(text: str) -> str:
    """A phone number in E.164 (`0912 345 678` -> `+84912345678`); refused unless valid."""
    number = e164(text) if PHONE_CHARACTERS.match(text) else None
    if number is None:
        raise PydanticCustomError("phone_invalid", "not a valid phone number")
    return number


# Surrounding whitespace does not count: the published pattern allows any amount of it.
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=30),
    AfterValidator(_phone_e164),
    Field(
        description="A Vietnamese mobile or landline number (0912 345 678, +84 24 3825 1234, "
        "84912345678) or an international one with +; stored in E.164.",
        examples=["0912 345 678", "+84912345678"],
    ),
]


class ContactIn(BaseModel):
    """How the reporter may be reached; only the agency holding the case sees it."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(max_length=200), Trimmed] | None = None
    phone: Phone | None = None
    email: EmailStr | None = None


class ReportIn(BaseModel):
    """A report as submitted through the API or the form."""

    model_config = ConfigDict(extra="forbid")

    category: Category
    content_urls: ContentUrls = Field(min_length=1, max_length=MAX_URLS)
    platform: Platform
    description: Annotated[
        str, StringConstraints(min_length=10, max_length=5000), trimmed_at_least(10)
    ]
    seen_at: AwareDatetime | None = None
    province: ProvinceIn | None = None
    district: DistrictIn | None = None
    commune: CommuneIn | None = None
    evidence_links: list[EvidenceLink] = Field(default_factory=list, max_length=MAX_EVIDENCE_LINKS)
    reporter_kind: ReporterKind = ReporterKind.CITIZEN
    anonymous: bool
    contact: ContactIn | None = Field(default=None, validate_default=True)
    language: Literal["vi", "en"] = "vi"

    @field_validator("seen_at")
    @classmethod
    def _not_in_future(cls, seen_at: datetime | None, info: ValidationInfo) -> datetime | None:
        if seen_at is None:
            return None
        try:  # bounds first: comparing a time near year 1 with another overflows
            seen_at = check_datetime(seen_at, field="seen_at", minimum=MIN_SEEN_AT)
        except ParamError:
            raise PydanticCustomError(
                "seen_at_range", "the time seen must be after {earliest}", {"earliest": "1990"}
            ) from None
        now = (info.context or {}).get("now")
        if now is not None and seen_at > now + CLOCK_SKEW:
            raise PydanticCustomError("seen_at_future", "the time seen is in the future")
        return seen_at

    @field_validator("contact")
    @classmethod
    def _contact_matches_anonymity(
        cls, contact: ContactIn | None, info: ValidationInfo
    ) -> ContactIn | None:
        anonymous = info.data.get("anonymous")
        given = contact is not None and (contact.name or contact.phone or contact.email)
        if anonymous and given:
            raise PydanticCustomError(
                "contact_not_allowed", "an anonymous report carries no contact details"
            )
        if anonymous is False and not (contact and (contact.phone or contact.email)):
            raise PydanticCustomError(
                "contact_required", "a report that is not anonymous needs a phone or an e-mail"
            )
        return contact

    def to_event(
        self, *, report_id: str, tracking_code: str, now: datetime, keys: KeyRing
    ) -> ReportSubmitted:
        """The `report.submitted` event announcing this report, its contact sealed by `keys`."""
        fields = self.model_dump(exclude={"contact", *PLACE_FIELDS})
        fields |= event_place(self.province, self.commune, self.district)
        contact = self.event_contact()
        return ReportSubmitted(
            event_id=new_event_id(),
            occurred_at=now,
            report_id=report_id,
            tracking_code=tracking_code,
            contact_sealed=keys.seal_contact(contact, report_id) if contact else None,
            **fields,
        )

    def event_contact(self) -> Contact | None:
        """The contact the reporter left (None for an anonymous report)."""
        if self.anonymous or self.contact is None:
            return None
        return Contact(**self.contact.model_dump())


class Links(BaseModel):
    """Where to look a report up."""

    status: str
    status_page: str


class ReportCreated(BaseModel):
    """The answer to an accepted report."""

    tracking_code: str
    status: str
    links: Links


class StatusChange(BaseModel):
    """One reporter-visible step."""

    status: str
    at: datetime
    status_label: str | None = Field(default=None, description="The status in words.")


MAX_APPEAL_REASON = 2000


class DecisionView(BaseModel):
    """The decision on the report's case as the reporter reads it (a statement of reasons)."""

    outcome: str = Field(description="A DecisionOutcome code, e.g. `removed_by_platform`.")
    outcome_label: str = Field(description="The outcome in words.")
    legal_basis: str = Field(description="The code of the legal basis in the routing policy.")
    legal_basis_title: str | None = Field(default=None, description="The legal basis named.")
    explanation: str = Field(description="The agency's explanation for the reporter.")
    automated: bool = Field(description="Whether automated means took part (never so today).")
    decided_at: datetime
    appeal_until: datetime | None = Field(
        default=None, description="Until when an appeal is possible; null: none is."
    )
    can_appeal: bool = Field(description="Whether this report may be appealed now.")
    review: Literal["upheld", "reversed"] | None = Field(
        default=None, description="On a decision that concluded the review of an appeal."
    )
    review_label: str | None = Field(default=None, description="The review's result in words.")


class AppealView(BaseModel):
    """The reporter's appeal against a decision (its reason is not shown back)."""

    appealed_at: datetime
    decided_at: datetime = Field(description="When the decision appealed against was made.")


class AppealIn(BaseModel):
    """An appeal against the decision on the report's case."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str, StringConstraints(min_length=1, max_length=MAX_APPEAL_REASON), TrimmedNotBlank
    ]


class AppealAccepted(BaseModel):
    """The answer to an accepted appeal."""

    tracking_code: str
    status: Literal["appealed"] = "appealed"
    appealed_at: datetime


def _strict_bool(value: object) -> object:
    """Only JSON's true and false (not 1, "yes") pass on to the literal's check."""
    if not isinstance(value, bool):
        raise PydanticCustomError("bool_type", "Input should be true")
    return value


class ContactErasureIn(BaseModel):
    """A reporter's request to erase the contact they left with the report."""

    model_config = ConfigDict(extra="forbid")

    confirm: Annotated[Literal[True], BeforeValidator(_strict_bool)] = Field(
        description="Must be true: erasing cannot be undone (the agency can no longer contact "
        "the reporter, and no more e-mails are sent)."
    )


class ContactErased(BaseModel):
    """The answer to an erasure: when the contact was erased."""

    tracking_code: str
    contact_erased_at: datetime
    reason: Literal["reporter_request", "retention"] = "reporter_request"


class ReportStatus(BaseModel):
    """What a reporter may see about a report: never contact data or agency notes."""

    tracking_code: str
    status: str
    status_label: str
    category: Category
    agency: str | None
    agency_name: str | None
    submitted_at: datetime
    updated_at: datetime
    history: list[StatusChange]
    category_name: str | None = Field(default=None, description="The category in words.")
    outcome: str | None = Field(default=None, description="How the case ended, once closed.")
    outcome_label: str | None = Field(default=None, description="The outcome in words.")
    language: Literal["vi", "en"] | None = Field(
        default=None, description="The language of the labels."
    )
    decision: DecisionView | None = Field(
        default=None, description="The decision on the case, once there is one."
    )
    appeal: AppealView | None = Field(default=None, description="The appeal, once made.")
    contact_erased_at: datetime | None = Field(
        default=None,
        description="When the reporter's contact was erased (at their request or after the "
        "retention period); never the contact itself.",
    )
    contact_erasure_reason: Literal["reporter_request", "retention"] | None = Field(
        default=None, description="Why it was erased."
    )
    can_erase_contact: bool = Field(
        default=False,
        description="Whether the report holds a contact the reporter may have erased "
        "(POST .../erase-contact).",
    )
    anonymised_at: datetime | None = Field(
        default=None,
        description="When the report's free text (its description, the appeal's reason, the "
        "decision's explanation) was anonymised, a set time after its case closed; those "
        "texts are empty from then on.",
    )


class CategoryInfo(BaseModel):
    """A category with its labels (like an Open311 service)."""

    code: Category
    name_vi: str
    name_en: str
    description_vi: str
    description_en: str


class CategoryList(BaseModel):
    """All categories."""

    categories: list[CategoryInfo]
