"""Cases in MongoDB: documents in and out as typed `Case`s, each change written conditionally."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from pydantic import ValidationError
from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, WriteError

from services.common import params, tracing
from services.common.clock import Clock, utcnow
from services.common.contracts import CLOSED_STATUSES, AnyEvent, CaseEscalated
from services.common.groupcommit import per_document_errors
from services.common.migrations import until_clean
from services.common.mongo import Document, MongoDatabase
from services.common.outbox import ensure_outbox_index, outbox_fields, outbox_update
from services.routing.case import (
    CLOSED,
    DUE,
    URGENCY_END,
    AuditRecord,
    Case,
    overdue_bound,
    urgency_key,
    urgency_position,
)
from services.routing.escalations import EscalationEntry, EscalationLog
from services.routing.grouping import GroupPlan, JoinPlan, plan_close_to_reports, successor_id
from services.routing.listing import PageReader, StoredHints
from services.routing.planning import Plan
from services.routing.sharing import with_shares
from services.routing.visibility import SENSITIVE_CATEGORY, grouping_key

log = logging.getLogger(__name__)

UNREADABLE_CASES = Counter(
    "routing_unreadable_cases_total", "Stored cases that could not be read (logged once each)"
)
# Every top-level key of a stored case that is read: the model's fields, and the keys lists
# find and sort cases by (`Case.to_document`); the outbox's are the relay's.
STORED_KEYS = frozenset(
    [
        *(field.alias or name for name, field in Case.model_fields.items()),
        "urgency",
        "open_key",
        "readers",
    ]
)


def leaving_out(*keys: str) -> dict[str, int]:
    """A projection naming every stored key but `keys`. SecantusDB answers a projection that
    names what to leave out (`{"reports": 0}`) by copying the whole document first: for a case
    of 3,000 reports, reading it for a join cost 154–164 ms of the server's CPU that way and
    42 ms naming what to keep (README, "A case reported by thousands")."""
    return {key: 1 for key in sorted(STORED_KEYS - set(keys))}


NOT_IN_VIEWS = leaving_out()  # every key of the case (the outbox is not one: it is the relay's)
# What lists leave out: every report of a grouped case (they show the first and the count).
NOT_IN_LISTS = leaving_out("reports", "reporter_keys")
# What the dashboard leaves out: the history it does not count.
NOT_IN_FIGURES = leaving_out("reports", "reporter_keys", "audit", "notes")
# What joining needs of an open case: its state and reporter keys, not its reports or history.
FOR_JOINING = leaving_out("reports", "audit", "notes")
BAD_CURSOR = "not a cursor this service made; start again without it"
URGENT_FIRST = {"urgency": ASCENDING, "_id": ASCENDING}
LIST_HINTS = "list_hints"  # where case lists begin and how wide their pages are
# The fields the list indexes start with, before the urgency key, in the order preferred.
LIST_INDEX_FIELDS = ("agency", "readers", "status")


class UnreadableCase(Exception):
    """A stored case document is incomplete or malformed."""

    def __init__(self, case_id: str, agency: str | None, error: str) -> None:
        super().__init__(f"case {case_id} is stored incomplete or malformed: {error}")
        self.case_id = case_id
        self.agency = agency


# The server's codes for a write whose document would pass 16 MB (SecantusDB and mongod's
# BSONObjectTooLarge; mongod's "Resulting document after update is larger than").
TOO_LARGE = frozenset({10334, 17419})


@dataclass(frozen=True)
class JoinOutcome:
    """What a round's joins came to: whether any lost a race (the others are stored), and which
    (by position) could not be stored because their case's document is full."""

    lost_race: bool = False
    full: frozenset[int] = frozenset()


@dataclass(frozen=True)
class CaseQuery:
    """Filters of the case list."""

    agency: str | None = None
    reader: str | None = None  # an agency: the cases it holds and those it is informed of
    status: str | None = None
    category: str | None = None
    hidden_categories: tuple[str, ...] = ()  # left out whatever else is asked (sensitive ones)
    overdue: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    also: tuple[Document, ...] = ()  # criteria that must hold too (a supervisor's scope, mine)
    cursor: str | None = None
    limit: int = 50


def encode_cursor(document: Document) -> str:
    """An opaque cursor pointing after the stored case `document` in most-urgent-first order."""
    rank, at = urgency_position(document["urgency"])
    return params.encode_cursor((rank, at, str(document["_id"])))


