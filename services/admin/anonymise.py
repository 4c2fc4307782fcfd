"""Anonymisation of closed reports' free text, `incidents-admin retention`'s last step: a longer
time after a case closed (`--anonymise-older-than`, default 1095 days), the words people wrote
are emptied, in intake's reports and case states and in routing's cases, and `anonymised_at`
is set, so a run is idempotent and an interrupted run resumes where it stopped.

What goes: what reporters wrote (descriptions, appeal reasons, the names of their evidence
files, in the reports and in the stored files, the links they gave to evidence elsewhere) and
what staff wrote about the case and the people in it (notes, the notes of the audit log's human
actions, decisions' explanations, in the cases and in the decision e-mails kept, takedown notes
and refusal reasons, the reason of a legal hold no longer in force). An explanation reads
ANONYMISED_EXPLANATION, since the events a later action publishes must carry one. What stays:
what the transparency figures, grouping and the audit trail need (category, platform, places,
dates, agency, statuses, outcome and legal basis codes, the provisions' text, the content's URLs
and key, reporter ids, who acted when, the evidence files themselves and their hashes). Cases
under a legal hold in force (services/routing/legalhold.py) are skipped, and so are their
reports in intake.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from services.common.contracts import ANONYMISED_EXPLANATION, CLOSED_STATUSES
from services.common.mongo import Document, MongoDatabase
from services.common.outbox import OUTBOX, OUTBOX_SINCE
from services.intake.evidence_store import BUCKET as EVIDENCE_BUCKET
from services.routing.legalhold import LEGAL_HOLD, in_force, not_held

DEFAULT_ANONYMISE_DAYS = 1095  # three years
ANONYMISE_DAYS_ENV = "RETENTION_ANONYMISE_DAYS"
ANONYMISED_AT = "anonymised_at"
BATCH = 200
# Audit actions whose note the services wrote themselves (rule ids, escalation levels and
# targets, tracking codes): kept, since nobody typed them. Every other note is a person's.
MACHINE_NOTES = frozenset(
    {"assign", "escalated", "contact_erased", "priority_raised", "appeal_refused", "report_joined"}
)
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "application/pdf": "pdf",
}


@dataclass(frozen=True)
class Holds:
    """What a legal hold in force keeps: routing's cases and the reports they hold."""

    cases: frozenset[str] = frozenset()
    reports: frozenset[str] = frozenset()


NO_HOLDS = Holds()


async def read_holds(routing: MongoDatabase, now: datetime) -> Holds:
    """The cases under a legal hold in force at `now`, and their reports."""
    projection = {"_id": 1, "report_id": 1, "reports.report_id": 1}
    docs = await routing.cases.find(in_force(now), projection).to_list()
    reports = {doc.get("report_id") for doc in docs} | {
        entry.get("report_id") for doc in docs for entry in doc.get("reports") or []
    }
    return Holds(frozenset(str(d["_id"]) for d in docs), frozenset(str(r) for r in reports if r))


# ---- what is to be anonymised (pure) ----


def closed_before(cutoff: datetime, *, at: str) -> Document:
    """Closed before `cutoff` (by the field `at`) and not anonymised yet."""
    return {
        "status": {"$in": sorted(CLOSED_STATUSES)},
        at: {"$lt": cutoff},
        ANONYMISED_AT: None,  # routing stores it as null on every case until then
    }


def reports_to_anonymise(cutoff: datetime, held: Holds) -> Document:
    """Intake's reports whose case closed before `cutoff`, not held, not anonymised yet."""
    return {**closed_before(cutoff, at="updated_at"), "_id": {"$nin": sorted(held.reports)}}


def case_states_to_anonymise(cutoff: datetime, held: Holds) -> Document:
    """Intake's case states (a decision's explanation) of cases closed before `cutoff`."""
    return {**closed_before(cutoff, at="at"), "_id": {"$nin": sorted(held.cases)}}


