"""`incidents-admin retention` against a real MongoDB wire server: a dry run counts and changes
nothing; a run removes exactly what is past its retention (reporters' contacts included), and a
closed deadline it compacts still turns away a late event about its case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.admin.retention_steps import case_erasure, closed_cases_with_contact
from services.common.contracts import CaseAssigned, CaseStatus, CaseUpdated, Category, Priority
from services.common.mongo import Document, MongoDatabase, make_client
from services.common.outbox import QUARANTINE
from services.notify.deadlines import NEXT_DUE, DeadlineStore
from services.notify.escalation import load_escalation_policy
from services.routing.legalhold import not_held
from tests.integration.admin.support import admin
from tests.integration.admin.test_outboxes import databases

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
LONG_AGO = NOW - timedelta(days=100)
CLOSED_LONG_AGO = NOW - timedelta(days=200)  # past the contacts' 180 days
CONTACT = "v1.k1.c2VhbGVk.bmd1eWVu"  # a sealed contact, as intake and routing store it
CLEAR = {"name": "Nguyễn Văn A", "phone": "0905123456"}


@pytest.fixture
async def client(mongo_url: str) -> AsyncIterator[AsyncMongoClient[Document]]:
    client = make_client(mongo_url, timeout_ms=5000)
    yield client
    await client.close()


def case_event(case_id: str, version: int, status: CaseStatus, at: datetime) -> Any:
    fields: dict[str, Any] = {
        "event_id": f"{case_id}-{version}",
        "occurred_at": at,
        "case_id": case_id,
        "report_id": f"report-{case_id}",
        "tracking_code": "AAAA-BBBB-CCCC",
        "agency": "police",
        "category": Category.SCAM_FRAUD,
        "priority": Priority.NORMAL,
        "status": status,
        "version": version,
        "due_at": at + timedelta(hours=24) if status == CaseStatus.ASSIGNED else None,
    }
    if version == 1:
        return CaseAssigned(**fields, policy_version="test", rule_id=None)
    return CaseUpdated(
        **fields,
        action="resolve",
        from_status=CaseStatus.ASSIGNED,
        actor="police",
        outcome="removed",
    )


def deadline_store(db: MongoDatabase, at: datetime) -> DeadlineStore:
    return DeadlineStore(db, load_escalation_policy(), lambda: at)


def stored_report(report_id: str, status: str, at: datetime, contact: Any) -> Document:
    return {
        "_id": report_id,
        "status": status,
        "updated_at": at,
        "report": {"category": "scam_fraud", "contact_sealed": contact},
    }


def stored_case(case_id: str, status: str, closed_at: datetime | None, **fields: Any) -> Document:
    return {"_id": case_id, "status": status, "closed_at": closed_at, **fields}


async def seed_contacts(intake: MongoDatabase, routing: MongoDatabase) -> None:
    """Reports and cases closed long ago, lately, or still open; with a contact or without."""
    await intake.reports.insert_many(
        [
            stored_report("closed-old-contact", "resolved", CLOSED_LONG_AGO, CONTACT),
            {  # a clear contact left from before sealing
                **stored_report("rejected-old-contact", "rejected", CLOSED_LONG_AGO, None),
                "report": {"category": "scam_fraud", "contact": CLEAR},
            },
            stored_report("closed-old-anonymous", "resolved", CLOSED_LONG_AGO, None),
            stored_report("closed-new-contact", "resolved", LONG_AGO, CONTACT),
            stored_report("open-old-contact", "in_progress", CLOSED_LONG_AGO, CONTACT),
        ]
    )
    first = {"report_id": "r1", "contact_sealed": CONTACT}
    await routing.cases.insert_many(
        [
            stored_case(
                "grouped-old",
                "resolved",
                CLOSED_LONG_AGO,
                report={"contact_sealed": CONTACT},
                reports=[
                    first,
                    {"report_id": "r2", "contact_sealed": None},
                    {"report_id": "r3", "contact_sealed": "v1.k1.b3RoZXI.cGhvbmU"},
                ],
            ),
            stored_case(  # a clear contact left from before sealing
                "single-old", "rejected", CLOSED_LONG_AGO, report={"contact": CLEAR}, version=3
            ),
            stored_case(
                "joined-only-old",
                "resolved",
                CLOSED_LONG_AGO,
                report={"contact_sealed": None},
                reports=[
                    {"report_id": "r4", "contact_sealed": None},
                    {"report_id": "r5", "contact_sealed": CONTACT},
                ],
            ),
            stored_case("closed-new", "resolved", LONG_AGO, report={"contact_sealed": CONTACT}),
            stored_case("open", "assigned", None, report={"contact_sealed": CONTACT}),
        ]
    )


async def seed(intake: MongoDatabase, notify: MongoDatabase) -> None:
    def quarantined(at: datetime) -> dict[str, Any]:
        return {"entry": {"event_id": "x"}, "error": "ValueError()", "at": at}

    await intake.reports.insert_many(
        [
            {"_id": "old-key", "submitted_at": NOW - timedelta(days=30), "idempotency_key": "k1"}
            | {"request_hash": "h1"},
            {"_id": "new-key", "submitted_at": NOW - timedelta(days=1), "idempotency_key": "k2"}
            | {"request_hash": "h2"},
            {"_id": "mixed", QUARANTINE: [quarantined(LONG_AGO), quarantined(NOW)]},
            {"_id": "all-old", QUARANTINE: [quarantined(LONG_AGO)]},
        ]
    )
    await notify.alerts.insert_many(
        [
            {"_id": "done-old", "recorded_at": LONG_AGO, "deliveries": []},
            {"_id": "pending-old", "recorded_at": LONG_AGO, "next_attempt_at": NOW},
            {"_id": "done-new", "recorded_at": NOW - timedelta(days=1), "deliveries": []},
        ]
    )
    old, recent = deadline_store(notify, LONG_AGO), deadline_store(notify, NOW)
    await old.apply(case_event("closed-old", 1, CaseStatus.ASSIGNED, LONG_AGO))
    await old.apply(case_event("closed-old", 2, CaseStatus.RESOLVED, LONG_AGO))
    await old.apply(case_event("open-old", 1, CaseStatus.ASSIGNED, LONG_AGO))
    await recent.apply(case_event("closed-new", 1, CaseStatus.ASSIGNED, NOW))
    await recent.apply(case_event("closed-new", 2, CaseStatus.RESOLVED, NOW))
    await notify.deadlines.insert_one(
        {"_id": "poisoned-old", "status": "resolved", "updated_at": LONG_AGO, "poisoned": {}}
    )


async def snapshot(*dbs: MongoDatabase) -> list[list[Document]]:
    return [
        await db[name].find().sort("_id").to_list()
        for db in dbs
        for name in sorted(await db.list_collection_names())
    ]


def counts(run: Any) -> dict[tuple[str, str, str], int]:
    return {(r["service"], r["collection"], r["what"]): r["count"] for r in run.json()["removed"]}


EXPECTED = {
    ("intake", "reports", "quarantined outbox entries removed"): 2,
    ("intake", "reports", "idempotency keys cleared"): 1,
    ("intake", "reports", "reporters' contacts erased"): 2,
    ("intake", "reports", "free text anonymised"): 0,  # closed too recently (test_anonymise.py)
    ("intake", "case_states", "free text anonymised"): 0,
    ("routing", "cases", "quarantined outbox entries removed"): 0,
    ("routing", "cases", "reporters' contacts erased"): 3,
    ("routing", "cases", "free text anonymised"): 0,
    ("notify", "deadlines", "quarantined outbox entries removed"): 0,
    ("notify", "alerts", "alert records deleted"): 1,
    ("notify", "deadlines", "closed deadlines compacted"): 1,
}


async def test_a_dry_run_counts_and_a_run_removes_only_what_is_past_its_retention(
    client: AsyncMongoClient[Document], mongo_url: str, db_name: str
) -> None:
    intake, notify = client[f"{db_name}_intake"], client[f"{db_name}_notify"]
    routing = client[f"{db_name}_routing"]
    await seed(intake, notify)
    await seed_contacts(intake, routing)
    options = ["--json", *databases(mongo_url, db_name)]
    before = await snapshot(intake, notify, routing)

    dry = await admin("retention", "--dry-run", *options)
    assert dry.code == 0, dry.err
    assert dry.json()["dry_run"] is True and counts(dry) == EXPECTED
    assert await snapshot(intake, notify, routing) == before

    run = await admin("retention", *options)
    assert run.code == 0, run.err
    assert counts(run) == EXPECTED

    reports = {doc["_id"]: doc for doc in await intake.reports.find().to_list()}
    assert "idempotency_key" not in reports["old-key"] and "request_hash" not in reports["old-key"]
    assert reports["new-key"]["idempotency_key"] == "k2"
    assert [entry["at"] > LONG_AGO for entry in reports["mixed"][QUARANTINE]] == [True]
    assert QUARANTINE not in reports["all-old"]
    assert sorted(await notify.alerts.distinct("_id")) == ["done-new", "pending-old"]
    deadlines = {doc["_id"]: doc for doc in await notify.deadlines.find().to_list()}
    assert set(deadlines) == {"closed-old", "open-old", "closed-new", "poisoned-old"}
    assert set(deadlines["closed-old"]) == {"_id", "version", "rev", "status", "updated_at"} | {
        "compacted_at"
    }
    assert deadlines["open-old"][NEXT_DUE] and deadlines["closed-new"]["report_id"]

    contacts = {
        doc["_id"]: doc["report"].get("contact_sealed")
        for doc in reports.values()
        if "report" in doc
    }
    assert contacts == {
        "closed-old-contact": None,
        "rejected-old-contact": None,
        "closed-old-anonymous": None,
        "closed-new-contact": CONTACT,
        "open-old-contact": CONTACT,
    }
    assert "contact_sealed" not in reports["closed-old-contact"]["report"]
    assert "contact" not in reports["rejected-old-contact"]["report"]
    # Each erased report announces it (routing erases the copies in the cases holding it).
    for erased_report in ("closed-old-contact", "rejected-old-contact"):
        (announced,) = reports[erased_report]["outbox"]
        assert announced["routing_key"] == "report.contact_erased", erased_report
        assert '"reason":"retention"' in announced["body"]
        assert reports[erased_report]["contact_erasure_reason"] == "retention"
    assert "outbox" not in reports["closed-new-contact"]
    cases = {doc["_id"]: doc for doc in await routing.cases.find().to_list()}
    for erased in ("grouped-old", "single-old", "joined-only-old"):
        assert "contact_sealed" not in cases[erased]["report"], erased
        assert all("contact_sealed" not in entry for entry in cases[erased].get("reports", [])), (
            erased
        )
        assert "contact" not in cases[erased]["report"], erased
        assert cases[erased]["contact_erased_at"], erased
        (line,) = cases[erased]["audit"]  # so a later reveal answers 410, not 404
        assert (line["action"], line["actor"]) == ("contact_erased", "retention"), erased
    assert cases["single-old"]["version"] == 4  # a change planned before cannot write it back
    assert [r["report_id"] for r in cases["grouped-old"]["reports"]] == ["r1", "r2", "r3"]
    assert cases["closed-new"]["report"]["contact_sealed"] == CONTACT
    assert cases["open"]["report"]["contact_sealed"] == CONTACT

    again = await admin("retention", *options)
    assert again.code == 0 and set(counts(again).values()) == {0}


async def test_a_compacted_deadline_turns_away_a_late_older_event_about_its_case(
    client: AsyncMongoClient[Document], mongo_url: str, db_name: str
) -> None:
    notify = client[f"{db_name}_notify"]
    store = deadline_store(notify, LONG_AGO)
    await store.apply(case_event("c1", 1, CaseStatus.ASSIGNED, LONG_AGO))
    await store.apply(case_event("c1", 2, CaseStatus.RESOLVED, LONG_AGO))
    run = await admin("retention", "--service", "notify", *databases(mongo_url, db_name))
    assert run.code == 0, run.err
    assert "1 closed deadlines compacted" in run.out
    compacted = await notify.deadlines.find_one({"_id": "c1"})

    replayed = case_event("c1", 1, CaseStatus.ASSIGNED, LONG_AGO)  # e.g. from a dead-letter queue
    assert await deadline_store(notify, NOW).apply(replayed) is False
    assert await notify.deadlines.find_one({"_id": "c1"}) == compacted


async def test_bad_retention_values_are_refused() -> None:
    for value in ("0", "-3", "1.5", "ten"):
        run = await admin("retention", "--older-than", value)
        assert run.code == 2 and "--older-than: must be a whole number of days" in run.err


async def test_a_case_held_between_the_read_and_the_write_keeps_its_contact(
    client: AsyncMongoClient[Document], db_name: str
) -> None:
    routing = client[f"{db_name}_routing"]
    await routing.cases.insert_one(
        stored_case("held", "resolved", CLOSED_LONG_AGO, report={"contact_sealed": CONTACT})
    )
    query = {**closed_cases_with_contact(NOW - timedelta(days=180)), **not_held(NOW)}
    (doc,) = await routing.cases.find(query).to_list()
    write = case_erasure(doc, query, NOW)  # planned from the case as read
    await routing.cases.update_one(
        {"_id": "held"}, {"$set": {"legal_hold": {"reason": "court", "set_at": NOW}}}
    )
    assert (await routing.cases.bulk_write([write])).modified_count == 0
    held = await routing.cases.find_one({"_id": "held"})
    assert held is not None and held["report"]["contact_sealed"] == CONTACT
