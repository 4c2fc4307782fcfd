"""Reporters' contacts in routing: kept sealed in the cases, opened only by a reveal.

A reveal is allowed to the agency holding the case (and to an agency the policy informs with
`inform_contact`), never to a person whose role sees no contact (auditors); it opens the
contacts of the case's reports (or of one report) and adds a `contact_revealed` line naming the
principal and the person to the case's audit log in one `$push`. Also here: where a case
document keeps contacts, for sealing the clear ones left from before sealing and for rotation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from services.common.mongo import Document
from services.common.resealing import ContactHolder, Slot
from services.common.sealing import KeyRing
from services.routing.case import AuditRecord, Case
from services.routing.erasure import CONTACT_ERASED
from services.routing.people import Person
from services.routing.sharing import sees_contact

CONTACT_REVEALED = "contact_revealed"


class RevealedContact(BaseModel):
    """One report's contact, opened."""

    report_id: str
    tracking_code: str
    name: str | None = None
    phone: str | None = None
    email: str | None = None


class RevealedContacts(BaseModel):
    """The answer to a reveal: the contacts of the case's reports that hold one."""

    case_id: str
    contacts: list[RevealedContact] = Field(description="One per report holding a contact.")


class ContactRefused(Exception):
    """The caller may not see the reporter's contact (403)."""


class NoContact(Exception):
    """The case (or the report named) holds no contact (404), or none any more (`erased`: 410)."""

    def __init__(self, message: str, *, erased: bool, field: str | None = None) -> None:
        super().__init__(message)
        self.erased, self.field = erased, field


@dataclass(frozen=True)
class Reveal:
    """What a reveal shows and the audit line that records it."""

    contacts: RevealedContacts
    audit: AuditRecord
    opened: dict[str, str]  # report id -> the sealed contact opened

    def still_held(self) -> Document:
        """The filter matching the case only while it holds every contact opened, as opened
        (an erasure or a rotation meanwhile makes the audit write miss)."""
        return {
            "$and": [
                {"reports": {"$elemMatch": {"report_id": report_id, "contact_sealed": sealed}}}
                for report_id, sealed in self.opened.items()
            ]
        }


def may_reveal(case: Case, principal: str, person: Person | None) -> bool:
    """Whether this principal (and person, when signed in as one) may open the contact."""
    return sees_contact(case, principal) and (person is None or person.sees_contact)


def plan_reveal(
    case: Case,
    principal: str,
    who: str | None,
    person: Person | None,
    keys: KeyRing,
    now: datetime,
    report_id: str | None = None,
) -> Reveal:
    """Open the contacts of `case` (or of its report `report_id`) for `principal`; `who` is
    how the audit names the caller (a person's audit name, an API key's id)."""
    if not may_reveal(case, principal, person):
        raise ContactRefused("the reporter's contact is shown only to the agency holding the case")
    entries = [e for e in case.reports if report_id in (None, e.report_id)]
    if report_id is not None and not entries:
        raise NoContact(f"the case holds no report {report_id}", erased=False, field="report_id")
    held = [e for e in entries if e.contact_sealed]
    if not held:
        erased = any(a.action == CONTACT_ERASED for a in case.audit)
        raise NoContact(
            "the reporter's contact was erased" if erased else "no contact", erased=erased
        )
    contacts = [_opened(keys, e.contact_sealed or "", e.report_id, e.tracking_code) for e in held]
    audit = AuditRecord(
        at=now,
        actor=principal,
        person=who,
        action=CONTACT_REVEALED,
        from_status=case.status.value,
        to_status=case.status.value,
        note="contact of " + ", ".join(c.tracking_code for c in contacts),
        agency=case.agency,
        event_id=f"reveal:{uuid.uuid4().hex}",
    )
    opened = {e.report_id: e.contact_sealed or "" for e in held}
    return Reveal(RevealedContacts(case_id=case.case_id, contacts=contacts), audit, opened)


def _opened(keys: KeyRing, sealed: str, report_id: str, tracking_code: str) -> RevealedContact:
    contact = keys.open_contact(sealed, report_id)
    return RevealedContact(report_id=report_id, tracking_code=tracking_code, **contact.model_dump())


def case_contact_slots(doc: Document) -> list[Slot]:
    """The contacts a stored case holds: its first report's (`report`) and each entry's."""
    slots = []
    first = doc.get("report") or {}
    slots += _slots(first, str(doc.get("report_id")), "report", {})
    for index, entry in enumerate(doc.get("reports") or []):
        at = f"reports.{index}"
        report_id = str(entry.get("report_id"))
        slots += _slots(entry, report_id, at, {f"{at}.report_id": report_id})
    return slots


def _slots(part: Document, report_id: str, at: str, where: Document) -> list[Slot]:
    sealed_path, legacy_path = f"{at}.contact_sealed", f"{at}.contact"
    if sealed := part.get("contact_sealed"):
        return [Slot(report_id, sealed, sealed_path, legacy_path, {**where, sealed_path: sealed})]
    if clear := part.get("contact"):
        exists = {**where, legacy_path: {"$exists": True}}
        return [Slot(report_id, clear, sealed_path, legacy_path, exists)]
    return []


def _holding(field: str) -> Document:
    return {
        "$or": [
            {f"report.{field}": {"$ne": None}},
            {"reports": {"$elemMatch": {field: {"$ne": None}}}},
        ]
    }


CASE_CONTACTS = ContactHolder(
    service="routing",
    collection="cases",
    holding={"$or": [*_holding("contact_sealed")["$or"], *_holding("contact")["$or"]]},
    holding_clear=_holding("contact"),
    projection={
        "report_id": 1,
        "report.contact_sealed": 1,
        "report.contact": 1,
        "reports.report_id": 1,
        "reports.contact_sealed": 1,
        "reports.contact": 1,
    },
    slots=case_contact_slots,
    version="version",  # split, merge and erasure write on the version read
)
