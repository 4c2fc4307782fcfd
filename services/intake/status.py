"""The reporter-visible status read model, kept current from `case.assigned` and `case.updated`.

A report belongs to one case at a time; several reports can belong to one case (reports of the
same content join it). Intake keeps the latest known state of every case (`case_states`, by
the case version the events carry) and, on each report linked to a case, a copy of it: the
report's `status`, `history`, `case.{case_id, agency, status, version, outcome}` and
`updated_at`, which the status page reads. A report is linked to a case by the events naming
it: as the case's first report (`report_id`) or in `report_ids` of `case.updated` (a report
that joined, or the reports of a merged case); every case event that changes what a reporter
sees (agency, status, outcome, decision) then fans out to every report linked to the case. One
that does not (another report joining, a note) writes only the reports it names, so a case
reported by thousands does not rewrite thousands of reports for each that joins.
Versions make it idempotent and tolerant of reordering: an older state never overwrites a newer
one, a link made before the case's later events still gets their state, and a report that
moved (split off, merged) follows its latest link (by the time of the linking event).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import InsertOne, UpdateMany, UpdateOne
from pymongo.errors import BulkWriteError

from services.common.contracts import CaseAssigned, CaseStatus, CaseUpdated
from services.common.mongo import Document, MongoDatabase
from services.intake.labels import RECEIVED

log = logging.getLogger(__name__)

REPORTER_STATUS: dict[CaseStatus, str] = {
    CaseStatus.TRIAGE: "under_review",
    CaseStatus.ASSIGNED: "assigned",
    CaseStatus.ACKNOWLEDGED: "acknowledged",
    CaseStatus.IN_PROGRESS: "in_progress",
    CaseStatus.RESOLVED: "resolved",
    CaseStatus.REJECTED: "rejected",
    CaseStatus.WAITING_ON_PLATFORM: "waiting_on_platform",
    CaseStatus.APPEALED: "appealed",
}
# Reports linked by one statement (`plan_first_links`): each report's place is looked up in
# the statement's list of ids, so a statement's work grows with the square of its size.
LINK_PART = 25
LINK_PLACE = "_link_place"  # the report's place in that list, set and removed by the statement
NO_CASE = {"case.version": {"$exists": False}}  # a report not linked to a case yet
MERGED = "merged"  # the action closing a case merged into another: its reports move on
CaseEvent = CaseAssigned | CaseUpdated


def is_newer(case: Document | None, event: CaseEvent) -> bool:
    """Whether `event` is newer than the case state already known.

    A reassignment announces `case.updated` (old agency) and `case.assigned` (new agency); at
    the same version the assignment wins the tie so the reporter sees the new agency.
    """
    if case is None or event.version > case["version"]:
        return True
    return (
        event.version == case["version"]
        and event.type == "case.assigned"
        and case.get("event_type") != "case.assigned"
    )


def case_state(event: CaseEvent, known: Document | None) -> Document:
    """The state of the case `event` announces (the outcome and the decision kept from `known`
    when the event carries none, e.g. a note added to a closed case)."""
    same_case = known is not None and known.get("case_id") == event.case_id
    outcome = getattr(event, "outcome", None)
    if outcome is None and same_case and known is not None:
        outcome = known.get("outcome")
    decision = event.decision.model_dump(mode="python") if event.decision else None
    if decision is None and same_case and known is not None:
        decision = known.get("decision")
    return {
        "case_id": event.case_id,
        "agency": event.agency,
        "status": event.status.value,
        "version": event.version,
        "event_type": event.type,
        "outcome": outcome,
        "decision": decision,
        "at": event.occurred_at,
    }


def linked_reports(event: CaseEvent) -> list[str]:
    """The reports `event` links to its case: the case's first report (it never leaves its
    case, except with the whole case in a merge) and the reports it names as joining."""
    if _merged_away(event):
        return []
    named = event.report_ids if isinstance(event, CaseUpdated) else []
    return list(dict.fromkeys([event.report_id, *named]))


def should_link(report: Document, case_id: str, at: datetime) -> bool:
    """Whether a link to `case_id` made at `at` moves `report` there: when it has no case yet,
    or its current link is older (a report split off or merged follows its latest link)."""
    current = report.get("case")
    if current is None:
        return True
    if current.get("case_id") == case_id:
        return False  # already there: the fan-out brings it up to date
    linked_at = current.get("linked_at")
    return linked_at is None or linked_at < at


def plan_link(report: Document, state: Document, at: datetime) -> Document:
    """The update moving `report` to the case in `state`, linked at `at`."""
    status = REPORTER_STATUS[CaseStatus(state["status"])]
    update: Document = {
        "$set": {
            "case": {**_snapshot(state), "case_id": state["case_id"], "linked_at": at},
            "status": status,
            "updated_at": state["at"],
        }
    }
    if status != report.get("status"):
        update["$push"] = {"history": {"status": status, "at": state["at"]}}
    return update


def plan_first_links(links: Sequence[tuple[str, Document]]) -> list[UpdateOne | UpdateMany]:
    """The writes linking reports that have no case yet, from `(report id, plan_link's update)`
    pairs, each report on that condition: one statement per `LINK_PART` reports. SecantusDB,
    the embedded server, plans a statement's filter against every index of the collection
    when it names more than `_id`, so one statement for many reports costs it far less than
    one each (`python -m bench.update_cost --statements`)."""
    return [
        _link_statement(links[start : start + LINK_PART])
        for start in range(0, len(links), LINK_PART)
    ]


def _link_statement(links: Sequence[tuple[str, Document]]) -> UpdateOne | UpdateMany:
    """For one report its update itself; for several, one pipeline that gives each report its
    own values by its place in the list of ids (a missing history becomes a list)."""
    if len(links) == 1:
        ((rid, update),) = links
        return UpdateOne(_unchanged({"_id": rid}), update)
    ids = [rid for rid, _ in links]
    place = "$" + LINK_PLACE

    def each(values: list[Any]) -> Document:
        return {"$arrayElemAt": [{"$literal": values}, place]}

    fields = {key: each([u["$set"][key] for _, u in links]) for key in links[0][1]["$set"]}
    lines = [[u["$push"]["history"]] if "$push" in u else [] for _, u in links]
    history = {"$concatArrays": [{"$ifNull": ["$history", []]}, each(lines)]}
    return UpdateMany(
        {"_id": {"$in": ids}, **NO_CASE},
        [
            {"$set": {LINK_PLACE: {"$indexOfArray": [{"$literal": ids}, "$_id"]}}},
            {"$set": {**fields, "history": history}},
            {"$unset": LINK_PLACE},
        ],
    )


def plan_fan_out(state: Document) -> list[UpdateMany]:
    """Bring every report linked to the case up to `state` (two updates: those whose status
    changes get a history line, the others only the new case state)."""
    status = REPORTER_STATUS[CaseStatus(state["status"])]
    case_id, version = state["case_id"], state["version"]
    # Plain equality and range on the (case.case_id, case.version) index: no `$or`.
    older: list[Document] = [{"case.case_id": case_id, "case.version": {"$lt": version}}]
    if state["event_type"] == "case.assigned":  # wins the tie with an update of its version
        older.append(
            {
                "case.case_id": case_id,
                "case.version": version,
                "case.event_type": {"$ne": "case.assigned"},
            }
        )
    fields = {f"case.{k}": v for k, v in _snapshot(state).items()}
    fields |= {"status": status, "updated_at": state["at"]}
    history = {"history": {"status": status, "at": state["at"]}}
    return [
        write
        for base in older
        for write in (
            UpdateMany({**base, "status": {"$ne": status}}, {"$set": fields, "$push": history}),
            UpdateMany({**base, "status": status}, {"$set": fields}),
        )
    ]


def _snapshot(state: Document) -> Document:
    """What a report keeps of its case's state."""
    keys = ("agency", "status", "version", "event_type", "outcome")
    return {**{k: state[k] for k in keys}, "decision": state.get("decision")}


