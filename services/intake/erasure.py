"""Erasing a reporter's contact at their request, with the tracking code.

Intake erases its own copy at once and, in the same conditional write, puts a
`report.contact_erased` event in the report's outbox, so routing erases the copies in the cases
that hold the report. The rules are pure functions of the stored report and the time
(`plan_erasure`); `Erasures.erase` is the one path of the API and the status page alike.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.common.clock import Clock
from services.common.contracts import ErasureReason, ReportContactErased, event_occurred
from services.common.i18n import localised
from services.common.mongo import Document
from services.common.outbox import QUARANTINE, outbox_update, with_outbox
from services.intake.labels import Language
from services.intake.repository import (
    HOLDING,
    LEGACY_CONTACT,
    REQUEST_HASH,
    SEALED_CONTACT,
    ReportRepository,
)

ERASED_AT, ERASURE_REASON = "contact_erased_at", "contact_erasure_reason"
# Quarantined outbox entries that may hold the contact: all but those of events that carry
# none (`report.submitted` holds it sealed; a whole outbox set aside as not a list, unknown).
HOLDS_CONTACT = {"entry.type": {"$nin": ["report.appealed", "report.contact_erased"]}}


class ErasureRefusal(StrEnum):
    """Why there is nothing to erase (both answered 409)."""

    ALREADY_ERASED = "already_erased"
    NOTHING_TO_ERASE = "nothing_to_erase"

    def message(self, lang: Language) -> str:
        """The refusal in words."""
        return REFUSALS[self][lang]


REFUSALS: dict[ErasureRefusal, dict[Language, str]] = {
    ErasureRefusal.ALREADY_ERASED: localised(
        "The contact details of this report were already erased."
    ),
    ErasureRefusal.NOTHING_TO_ERASE: localised(
        "This report has no contact details to erase: it was sent without them."
    ),
}


@dataclass(frozen=True)
class ErasurePlan:
    """The conditional write erasing a report's contact and the event announcing it."""

    filter: Document
    update: Document
    event: ReportContactErased


def plan_erasure(document: Document, reason: ErasureReason, now: datetime) -> ErasurePlan:
    """The write erasing the contact of `document` (a report) at `now` for `reason`; it
    matches only while the report still holds a contact that was not erased."""
    event = ReportContactErased(
        **event_occurred(now),
        report_id=document["_id"],
        tracking_code=document["tracking_code"],
        erased_at=now,
        reason=reason,
    )
    # The request's hash is of a body that held the contact; a quarantined `report.submitted`
    # (an outbox entry that could not be published) holds it sealed: all go with it. Kept for
    # the change-stream relay, the outbox holds only the erasure's event from now on.
    own = {
        "$unset": {SEALED_CONTACT: "", LEGACY_CONTACT: "", REQUEST_HASH: ""},
        "$set": {ERASED_AT: now, ERASURE_REASON: reason.value},
        "$pull": {QUARANTINE: HOLDS_CONTACT},
    }
    update = with_outbox(own, outbox_update([event], now))
    condition = {"_id": document["_id"], ERASED_AT: None, **HOLDING}
    return ErasurePlan(condition, update, event)


def erasure_refusal(document: Document, holds_contact: bool) -> ErasureRefusal | None:
    """Why the report's contact cannot be erased (again), or None when it can."""
    if document.get(ERASED_AT) is not None:
        return ErasureRefusal.ALREADY_ERASED
    return None if holds_contact else ErasureRefusal.NOTHING_TO_ERASE


@dataclass
class Erasures:
    """Erases reporters' contacts on request: the report's copy, then its pending e-mails."""

    repository: ReportRepository
    clock: Clock
    stored_hook: Callable[[], None]  # wakes the outbox relay
    drop_mails: Callable[[str, datetime], Awaitable[int]]  # a report's pending decision e-mails

    async def erase(self, document: Document) -> ErasureRefusal | datetime:
        """Erase the report's contact at the reporter's request: when done, its time; else why
        not (already erased, or none was left)."""
        now = self.clock()
        plan = plan_erasure(document, ErasureReason.REPORTER_REQUEST, now)
        if not await self.repository.apply(plan.filter, plan.update):
            current = await self.repository.by_id(document["_id"])
            if current is None:
                return ErasureRefusal.NOTHING_TO_ERASE
            refusal = erasure_refusal(current, await self.repository.holds_contact(current["_id"]))
            return refusal or ErasureRefusal.ALREADY_ERASED
        self.stored_hook()
        # The sender reads the address when it sends, and drops a mail whose report has none:
        # this ends at once the mails waiting for a retry too.
        await self.drop_mails(document["_id"], now)
        return now