def decode_cursor(cursor: str) -> tuple[int, str]:
    """The (urgency, id) a cursor points after; ParamError naming `cursor` if it is not one."""
    rank, at, case_id = params.decode_cursor(cursor, shape=(int, datetime, str))
    if not DUE <= rank <= CLOSED:
        raise params.ParamError("cursor", BAD_CURSOR)
    return urgency_key(rank, at), case_id


class CaseRepository:
    """The cases collection."""

    def __init__(self, db: MongoDatabase, *, clock: Clock = utcnow) -> None:
        self.db = db
        self.cases = db.cases
        self.escalations = EscalationLog(db)
        self._reported: set[str] = set()
        # Lists read a window of urgency at a time, from what earlier reads found.
        self._pages = PageReader(stored=StoredHints(db[LIST_HINTS], clock))

    async def ensure_indexes(self, now: datetime) -> None:
        """One case per first report and one open case per content (`open_key`, after giving
        stored cases theirs); reports found by id; lists most urgent first; the outbox; then
        what earlier versions stored brought up to date."""
        await self.cases.create_index([("report_id", ASCENDING)], unique=True)
        await self._add_missing_keys()
        await self.cases.create_index([("open_key", ASCENDING)], unique=True)
        await self.cases.create_index([("reports.report_id", ASCENDING)])
        await self.cases.create_index(
            [("agency", ASCENDING), ("urgency", ASCENDING), ("_id", ASCENDING)]
        )
        await self.cases.create_index(
            [("readers", ASCENDING), ("urgency", ASCENDING), ("_id", ASCENDING)]
        )
        await self.cases.create_index([("urgency", ASCENDING), ("_id", ASCENDING)])
        await self.cases.create_index(
            [("status", ASCENDING), ("urgency", ASCENDING), ("_id", ASCENDING)]
        )
        await self.cases.create_index([("created_at", DESCENDING), ("_id", DESCENDING)])
        await self.cases.create_index([("updated_at", ASCENDING)])
        await ensure_outbox_index(self.cases)
        await self._add_missing_urgency()
        await self._add_missing_readers()
        await until_clean(self.db, "cases.sensitive-open-keys", self._set_sensitive_keys, now)
        await self.escalations.ensure_indexes()
        copy = self.escalations.copy_from_cases
        await until_clean(self.db, "cases.escalations-copied", copy, now)

    async def _add_missing_keys(self) -> None:
        """Give cases stored before grouping an `open_key` of their own (their content key is
        `report:<report id>`, so they never take other reports) and their one report in
        `reports` (where reports are looked up by id); none after the first start."""
        docs = await self.cases.find({"open_key": None}, NOT_IN_VIEWS).to_list()
        cases = [case for doc in docs if (case := self._readable(doc)) is not None]
        broken = [doc["_id"] for doc in docs if self._readable(doc) is None]
        writes = [UpdateOne({"_id": c.case_id}, {"$set": _grouping_fields(c)}) for c in cases]
        # An unreadable case still needs a distinct value for the unique index.
        writes += [UpdateOne({"_id": i}, {"$set": {"open_key": f"unreadable#{i}"}}) for i in broken]
        if writes:
            await self.cases.bulk_write(writes, ordered=False)
            log.info("open keys added to stored cases", extra={"count": len(writes)})

    async def _add_missing_urgency(self) -> None:
        """Give cases stored before the urgency key had one (none after the first start)."""
        docs = await self.cases.find({"urgency": None}, NOT_IN_VIEWS).to_list()
        cases = [case for doc in docs if (case := self._readable(doc)) is not None]
        if cases:
            await self.cases.bulk_write(
                [UpdateOne({"_id": c.case_id}, {"$set": {"urgency": c.urgency}}) for c in cases]
            )
            log.info("urgency added to stored cases", extra={"count": len(cases)})

    async def _add_missing_readers(self) -> None:
        """Give cases stored before informed agencies their `readers` (the agency holding
        them, the informed ones): an agency's list finds its cases by it."""
        docs = await self.cases.find({"readers": None}, {"agency": 1, "informed": 1}).to_list()
        writes = [
            UpdateOne({"_id": doc["_id"]}, {"$set": {"readers": _readers(doc)}}) for doc in docs
        ]
        if writes:
            await self.cases.bulk_write(writes, ordered=False)
            log.info("readers added to stored cases", extra={"count": len(writes)})

    async def _set_sensitive_keys(self) -> int:
        """Give open sensitive cases stored before reports grouped by sensitivity their
        `<content key>#sensitive` open key; return how many. It reads every open sensitive
        case (no index serves the query): run it `until_clean`."""
        closed = [status.value for status in CLOSED_STATUSES]
        criteria = {"category": SENSITIVE_CATEGORY.value, "status": {"$nin": closed}}
        docs = await self.cases.find(criteria, {"open_key": 1, "content_key": 1}).to_list()
        writes = [
            UpdateOne(
                {"_id": doc["_id"], "open_key": doc["open_key"]},
                {"$set": {"open_key": grouping_key(doc["content_key"], SENSITIVE_CATEGORY)}},
            )
            for doc in docs
            if doc.get("content_key") and doc.get("open_key") == doc["content_key"]
        ]
        if writes:
            await self.cases.bulk_write(writes, ordered=False)
            log.info("sensitive open keys set on stored cases", extra={"count": len(writes)})
        return len(writes)

    async def insert_cases(
        self, cases: Sequence[tuple[Case, list[AnyEvent], object]], now: datetime
    ) -> list[BaseException | None]:
        """Insert new cases with their events in one command; per case, None or its error (a
        DuplicateKeyError when its content has an open case or its report a case by now).
        Each case's events continue the trace of its origin (the report that opened it)."""
        if not cases:
            return []
        docs = [_new_case(case, events, origin, now) for case, events, origin in cases]
        try:
            await self.cases.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            errors = per_document_errors(exc, len(docs))
            return [errors.get(index) for index in range(len(docs))]
        return [None] * len(docs)

    async def insert_case(self, case: Case, events: list[AnyEvent], now: datetime) -> None:
        """Insert one new case with its events; DuplicateKeyError if its id or key is taken."""
        await self.cases.insert_one({**case.to_document(), **case_outbox_fields(events, now)})

    async def open_cases(self, keys: set[str]) -> dict[str, Case]:
        """The open case of each key that has one (a content key, `#sensitive` appended for a
        sensitive case: `Case.open_key`), without reports or history."""
        found = self.cases.find({"open_key": {"$in": sorted(keys)}}, FOR_JOINING)
        cases = self._readable_all(await found.to_list())
        return {case.open_key: case for case in cases if case.is_open}

    async def held_reports(self, report_ids: set[str]) -> set[str]:
        """Which of these reports a case holds already (first or joined, open or closed):
        every case lists its first report in `reports` too (stored ones since the migration)."""
        criteria = {"reports.report_id": {"$in": sorted(report_ids)}}
        held: set[str] = set()
        async for doc in self.cases.find(criteria, {"reports.report_id": 1}):
            held.update(str(r.get("report_id")) for r in doc.get("reports") or [])
        return held & report_ids

    async def write_joins(
        self, plans: Sequence[tuple[JoinPlan, object]], now: datetime
    ) -> JoinOutcome:
        """Store every join, each one conditional update on the version it was planned from
        whose events continue the trace of its origin (the first report joining). A join whose
        case's document is full is refused alone, the others stored; any other error fails
        them all."""
        if not plans:
            return JoinOutcome()
        writes = [_join_write(plan, origin, now) for plan, origin in plans]
        try:
            result = await self.cases.bulk_write(writes, ordered=False)
        except BulkWriteError as exc:
            errors = per_document_errors(exc, len(writes))
            if any(getattr(e, "code", None) not in TOO_LARGE for e in errors.values()):
                raise
            full = frozenset(errors)
            matched = int(exc.details.get("nMatched", 0))
            return JoinOutcome(lost_race=matched < len(plans) - len(full), full=full)
        return JoinOutcome(lost_race=result.matched_count < len(plans))

    async def close_to_reports(self, case: Case, now: datetime) -> bool:
        """Stop a full case taking reports (`plan_close_to_reports`) if it is still open to
        them under the key it was read with; True if this call did. Its audit line is left out
        when even that would not fit."""
        changes, record = plan_close_to_reports(case, now)
        still_open = {"_id": case.case_id, "open_key": case.open_key}
        audit = {"audit": record.model_dump(by_alias=True, exclude_none=True)}
        try:
            result = await self.cases.update_one(still_open, {"$set": changes, "$push": audit})
        except WriteError as exc:
            if exc.code not in TOO_LARGE:
                raise
            result = await self.cases.update_one(still_open, {"$set": changes})
        return result.modified_count == 1

    async def continue_elsewhere(self, full: str, taken_by: str) -> None:
        """Another router opened the content's case (`taken_by`) before the successor the full
        case names (`successor_id`) could be stored, and its later reports went there: the
        two cases name each other instead, each only if it names no other case yet."""
        await self.cases.bulk_write(
            [
                UpdateOne(
                    {"_id": full, "continued_by": successor_id(full)},
                    {"$set": {"continued_by": taken_by}},
                ),
                UpdateOne({"_id": taken_by, "continues": None}, {"$set": {"continues": full}}),
            ],
            ordered=False,
        )

    async def write_group(self, plan: GroupPlan, now: datetime) -> Case | None:
        """Store a split's or merge's change to one case if its version is still the one
        planned from; the case as stored, or None when it moved on."""
        update = case_outbox_update(plan.events, now)
        update["$set"] = plan.changes
        update["$push"]["audit"] = {
            "$each": [a.model_dump(by_alias=True, exclude_none=True) for a in plan.audit]
        }
        doc = await self.cases.find_one_and_update(
            {"_id": plan.before.case_id, "version": plan.before.version},
            update,
            projection=NOT_IN_VIEWS,
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else await self._shown(self._read(doc))

    async def get(self, case_id: str) -> Case | None:
        """A case by id with its escalations (None if there is none); UnreadableCase if its
        document is broken."""
        doc = await self.cases.find_one({"_id": case_id}, NOT_IN_VIEWS)
        return None if doc is None else await self._shown(self._read(doc))

    async def write_change(self, case: Case, plan: Plan, now: datetime) -> Case | None:
        """Store the plan if nobody changed the case since it was read (same version).

        Returns the case as stored, or None when the version moved on.
        """
        update = case_outbox_update(plan.events, now)
        update["$set"] = plan.changes
        update["$push"]["audit"] = plan.audit.model_dump(by_alias=True, exclude_none=True)
        doc = await self.cases.find_one_and_update(
            {"_id": case.case_id, "version": case.version},
            update,
            projection=NOT_IN_VIEWS,
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else await self._shown(self._read(doc))

    async def record_escalations(
        self, events: Sequence[CaseEscalated]
    ) -> list[BaseException | None]:
        """Record each escalation once, beside its case; per event, None or its error."""
        return await self.escalations.record(events)

    async def record_audit(
        self, case_id: str, entry: AuditRecord, where: Document | None = None
    ) -> bool:
        """Add an audit line that changes nothing else (a refused appeal), once per event id,
        if the case still matches `where`."""
        result = await self.cases.update_one(
            {**(where or {}), "_id": case_id, "audit.event_id": {"$ne": entry.event_id}},
            {"$push": {"audit": entry.model_dump(by_alias=True, exclude_none=True)}},
        )
        return result.modified_count == 1

    async def cases_holding(self, report_id: str) -> list[str]:
        """The ids of the cases holding this report (first or joined, open or closed)."""
        return [str(i) for i in await self.cases.distinct("_id", {"reports.report_id": report_id})]

    async def erase_contact(self, case: Case, report_id: str, audit: AuditRecord) -> bool:
        """Erase the report's contact in the case (its entry, and `report` when it is the first)
        with the audit line, if the case is still at the version read; False when it moved on
        (the version goes up, so a change planned from the old version cannot restore it)."""
        erased: Document = {"reports.$.contact_sealed": None, "version": case.version + 1}
        legacy: Document = {"reports.$.contact": ""}  # a clear contact from before sealing
        if case.report_id == report_id:
            erased["report.contact_sealed"] = None
            legacy["report.contact"] = ""
        result = await self.cases.update_one(
            {"_id": case.case_id, "version": case.version, "reports.report_id": report_id},
            {
                "$set": erased,
                "$unset": legacy,
                "$push": {"audit": audit.model_dump(by_alias=True, exclude_none=True)},
            },
        )
        return result.modified_count == 1

    async def created_between(
        self, start: datetime, end: datetime, *, limit: int = 50_000
    ) -> list[Case]:
        """Cases created in [start, end), without their history (the dashboard's input)."""
        cursor = self.cases.find({"created_at": {"$gte": start, "$lt": end}}, NOT_IN_FIGURES)
        return self._readable_all(await cursor.limit(limit).to_list())

    async def touched_between(
        self,
        start: datetime,
        end: datetime,
        projection: Document,
        *,
        agency: str | None = None,
        also: tuple[Document, ...] = (),
    ) -> AsyncIterator[Document]:
        """The `projection` of every case created before `end` and changed since `start`: every
        case something happened to in [start, end) (the transparency report's input), read in
        batches (never all held at once); `also`: criteria that must hold too (a scope)."""
        criteria: Document = {"updated_at": {"$gte": start}, "created_at": {"$lt": end}}
        if agency is not None:
            criteria["agency"] = agency
        if also:
            criteria["$and"] = list(also)
        async for document in self.cases.find(criteria, projection, batch_size=1000):
            yield document

    async def recent_escalations(self, *, limit: int, now: datetime) -> list[EscalationEntry]:
        """The latest escalations recorded, newest first (the console's alert log)."""
        return await self.escalations.recent(limit=limit, now=now)

    async def find(self, query: CaseQuery, now: datetime) -> tuple[list[Case], str | None]:
        """One page of cases, most urgent first, and the cursor of the next page.

        Unreadable cases are left out (and logged once); they still move the cursor on.
        """
        criteria, start, end = _criteria(query, now)
        bounded, rest = _index_bounded(criteria)
        want = query.limit + 1

        async def read(urgency: Document, limit: int) -> list[Document]:
            # First what an index walks (one field and the urgency key), then the rest of the
            # filters on that: SecantusDB plans a filter of more fields, or with `$and`, as a
            # scan of the whole collection.
            pipeline: list[Document] = [{"$match": bounded | urgency}]
            if rest:
                pipeline.append({"$match": rest})
            pipeline += [{"$sort": URGENT_FIRST}, {"$limit": limit}, {"$project": NOT_IN_LISTS}]
            return await (await self.cases.aggregate(pipeline)).to_list()

        docs: list[Document] = []
        if query.cursor:
            # The cases sharing the last one's key that come after it by id, then the rest:
            # two ranges an index walks, where one `$or` of both has the server read them all.
            after, case_id = decode_cursor(query.cursor)
            if start <= after < end:
                docs = await read({"urgency": after, "_id": {"$gt": case_id}}, want)
            start = max(start, after + 1)
        if len(docs) < want:
            docs += await self._pages.read(
                lambda low, high, limit: read({"urgency": {"$gte": low, "$lt": high}}, limit),
                start=start,
                end=end,
                want=want - len(docs),
                now=now,
                lists=_list_keys(criteria, bounded, query),
                first_page=query.cursor is None,
            )
        page = docs[: query.limit]
        next_cursor = encode_cursor(page[-1]) if len(docs) > query.limit else None
        return await self.escalations.with_escalations(self._readable_all(page)), next_cursor

    async def _shown(self, case: Case) -> Case:
        """The case with its escalations merged into its audit log, as every view shows it; the
        successor it names only once that is stored (another router may have opened the case of
        its content first, under another id: then its reports joined that one)."""
        if case.continued_by and not await self.cases.find_one(
            {"_id": case.continued_by}, {"_id": 1}
        ):
            case = case.model_copy(update={"continued_by": None})
        return (await self.escalations.with_escalations([case]))[0]

    def _read(self, doc: Document) -> Case:
        """The case a document holds; UnreadableCase (logged once) if it holds none."""
        try:
            return Case.from_document(doc)
        except ValidationError as exc:
            case_id = str(doc.get("_id"))
            agency = doc.get("agency")
            self._report(case_id, agency, exc)
            raise UnreadableCase(
                case_id, agency if isinstance(agency, str) else None, _summary(exc)
            ) from None

    def _readable(self, doc: Document) -> Case | None:
        try:
            return self._read(doc)
        except UnreadableCase:
            return None

    def _readable_all(self, docs: list[Document]) -> list[Case]:
        return [case for doc in docs if (case := self._readable(doc)) is not None]

    def _report(self, case_id: str, agency: object, exc: ValidationError) -> None:
        """Log an unreadable case the first time this process meets it, and count it."""
        if case_id in self._reported:
            return
        self._reported.add(case_id)
        UNREADABLE_CASES.inc()
        log.error(
            "stored case is unreadable; left out of lists",
            extra={"case_id": case_id, "agency": str(agency), "error": _summary(exc)},
        )


def case_outbox_fields(events: list[AnyEvent], now: datetime) -> Document:
    """The outbox of a new case: its events, each followed by its copies for the agencies
    informed of the case, so an informed agency's queue gets every change with the change."""
    return outbox_fields(with_shares(events), now)


def case_outbox_update(events: list[AnyEvent], now: datetime) -> Document:
    """Update operators appending events (and their informed copies) to a case's outbox."""
    return outbox_update(with_shares(events), now)


def _readers(doc: Document) -> list[str]:
    """The readers of a stored case document: its agency, then the agencies informed."""
    informed = [a for a in doc.get("informed") or [] if a != doc.get("agency")]
    return [str(doc.get("agency")), *informed]


def _grouping_fields(case: Case) -> Document:
    """What a case stored before grouping lacks: its key and its one report as an entry."""
    document = case.to_document()
    names = ("open_key", "content_key", "reports", "reporter_keys", "reporters")
    return {name: document[name] for name in names}


def _new_case(case: Case, events: list[AnyEvent], origin: object, now: datetime) -> Document:
    """A new case's document, its outbox entries in the trace of the message of `origin`."""
    with tracing.message_context(origin):
        return {**case.to_document(), **case_outbox_fields(events, now)}


def _join_write(plan: JoinPlan, origin: object, now: datetime) -> UpdateOne:
    """One join as a conditional update: reports and new reporters appended, counts set."""
    with tracing.message_context(origin):
        update = case_outbox_update(plan.events, now)
    update["$set"] = plan.changes
    update["$push"]["reports"] = {"$each": [e.model_dump(mode="python") for e in plan.entries]}
    if plan.new_reporter_keys:
        update["$push"]["reporter_keys"] = {"$each": plan.new_reporter_keys}
    if plan.audit:
        update["$push"]["audit"] = {
            "$each": [a.model_dump(by_alias=True, exclude_none=True) for a in plan.audit]
        }
    return UpdateOne({"_id": plan.before.case_id, "version": plan.before.version}, update)


def _summary(exc: ValidationError) -> str:
    """The fields at fault, e.g. `tracking_code: Field required; report.platform: ...`."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or '(document)'}: {e['msg']}" for e in exc.errors()[:5]
    )


def _index_bounded(criteria: Document) -> tuple[Document, Document]:
    """The criteria split into the one field an index of lists starts with (agency, reader
    or status; none: the urgency index alone) and the rest."""
    for name in LIST_INDEX_FIELDS:
        if isinstance(criteria.get(name), str):
            rest = {k: v for k, v in criteria.items() if k != name}
            return {name: criteria[name]}, rest
    return {}, criteria


def _list_keys(criteria: Document, bounded: Document, query: CaseQuery) -> tuple[str, str]:
    """The list a page belongs to, whatever page it is (its filters and which side of
    "overdue" it reads), and the wider list it narrows (its index-bounded part alone, either
    side of "overdue")."""
    side = {"overdue": query.overdue}
    return (
        json.dumps(criteria | side, default=str, sort_keys=True),
        json.dumps(bounded, default=str, sort_keys=True),
    )


def _criteria(query: CaseQuery, now: datetime) -> tuple[dict[str, Any], int, int]:
    """The filters of a case list, and the range [start, end) of the urgency key it reads
    (from its start: a cursor is applied by `find`)."""
    criteria: dict[str, Any] = {}
    for name in ("agency", "status", "category"):
        if (value := getattr(query, name)) is not None:
            criteria[name] = value
    if query.reader is not None:
        criteria["readers"] = query.reader
    if query.hidden_categories:
        asked = criteria.pop("category", None)
        criteria["category"] = (
            {"$nin": list(query.hidden_categories)}
            if asked is None
            else {"$in": [] if asked in query.hidden_categories else [asked]}
        )
    created: dict[str, datetime] = {}
    if query.created_from:
        created["$gte"] = query.created_from
    if query.created_to:
        created["$lt"] = query.created_to
    if created:
        criteria["created_at"] = created
    if query.also:
        criteria["$and"] = list(query.also)
    start, end = 0, URGENCY_END  # a range also leaves out cases with no key
    if query.overdue is not None:
        if query.overdue:
            end = overdue_bound(now)
        else:
            start = overdue_bound(now)
    return criteria, start, end
