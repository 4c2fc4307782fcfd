"""Cases in MongoDB: one per report, each change and its events written in one conditional write."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from services.common import params
from services.common.contracts import (
    CLOSED_STATUSES,
    AnyEvent,
    CaseAssigned,
    CaseEscalated,
    CaseStatus,
    ReportSubmitted,
    new_event_id,
)
from services.common.mongo import Document, MongoDatabase
from services.common.outbox import ensure_outbox_index, outbox_fields, outbox_update
from services.common.params import MIN_DATETIME
from services.routing.policy import Assignment

log = logging.getLogger(__name__)

REPORT_FIELDS_EXCLUDED = {
    "event_id",
    "occurred_at",
    "schema_version",
    "type",
    "report_id",
    "tracking_code",
}


def case_event_fields(case: Document, now: datetime) -> dict[str, Any]:
    """The fields every case event takes from the stored case."""
    return {
        "event_id": new_event_id(),
        "occurred_at": now,
        "case_id": case["_id"],
        "report_id": case["report_id"],
        "tracking_code": case["tracking_code"],
        "agency": case["agency"],
        "category": case["category"],
        "priority": case["priority"],
        "status": case["status"],
        "version": case["version"],
        "due_at": case["due_at"],
        "province": case["report"].get("province"),
        "district": case["report"].get("district"),
    }


def new_case(
    report: ReportSubmitted, assignment: Assignment, policy_version: str, now: datetime
) -> Document:
    """A case document for a report, as routed."""
    status = CaseStatus.TRIAGE if assignment.rule_id is None else CaseStatus.ASSIGNED
    return {
        "_id": uuid.uuid4().hex,
        "report_id": report.report_id,
        "tracking_code": report.tracking_code,
        "report": report.model_dump(mode="python", exclude=REPORT_FIELDS_EXCLUDED),
        "reported_at": report.occurred_at,
        "agency": assignment.agency,
        "category": report.category.value,
        "priority": assignment.priority.value,
        "status": status.value,
        "version": 1,
        "due_at": now + assignment.deadline,
        "acknowledge_within_s": assignment.deadline.total_seconds(),
        "resolve_within_s": assignment.resolve_within.total_seconds()
        if assignment.resolve_within
        else None,
        "policy_version": policy_version,
        "rule_id": assignment.rule_id,
        "created_at": now,
        "updated_at": now,
        "audit": [
            {
                "at": now,
                "actor": "routing",
                "action": "assign",
                "from": None,
                "to": status.value,
                "note": f"rule {assignment.rule_id or '(none: triage)'}",
                "agency": assignment.agency,
            }
        ],
        "notes": [],
        "escalations": [],
    }


def assigned_event(case: Document, now: datetime, **extra: Any) -> CaseAssigned:
    """`case.assigned.<agency>` for the case as it now stands."""
    return CaseAssigned(
        **case_event_fields(case, now),
        policy_version=case["policy_version"],
        rule_id=case["rule_id"],
        **extra,
    )


@dataclass(frozen=True)
class CaseQuery:
    """Filters of the case list."""

    agency: str | None = None
    status: str | None = None
    category: str | None = None
    overdue: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    cursor: str | None = None
    limit: int = 50


OPEN_STATUSES = [s.value for s in CaseStatus if s not in CLOSED_STATUSES]
CLOSED = [s.value for s in CLOSED_STATUSES]


@dataclass(frozen=True)
class Phase:
    """One run of the most-urgent-first order: which cases, sorted on what, which way."""

    criteria: dict[str, Any]
    key: str
    direction: int


# Most urgent first, across all of an agency's cases: open cases with a deadline, soonest
# (most overdue) first; then open cases without one, newest first; then closed ones, newest
# first. Each phase is one indexed range; the cursor names the phase and the position in it.
PHASES = (
    Phase({"status": {"$in": OPEN_STATUSES}, "due_at": {"$gte": MIN_DATETIME}}, "due_at", 1),
    Phase({"status": {"$in": OPEN_STATUSES}, "due_at": None}, "created_at", -1),
    Phase({"status": {"$in": CLOSED}}, "created_at", -1),
)


def encode_cursor(phase: int, case: Document) -> str:
    """An opaque cursor pointing after `case` in phase `phase`."""
    return params.encode_cursor((phase, case[PHASES[phase].key], case["_id"]))


def decode_cursor(cursor: str) -> tuple[int, datetime, str]:
    """The (phase, sort value, id) a cursor points after; ParamError if it is not one."""
    phase, at, case_id = params.decode_cursor(cursor, shape=(int, datetime, str))
    if not 0 <= phase < len(PHASES):
        raise params.ParamError("cursor", "not a cursor this service made; start again without it")
    return phase, at, case_id


class CaseRepository:
    """The cases collection."""

    def __init__(self, db: MongoDatabase) -> None:
        self.cases = db.cases

    async def ensure_indexes(self) -> None:
        """One case per report; list and overdue queries by agency; the outbox."""
        await self.cases.create_index([("report_id", ASCENDING)], unique=True)
        await self.cases.create_index(
            [("agency", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)]
        )
        await self.cases.create_index([("created_at", DESCENDING), ("_id", DESCENDING)])
        await self.cases.create_index([("status", ASCENDING), ("due_at", ASCENDING)])
        await self.cases.create_index(
            [("agency", ASCENDING), ("due_at", ASCENDING), ("_id", ASCENDING)]
        )
        await ensure_outbox_index(self.cases)

    async def create(self, case: Document, events: list[AnyEvent], now: datetime) -> bool:
        """Insert the case with its events; False when the report already has a case."""
        try:
            await self.cases.insert_one({**case, **outbox_fields(events, now)})
        except DuplicateKeyError:
            return False
        return True

    async def get(self, case_id: str) -> Document | None:
        """A case by id, without its outbox."""
        return await self.cases.find_one({"_id": case_id}, {"outbox": 0})

    async def write_change(
        self,
        case: Document,
        changes: dict[str, Any],
        audit: dict[str, Any],
        events: list[AnyEvent],
        now: datetime,
    ) -> bool:
        """Apply `changes` if nobody changed the case since it was read (same version)."""
        update = outbox_update(events, now)
        update["$set"] = {**changes, "updated_at": now}
        update["$push"]["audit"] = audit
        result = await self.cases.update_one(
            {"_id": case["_id"], "version": case["version"]}, update
        )
        return result.modified_count == 1

    async def record_escalation(self, event: CaseEscalated) -> bool:
        """Note an escalation in the case's audit log, once per event."""
        entry = {
            "at": event.escalated_at,
            "actor": "notify",
            "action": "escalated",
            "from": event.status.value,
            "to": event.status.value,
            "note": f"level {event.level}: {', '.join(event.targets)}",
            "level": event.level,
            "event_id": event.event_id,
        }
        result = await self.cases.update_one(
            {"_id": event.case_id, "escalations": {"$ne": event.event_id}},
            {"$push": {"audit": entry, "escalations": event.event_id}},
        )
        return result.modified_count == 1

    async def created_between(
        self, start: datetime, end: datetime, *, limit: int = 50_000
    ) -> list[Document]:
        """Cases created in [start, end), with the fields the dashboard needs."""
        fields = [
            "category",
            "agency",
            "status",
            "created_at",
            "acknowledged_at",
            "closed_at",
            "acknowledge_within_s",
            "resolve_within_s",
        ]
        cursor = self.cases.find({"created_at": {"$gte": start, "$lt": end}}, fields)
        return await cursor.limit(limit).to_list()

    async def recent_escalations(self, *, limit: int) -> list[dict[str, Any]]:
        """The latest escalations recorded on cases, newest first (the console's alert log)."""
        cases = (
            await self.cases.find(
                {"escalations.0": {"$exists": True}},
                {"audit": 1, "tracking_code": 1, "agency": 1, "updated_at": 1},
            )
            .sort("updated_at", DESCENDING)
            .limit(limit)
            .to_list()
        )
        entries = [
            {
                **entry,
                "case_id": case["_id"],
                "tracking_code": case["tracking_code"],
                "agency": case["agency"],
            }
            for case in cases
            for entry in case["audit"]
            if entry.get("action") == "escalated"
        ]
        return sorted(entries, key=lambda e: e["at"], reverse=True)[:limit]

    async def find(self, query: CaseQuery, now: datetime) -> tuple[list[Document], str | None]:
        """One page of cases, most urgent first (see PHASES), and the cursor of the next page."""
        criteria = _criteria(query, now)
        start, after = (0, None) if not query.cursor else _resume(query.cursor)
        found: list[tuple[int, Document]] = []
        for index in range(start, len(PHASES)):
            phase = PHASES[index]
            where = [criteria, phase.criteria]
            if after is not None and index == start:
                where.append(_after(phase, *after))
            docs = (
                await self.cases.find({"$and": where}, {"outbox": 0})
                .sort([(phase.key, phase.direction), ("_id", phase.direction)])
                .limit(query.limit + 1 - len(found))
                .to_list()
            )
            found += [(index, doc) for doc in docs]
            if len(found) > query.limit:
                break
        page = found[: query.limit]
        next_cursor = encode_cursor(*page[-1]) if len(found) > query.limit else None
        return [doc for _, doc in page], next_cursor


