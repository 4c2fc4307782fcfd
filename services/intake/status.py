"""The reporter-visible status read model, kept current from `case.assigned` and `case.updated`."""

from __future__ import annotations

import logging
from typing import Any

from services.common.contracts import CaseAssigned, CaseStatus, CaseUpdated
from services.common.mongo import Document, MongoDatabase

log = logging.getLogger(__name__)

REPORTER_STATUS: dict[CaseStatus, str] = {
    CaseStatus.TRIAGE: "under_review",
    CaseStatus.ASSIGNED: "assigned",
    CaseStatus.ACKNOWLEDGED: "acknowledged",
    CaseStatus.IN_PROGRESS: "in_progress",
    CaseStatus.RESOLVED: "resolved",
    CaseStatus.REJECTED: "rejected",
}


def is_newer(case: Document | None, event: CaseAssigned | CaseUpdated) -> bool:
    """Whether `event` is newer than the case state already known.

    A reassignment announces `case.updated` (old agency) and `case.assigned` (new agency) at
    the same version; the assignment wins the tie so the reporter sees the new agency.
    """
    if case is None or event.version > case["version"]:
        return True
    return (
        event.version == case["version"]
        and event.type == "case.assigned"
        and case["event_type"] != "case.assigned"
    )


def plan_status_update(report: Document, event: CaseAssigned | CaseUpdated) -> Document | None:
    """The update that brings `report` up to `event`, or None when it already knows better."""
    if not is_newer(report.get("case"), event):
        return None
    status = REPORTER_STATUS[event.status]
    update: Document = {
        "$set": {
            "case": {
                "case_id": event.case_id,
                "agency": event.agency,
                "status": event.status.value,
                "version": event.version,
                "event_type": event.type,
            },
            "status": status,
            "updated_at": event.occurred_at,
        }
    }
    if status != report.get("status"):
        update["$push"] = {"history": {"status": status, "at": event.occurred_at}}
    return update


class StatusFollower:
    """Applies case events to the report documents; idempotent and tolerant of reordering."""

    def __init__(self, db: MongoDatabase, *, max_races: int = 5) -> None:
        self.reports = db.reports
        self.max_races = max_races

    async def apply(self, event: CaseAssigned | CaseUpdated) -> None:
        """Record the case's agency and status on its report, unless already newer."""
        for _ in range(self.max_races):
            report = await self.reports.find_one({"_id": event.report_id}, {"case": 1, "status": 1})
            if report is None:
                log.warning("case event for an unknown report", extra=_ids(event))
                return
            update = plan_status_update(report, event)
            if update is None:
                return
            if await self._write(report, update):
                log.info("reporter status updated", extra={**_ids(event), "status": event.status})
                return
        raise RuntimeError(f"status of report {event.report_id} kept changing under us")

    async def _write(self, report: Document, update: Document) -> bool:
        """Apply `update` only if the report's case version is still the one planned from."""
        previous = report.get("case")
        expected: Any = previous["version"] if previous else {"$exists": False}
        result = await self.reports.update_one(
            {"_id": report["_id"], "case.version": expected}, update
        )
        return result.modified_count == 1


def _ids(event: CaseAssigned | CaseUpdated) -> dict[str, str]:
    return {"report_id": event.report_id, "case_id": event.case_id, "event_id": event.event_id}