def cases_to_anonymise(cutoff: datetime, now: datetime) -> Document:
    """Routing's cases closed before `cutoff`, without a legal hold in force at `now`."""
    return {**closed_before(cutoff, at="closed_at"), **not_held(now)}


def renamed(evidence: Iterable[Any]) -> list[Any]:
    """Evidence files with the reporter's file names replaced by `evidence-1.jpg`, ...."""
    return [
        {**item, "filename": f"evidence-{n}.{EXTENSIONS.get(str(item.get('content_type')), 'bin')}"}
        if isinstance(item, dict)
        else item
        for n, item in enumerate(evidence, start=1)
    ]


def anonymised_entry(report: Document) -> Document:
    """A report (intake's `report`, routing's `report` or an entry of `reports`) without
    the reporter's words."""
    return {
        **report,
        "description": "",
        "evidence_links": [],
        "evidence": renamed(report.get("evidence") or []),
    }


def anonymised_report(document: Document, now: datetime) -> Document:
    """The `$set` anonymising one of intake's reports (field by field: a contact erased
    meanwhile stays erased)."""
    report = anonymised_entry(document.get("report") or {})
    changes: Document = {
        f"report.{name}": report[name] for name in ("description", "evidence_links", "evidence")
    }
    if isinstance(document.get("appeal"), dict):
        changes["appeal.reason"] = ""
    if isinstance((document.get("case") or {}).get("decision"), dict):
        changes["case.decision.explanation"] = ANONYMISED_EXPLANATION
    return {**changes, ANONYMISED_AT: now}


def anonymised_state(document: Document, now: datetime) -> Document:
    """The `$set` anonymising one of intake's case states."""
    changes: Document = {ANONYMISED_AT: now}
    if isinstance(document.get("decision"), dict):
        changes["decision.explanation"] = ANONYMISED_EXPLANATION
    return changes


def _each(items: Any, change: Callable[[Document], Document]) -> list[Any]:
    return [change(item) if isinstance(item, dict) else item for item in items or []]


def _without(item: Document, *names: str) -> Document:
    """`item` with the texts `names` emptied (those it has)."""
    return {**item, **{name: "" for name in names if item.get(name)}}


def _decision(decision: Document) -> Document:
    """A decision with the placeholder for its explanation (events need some text)."""
    return {**decision, "explanation": ANONYMISED_EXPLANATION}


def _audit_line(entry: Document) -> Document:
    return entry if entry.get("action") in MACHINE_NOTES else _without(entry, "note")


def anonymised_case(document: Document, now: datetime) -> Document:
    """The `$set` anonymising one of routing's cases."""
    changes: Document = {
        "report": anonymised_entry(document.get("report") or {}),
        "reports": _each(document.get("reports"), anonymised_entry),
        "appeals": _each(document.get("appeals"), lambda a: _without(a, "reason")),
        "notes": _each(document.get("notes"), lambda n: _without(n, "text")),
        "audit": _each(document.get("audit"), _audit_line),
        "decisions": _each(document.get("decisions"), _decision),
        "takedowns": _each(
            document.get("takedowns"), lambda t: _without(t, "note", "answer_reason")
        ),
    }
    if isinstance(document.get("decision"), dict):
        changes["decision"] = _decision(document["decision"])
    if isinstance(document.get(LEGAL_HOLD), dict):  # the query leaves only holds not in force
        changes[LEGAL_HOLD] = _without(document[LEGAL_HOLD], "reason")
    return {**changes, ANONYMISED_AT: now}


def anonymising(doc: Document, plan: Plan, now: datetime) -> Document:
    """The update anonymising `doc`. Its published events go too: kept for the change-stream
    relay, the outbox holds the last write's, texts included. Events still pending for the
    clearing relay stay (it removes them once published); the filter makes sure the document
    gained none since it was read."""
    if doc.get(OUTBOX_SINCE) is not None or OUTBOX not in doc:
        return {"$set": plan(doc, now)}
    return {"$set": plan(doc, now), "$unset": {OUTBOX: ""}}