def _criteria(query: CaseQuery, now: datetime) -> dict[str, Any]:
    """The filters of a case list as one query document."""
    criteria: dict[str, Any] = {}
    for name in ("agency", "status", "category"):
        if (value := getattr(query, name)) is not None:
            criteria[name] = value
    created: dict[str, datetime] = {}
    if query.created_from:
        created["$gte"] = query.created_from
    if query.created_to:
        created["$lt"] = query.created_to
    if created:
        criteria["created_at"] = created
    if query.overdue is True:
        criteria["$and"] = [{"status": {"$in": OPEN_STATUSES}, "due_at": {"$lt": now}}]
    elif query.overdue is False:
        criteria["$and"] = [{"$or": [{"due_at": None}, {"due_at": {"$gte": now}}]}]
    return criteria


def _resume(cursor: str) -> tuple[int, tuple[datetime, str]]:
    phase, at, case_id = decode_cursor(cursor)
    return phase, (at, case_id)


def _after(phase: Phase, at: datetime, case_id: str) -> dict[str, Any]:
    """The cases after (`at`, `case_id`) in the phase's order."""
    beyond = "$gt" if phase.direction == 1 else "$lt"
    return {"$or": [{phase.key: {beyond: at}}, {phase.key: at, "_id": {beyond: case_id}}]}