# What a reporter sees of the case's state; the version and the event type only order states.
VISIBLE = ("agency", "status", "outcome", "decision")


def seen_differently(known: Document, state: Document) -> bool:
    """Whether a reporter would see `state` otherwise than `known`. Another report joining the
    case, a note or a changed priority show nothing new: the reports already linked keep their
    copy, and only the reports the event names are written. Rewriting every linked report for
    those made each join of a case reported by thousands rewrite thousands of reports."""
    return any(known.get(key) != state.get(key) for key in VISIBLE)


def is_state_of(known: Document, event: CaseEvent) -> bool:
    """Whether `known` is the state `event` announces, stored already: the event is delivered
    again, or its round is planned again, after its state was written. Its fan-out may not
    have been, so it is done again (it matches no report that has it)."""
    return known["version"] == event.version and known.get("event_type") == event.type


@dataclass
class StatusFollower:
    """Applies case events to the case states and the reports linked to them.

    A batch goes in rounds: each round takes the oldest pending event of every case, stores
    the newer case states (one read, one write), links the reports the events name (one read,
    one write, each conditional on the report's case as read) and fans the states out to the
    linked reports (one write). A round that lost a race is planned again.

    An event that created its case (`opens_case`) is written without those reads the first
    time it is tried: its state is inserted and its report linked on the condition that it has
    no case, which is what the reads would have found. When a write finds otherwise (the event
    is delivered again, the report was split off another case), the round is planned again,
    reading as for any other event.
    """

    db: MongoDatabase
    max_rounds: int = 20  # rounds a batch may lose to races, beyond those it needs
    # Called with the applied events that carry a decision (decision e-mails are queued there);
    # an error there leaves those events to be delivered again.
    decided: Callable[[Sequence[CaseEvent]], Awaitable[None]] | None = None

    def __post_init__(self) -> None:
        self.reports = self.db.reports
        self.states = self.db.case_states

    async def apply(self, event: CaseEvent) -> None:
        """Record one event (the batch of one)."""
        (outcome,) = await self.apply_many([event])
        if outcome is not None:
            raise outcome

    async def apply_many(self, events: Sequence[CaseEvent]) -> list[BaseException | None]:
        """Record every event; per event, None or its own error."""
        pending = sorted(events, key=lambda e: (e.version, e.type == "case.assigned"))
        # A round applies one event of each case: a batch of many events of one case (the
        # joins of a case reported by thousands) needs as many rounds, and `max_rounds` more
        # for the races it may lose.
        per_case = Counter(e.case_id for e in events)
        tried: set[int] = set()  # first events already written unread once: now read first
        for _ in range(self.max_rounds + max(per_case.values(), default=0)):
            if not pending:
                break
            round_events = _first_per_case(pending)
            unread = {id(e) for e in round_events if e.opens_case() and id(e) not in tried}
            tried |= unread
            if await self._round(round_events, unread):
                done = {id(e) for e in round_events}
                pending = [e for e in pending if id(e) not in done]
        unfinished = {id(e) for e in pending}
        outcomes: list[BaseException | None] = [
            RuntimeError(f"case {e.case_id} kept changing under us")
            if id(e) in unfinished
            else None
            for e in events
        ]
        applied = [e for e in events if id(e) not in unfinished and e.decision is not None]
        if applied and self.decided is not None:
            try:
                await self.decided(applied)
            except Exception as exc:  # returned, not swallowed: those events are redelivered
                failed = {id(e) for e in applied}
                return [
                    exc if id(e) in failed else o for e, o in zip(events, outcomes, strict=True)
                ]
        return outcomes

    async def _round(self, events: list[CaseEvent], unread: set[int]) -> bool:
        """Apply one event of each case; False when a write lost a race. The events in `unread`
        (by `id`) are written without reading what they change first."""
        stored = await self._store_states(events, unread)
        if stored is None:
            return False
        states, moved_on = stored
        if not await self._link(events, states, unread):
            return False
        # Only a case whose known state moved on, visibly, can have reports behind it: a new
        # case's reports are linked in this round, with its latest state.
        fan_out = [
            write
            for e in events
            if e.case_id in moved_on and not _merged_away(e)
            for write in plan_fan_out(states[e.case_id])
        ]
        if fan_out:
            await self.reports.bulk_write(fan_out, ordered=False)
        for event in events:
            log.info("case state followed", extra={**_ids(event), "status": event.status})
        return True

    async def _store_states(
        self, events: list[CaseEvent], unread: set[int]
    ) -> tuple[dict[str, Document], set[str]] | None:
        """The latest state of each case of `events`, stored, and the cases whose linked
        reports must follow it (the stored state moved on to one a reporter sees otherwise, or
        it is an event's own, stored before); None when a write lost a race. The state of an
        event in `unread` is inserted without a read: one stored already refuses it."""
        to_read = [e.case_id for e in events if id(e) not in unread]
        stored: dict[str, Document] = {}
        if to_read:
            found = self.states.find({"_id": {"$in": to_read}})
            stored = {doc["_id"]: doc async for doc in found}
        latest: dict[str, Document] = {}
        moved_on: set[str] = set()
        writes: list[InsertOne[Document] | UpdateOne] = []
        for event in events:
            known = stored.get(event.case_id)
            if known is not None and not is_newer(known, event):
                latest[event.case_id] = known
                if is_state_of(known, event):
                    moved_on.add(event.case_id)
                continue
            state = case_state(event, known)
            latest[event.case_id] = state
            if known is None:
                writes.append(InsertOne({"_id": event.case_id, **state}))
            else:
                writes.append(UpdateOne(_same_state(known), {"$set": state}))
                if seen_differently(known, state):
                    moved_on.add(event.case_id)
        if not writes:
            return latest, moved_on
        try:
            result = await self.states.bulk_write(writes, ordered=False)
        except BulkWriteError as exc:
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                raise
            return None  # another follower stored a state first: plan again
        updates = sum(isinstance(w, UpdateOne) for w in writes)
        return (latest, moved_on) if result.matched_count == updates else None

    async def _link(
        self, events: list[CaseEvent], states: dict[str, Document], unread: set[int]
    ) -> bool:
        """Link the reports the events name; False when one changed under us, or when a report
        an event in `unread` names was not as it assumed (linked already)."""
        links: dict[str, CaseEvent] = {}
        for event in events:
            for rid in linked_reports(event):
                if rid not in links or links[rid].occurred_at < event.occurred_at:
                    links[rid] = event  # of two links in one round, the later one counts
        first = {rid: e for rid, e in links.items() if id(e) in unread}
        if first:
            if not await self._link_unread(first, states):
                return False
            links = {rid: e for rid, e in links.items() if rid not in first}
        if not links:
            return True
        found = self.reports.find({"_id": {"$in": sorted(links)}}, {"case": 1, "status": 1})
        reports = {doc["_id"]: doc async for doc in found}
        moves: list[UpdateOne] = []  # reports linked to another case, each on its own link
        unlinked: list[tuple[str, Document]] = []  # reports with no case: one statement for many
        for rid, event in links.items():
            report = reports.get(rid)
            if report is None:
                log.warning(
                    "case event for an unknown report", extra={**_ids(event), "linked": rid}
                )
            elif should_link(report, event.case_id, event.occurred_at):
                update = plan_link(report, states[event.case_id], event.occurred_at)
                if report.get("case"):
                    moves.append(UpdateOne(_unchanged(report), update))
                else:
                    unlinked.append((rid, update))
        if not moves and not unlinked:
            return True
        writes = [*moves, *plan_first_links(unlinked)]
        result = await self.reports.bulk_write(writes, ordered=False)
        return result.matched_count == len(moves) + len(unlinked)

    async def _link_unread(self, links: dict[str, CaseEvent], states: dict[str, Document]) -> bool:
        """Link each report to the case its first event created, on the condition that it has
        no case (a report stored, never linked, holds the status it was received with)."""
        planned = [
            (rid, plan_link({"status": RECEIVED}, states[event.case_id], event.occurred_at))
            for rid, event in links.items()
        ]
        result = await self.reports.bulk_write(plan_first_links(planned), ordered=False)
        return result.matched_count == len(planned)


def _merged_away(event: CaseEvent) -> bool:
    """A case closed by a merge: its reports follow the target, so its close is not fanned out."""
    return isinstance(event, CaseUpdated) and event.action == MERGED


def _same_state(known: Document) -> Document:
    """A filter matching a stored case state only while it is the one read."""
    return {"_id": known["_id"], "version": known["version"], "event_type": known.get("event_type")}


def _unchanged(report: Document) -> Document:
    """A filter matching the report only while its case link and version are the ones read."""
    previous = report.get("case")
    if not previous:
        return {"_id": report["_id"], **NO_CASE}
    expected: Any = previous.get("version")
    return {
        "_id": report["_id"],
        "case.case_id": previous.get("case_id"),
        "case.version": expected,
    }


def _first_per_case(events: list[CaseEvent]) -> list[CaseEvent]:
    """The first (oldest) pending event of each case, so one round writes each case once."""
    seen: set[str] = set()
    first = []
    for event in events:
        if event.case_id not in seen:
            seen.add(event.case_id)
            first.append(event)
    return first


def _ids(event: CaseEvent) -> dict[str, str]:
    return {"report_id": event.report_id, "case_id": event.case_id, "event_id": event.event_id}