def _outbox_as_read(doc: Document) -> Document:
    """A filter matching the document only while its events are pending as read (or not)."""
    return {OUTBOX_SINCE: doc.get(OUTBOX_SINCE)}


# ---- the steps ----


Plan = Callable[[Document, datetime], Document]


async def anonymise_reports(
    db: MongoDatabase, cutoff: datetime, held: Holds, now: datetime, dry_run: bool
) -> int:
    """Anonymise intake's reports (or count them)."""
    query = reports_to_anonymise(cutoff, held)

    async def linked(docs: list[Document]) -> None:
        await _rename_files(db, docs)
        await db.mails.update_many(  # decision e-mails kept (quarantined, failed, pending)
            {
                "report_id": {"$in": [doc["_id"] for doc in docs]},
                "decision.explanation": {"$ne": None},
            },
            {"$set": {"decision.explanation": ANONYMISED_EXPLANATION}},
        )

    return await _in_batches(db, "reports", query, anonymised_report, now, dry_run, before=linked)


async def _rename_files(db: MongoDatabase, docs: list[Document]) -> None:
    """Give the reports' stored evidence files (GridFS, services/intake/evidence_store.py) the
    neutral names their reports get."""
    writes = [
        UpdateOne({"_id": item["file_id"]}, {"$set": {"filename": name, "metadata.filename": name}})
        for doc in docs
        for item in renamed((doc.get("report") or {}).get("evidence") or [])
        if isinstance(item, dict) and item.get("file_id") and (name := item["filename"])
    ]
    if writes:
        await db[f"{EVIDENCE_BUCKET}.files"].bulk_write(writes, ordered=False)


async def anonymise_case_states(
    db: MongoDatabase, cutoff: datetime, held: Holds, now: datetime, dry_run: bool
) -> int:
    """Anonymise intake's case states (or count them)."""
    query = case_states_to_anonymise(cutoff, held)
    return await _in_batches(db, "case_states", query, anonymised_state, now, dry_run)


async def anonymise_cases(
    db: MongoDatabase, cutoff: datetime, held: Holds, now: datetime, dry_run: bool
) -> int:
    """Anonymise routing's cases (or count them); each write is conditional on the case's
    version and audit length as read, so a case that changed meanwhile (a hold set, a refused
    appeal noted) is looked at again by the next batch. Escalations are records of their own,
    written by the service alone: nothing in them to anonymise."""
    query = cases_to_anonymise(cutoff, now)

    def unchanged(doc: Document) -> Document:
        return {"version": doc.get("version"), "audit": {"$size": len(doc.get("audit") or [])}}

    return await _in_batches(db, "cases", query, anonymised_case, now, dry_run, unchanged)


async def _in_batches(
    db: MongoDatabase,
    name: str,
    query: Document,
    plan: Plan,
    now: datetime,
    dry_run: bool,
    unchanged: Callable[[Document], Document] = lambda doc: {},
    before: Callable[[list[Document]], Awaitable[None]] | None = None,
) -> int:
    """Anonymise what `query` matches, `BATCH` documents a write, printing progress to
    standard error; each document leaves the query once written, so an interrupted run
    resumes with what is left. `before` anonymises what is linked to a batch first (so it is
    done again, not missed, when a run stops between the two)."""
    collection = db[name]
    if dry_run:
        return await collection.count_documents(query)
    count = 0
    while docs := await collection.find(query).limit(BATCH).to_list():
        if before is not None:
            await before(docs)
        writes = [
            UpdateOne(
                {**query, "_id": doc["_id"], **unchanged(doc), **_outbox_as_read(doc)},
                anonymising(doc, plan, now),
            )
            for doc in docs
        ]
        result = await collection.bulk_write(writes, ordered=False)
        count += result.modified_count
        print(f"{db.name}.{name}: {count} anonymised", file=sys.stderr, flush=True)
        if result.modified_count == 0:
            break
    return count
