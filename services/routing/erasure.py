"""A reporter's contact erased by intake (`report.contact_erased`): every case holding the
report forgets it too.

Each case is one conditional write on the version read: the report's entry (and, for the case's
first report, `report`) loses its contact and the audit log gains a `contact_erased` line naming
who asked (`reporter` or `retention`). Nothing reporter-visible changes, so no event is
published. A redelivered event finds the line already there and changes nothing; an event about
a report no case holds is acknowledged and logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Counter

from services.common.clock import Clock
from services.common.contracts import ErasureReason, ReportContactErased
from services.routing.case import AuditRecord, Case
from services.routing.cases import CaseRepository

log = logging.getLogger(__name__)

CONTACT_ERASED = "contact_erased"
ACTORS = {ErasureReason.REPORTER_REQUEST: "reporter", ErasureReason.RETENTION: "retention"}
ERASURES = Counter(
    "routing_contact_erasures_total", "Cases whose copy of a reporter's contact was erased"
)


def holds_contact(case: Case, report_id: str) -> bool:
    """Whether the case still holds the contact of this report (its entry or, for its first
    report, `report`)."""
    entry = case.report_entry(report_id)
    first = case.report_id == report_id and case.report.contact_sealed is not None
    return first or (entry is not None and entry.contact_sealed is not None)


def already_erased(case: Case, event: ReportContactErased) -> bool:
    """Whether this event was applied to the case before (a redelivery)."""
    return any(entry.event_id == event.event_id for entry in case.audit)


def erasure_record(case: Case, event: ReportContactErased, now: datetime) -> AuditRecord:
    """The audit line of the erasure."""
    return erased_line(
        status=case.status.value,
        agency=case.agency,
        reason=event.reason,
        what=event.tracking_code,
        event_id=event.event_id,
        now=now,
    )


def erased_line(
    *,
    status: str,
    agency: str | None,
    reason: ErasureReason,
    what: str,
    event_id: str,
    now: datetime,
) -> AuditRecord:
    """A `contact_erased` audit line: `what` (tracking codes) lost its contact for `reason`."""
    return AuditRecord(
        at=now,
        actor=ACTORS[reason],
        action=CONTACT_ERASED,
        from_status=status,
        to_status=status,
        note=f"{what}: the reporter's contact was erased ({reason.value})",
        agency=agency,
        event_id=event_id,
    )


@dataclass
class ContactErasures:
    """Applies `report.contact_erased` to routing's cases."""

    repository: CaseRepository
    clock: Clock
    max_rounds: int = 5

    async def on_erased(self, event: ReportContactErased) -> None:
        """Erase the report's contact in every case holding it, once per event."""
        where = {"report_id": event.report_id, "reason": event.reason.value}
        case_ids = await self.repository.cases_holding(event.report_id)
        if not case_ids:
            log.info("contact erasure for a report no case holds; nothing to do", extra=where)
            return
        for case_id in case_ids:
            await self._erase_in(case_id, event)

    async def _erase_in(self, case_id: str, event: ReportContactErased) -> None:
        where = {"case_id": case_id, "report_id": event.report_id}
        for _ in range(self.max_rounds):
            case = await self.repository.get(case_id)
            if case is None or already_erased(case, event):
                return
            if not holds_contact(case, event.report_id):
                log.info("case holds no contact of the report; nothing to erase", extra=where)
                return
            audit = erasure_record(case, event, self.clock())
            if await self.repository.erase_contact(case, event.report_id, audit):
                ERASURES.inc()
                log.info("reporter's contact erased from the case", extra=where)
                return
        raise RuntimeError(f"case {case_id} kept changing under the contact erasure")
