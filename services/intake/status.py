"""The reporter-visible status read model, kept current from `case.assigned` and `case.updated`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pymongo import UpdateOne

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
    """Applies case events to the report documents; idempotent and tolerant of reordering.

    A batch of events costs one read and one write per round: each round takes the oldest
    pending event of every report, plans its update from the stored state, and writes them
    all in one `bulk_write`, each conditional on the case version it was planned from.
    """

    def __init__(self, db: MongoDatabase, *, max_rounds: int = 20) -> None:
        self.reports = db.reports
        self.max_rounds = max_rounds

    async def apply(self, event: CaseAssigned | CaseUpdated) -> None:
        """Record one event (the batch of one)."""
        (outcome,) = await self.apply_many([event])
        if outcome is not None:
            raise outcome

    async def apply_many(
        self, events: Sequence[CaseAssigned | CaseUpdated]
    ) -> list[BaseException | None]:
        """Record every event on its report; per event, None or its own error."""
        pending = sorted(events, key=lambda e: e.version)
        for _ in range(self.max_rounds):
            if not pending:
                return [None] * len(events)
            round_events = _first_per_report(pending)
            reports = await self._reports({e.report_id for e in round_events})
            if await self._write_round(round_events, reports):
                done = {id(e) for e in round_events}
                pending = [e for e in pending if id(e) not in done]
        unfinished = {id(e) for e in pending}
        return [
            RuntimeError(f"status of report {e.report_id} kept changing under us")
            if id(e) in unfinished
            else None
            for e in events
        ]

    async def _reports(self, report_ids: set[str]) -> dict[str, Document]:
        found = self.reports.find({"_id": {"$in": list(report_ids)}}, {"case": 1, "status": 1})
        return {doc["_id"]: doc async for doc in found}

    async def _write_round(
        self, events: list[CaseAssigned | CaseUpdated], reports: dict[str, Document]
    ) -> bool:
        """Write this round's updates; False when one lost a race (the round is planned again)."""
        writes, applied = [], []
        for event in events:
            report = reports.get(event.report_id)
            if report is None:
                log.warning("case event for an unknown report", extra=_ids(event))
                continue
            update = plan_status_update(report, event)
            if update is not None:
                writes.append(UpdateOne(_unchanged(report), update))
                applied.append(event)
        if not writes:
            return True
        result = await self.reports.bulk_write(writes, ordered=False)
        if result.matched_count != len(writes):
            return False
        for event in applied:
            log.info("reporter status updated", extra={**_ids(event), "status": event.status})
        return True


def _unchanged(report: Document) -> Document:
    """A filter matching the report only while its case version is the one planned from."""
    previous = report.get("case")
    expected: Any = previous["version"] if previous else {"$exists": False}
    return {"_id": report["_id"], "case.version": expected}


def _first_per_report(
    events: list[CaseAssigned | CaseUpdated],
) -> list[CaseAssigned | CaseUpdated]:
    """The first (oldest) event of each report, so one round writes each report once."""
    seen: set[str] = set()
    first = []
    for event in events:
        if event.report_id not in seen:
            seen.add(event.report_id)
            first.append(event)
    return first


def _ids(event: CaseAssigned | CaseUpdated) -> dict[str, str]:
    return {"report_id": event.report_id, "case_id": event.case_id, "event_id": event.event_id}
