"""`incidents-admin retention` anonymising free text against a real MongoDB wire server: only
cases closed past `--anonymise-older-than`, in intake and routing alike, never one under a
legal hold in force (nor its contacts), and a second run changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.common.contracts import (
    ANONYMISED_EXPLANATION,
    CaseStatus,
    DecisionOutcome,
    EvidenceFile,
)
from services.common.mongo import Document, MongoDatabase, make_client
from services.routing.case import Appeal, AuditRecord, Case, CaseNote, Decision
from services.routing.legalhold import LegalHold, end_of
from services.routing.planning import plan_new_case
from tests.integration.admin.support import admin
from tests.integration.admin.test_outboxes import databases
from tests.unit.routing.factory import POLICY, report

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
FOUR_YEARS_AGO = NOW - timedelta(days=4 * 365)
ONE_YEAR_AGO = NOW - timedelta(days=365)
DESCRIPTION = "Trang của anh Nguyễn Văn C giả mạo ngân hàng."
REASON = "Tôi là Lê Thị D, trang vẫn còn hoạt động."
EXPLANATION = "Chúng tôi đã liên hệ với anh Nguyễn Văn C."
CONTACT = "v1.k1.c2VhbGVk.bGUtdGhpLWQ"  # sealed, as stored
EVIDENCE = EvidenceFile(
    file_id="f1",
    filename="ảnh chụp trang của Nguyễn Văn C.png",
    content_type="image/png",
    size=10,
    sha256_received="a" * 64,
    sha256_stored="b" * 64,
)
HOLD_REASON = "Toà án yêu cầu giữ"
OPEN_HOLD = {"reason": HOLD_REASON, "until": None, "set_at": NOW, "set_by": "supervisor"}
PAST_DAY = (NOW - timedelta(days=10)).date()
SERVICES = ("--service", "intake", "--service", "routing")
ENDED_HOLD = {**OPEN_HOLD, "until": PAST_DAY.isoformat(), "ends_at": end_of(PAST_DAY)}


@pytest.fixture
async def client(mongo_url: str) -> AsyncIterator[AsyncMongoClient[Document]]:
    client = make_client(mongo_url, timeout_ms=5000)
    yield client
    await client.close()


def closed_case(case_id: str, closed_at: datetime | None, **fields: Any) -> Document:
    """A case of one report with every kind of free text, closed at `closed_at` (None: open)."""
    submitted = report(
        report_id=f"r-{case_id}",
        description=DESCRIPTION,
        evidence_links=["https://drive.example/le-thi-d"],
        evidence=[EVIDENCE],
    )
    case, _ = plan_new_case(submitted, POLICY, closed_at or NOW, case_id=case_id)
    decision = Decision(
        outcome=DecisionOutcome.REMOVED_BY_PLATFORM,
        legal_basis="decree_147_2024",
        explanation=EXPLANATION,
        decided_at=closed_at or NOW,
        decided_by="police",
        status=CaseStatus.RESOLVED,
    )
    at = closed_at or NOW
    human = AuditRecord(
        at=at, actor="police", action="resolve", to_status="resolved", note="Gọi cho D"
    )
    escalated = AuditRecord(
        at=at, actor="notify", action="escalated", to_status="assigned", note="level 1: supervisor"
    )
    closed = case.model_copy(
        update={
            "status": CaseStatus.RESOLVED if closed_at else CaseStatus.ASSIGNED,
            "closed_at": closed_at,
            "decision": decision,
            "decisions": [decision],
            "notes": [CaseNote(at=at, actor="police", text="Anh C đã gỡ trang")],
            "appeals": [
                Appeal(
                    event_id="e1",
                    report_id=f"r-{case_id}",
                    tracking_code=case.tracking_code,
                    reason=REASON,
                    appealed_at=at,
                    against=at,
                    decided_by="police",
                )
            ],
            "audit": [*case.audit, escalated, human],
        }
    )
    return {**closed.to_document(), **fields}


def intake_report(
    report_id: str, status: str, at: datetime, contact: Any = None, **fields: Any
) -> Document:
    """Intake's report with its description, evidence, appeal and its case's decision."""
    return {
        "_id": report_id,
        "tracking_code": f"T-{report_id}",
        "status": status,
        "updated_at": at,
        "submitted_at": at,
        "history": [],
        "report": {
            "category": "scam_fraud",
            "platform": "facebook",
            "content_urls": ["https://facebook.com/page/1"],
            "description": DESCRIPTION,
            "evidence_links": ["https://drive.example/le-thi-d"],
            "evidence": [EVIDENCE.model_dump()],
            "contact_sealed": contact,
        },
        "appeal": {"reason": REASON, "at": at, "decided_at": at},
        "case": {"case_id": report_id, "status": status, "decision": {"explanation": EXPLANATION}},
        **fields,
    }


async def seed(intake: MongoDatabase, routing: MongoDatabase) -> None:
    await routing.cases.insert_many(
        [
            closed_case("old", FOUR_YEARS_AGO),
            closed_case("recent", ONE_YEAR_AGO),
            closed_case("open", None),
            closed_case("held", FOUR_YEARS_AGO, legal_hold=OPEN_HOLD),
            closed_case("hold-ended", FOUR_YEARS_AGO, legal_hold=ENDED_HOLD),
        ]
    )
    await intake.reports.insert_many(
        [
            intake_report("r-old", "resolved", FOUR_YEARS_AGO),
            intake_report("r-recent", "resolved", ONE_YEAR_AGO),
            intake_report("r-open", "in_progress", FOUR_YEARS_AGO),
            intake_report("r-held", "rejected", FOUR_YEARS_AGO),
            intake_report("r-hold-ended", "rejected", FOUR_YEARS_AGO),
        ]
    )
    decided = {"status": "resolved", "decision": {"explanation": EXPLANATION}}
    await intake.case_states.insert_many(
        [
            {"_id": "old", "at": FOUR_YEARS_AGO, **decided},
            {"_id": "held", "at": FOUR_YEARS_AGO, **decided},
            {"_id": "recent", "at": ONE_YEAR_AGO, **decided},
        ]
    )


async def snapshot(*dbs: MongoDatabase) -> list[list[Document]]:
    return [
        await db[name].find().sort("_id").to_list()
        for db in dbs
        for name in sorted(await db.list_collection_names())
    ]


def anonymised(run: Any) -> dict[tuple[str, str], int]:
    rows = run.json()["removed"]
    return {(r["service"], r["collection"]): r["count"] for r in rows if "anonymised" in r["what"]}


async def test_closed_old_texts_are_anonymised_once_in_both_databases_except_under_a_hold(
    client: AsyncMongoClient[Document], mongo_url: str, db_name: str
) -> None:
    intake, routing = client[f"{db_name}_intake"], client[f"{db_name}_routing"]
    await seed(intake, routing)
    options = ["--json", *SERVICES, *databases(mongo_url, db_name)]
    expected = {("intake", "reports"): 2, ("intake", "case_states"): 1, ("routing", "cases"): 2}
    before = await snapshot(intake, routing)

    dry = await admin("retention", "--dry-run", *options)
    assert dry.code == 0, dry.err
    assert anonymised(dry) == expected
    assert await snapshot(intake, routing) == before

    run = await admin("retention", *options)
    assert run.code == 0, run.err
    assert anonymised(run) == expected
    assert "anonymised" in run.err  # progress, on standard error (standard output is JSON)

    reports = {d["_id"]: d for d in await intake.reports.find().to_list()}
    for gone in ("r-old", "r-hold-ended"):
        done = reports[gone]
        assert done["anonymised_at"], gone
        assert done["report"]["description"] == "" and done["report"]["evidence_links"] == []
        assert done["report"]["evidence"][0]["filename"] == "evidence-1.png"
        assert done["report"]["evidence"][0]["sha256_stored"] == "b" * 64
        assert (
            done["appeal"]["reason"] == ""
            and done["case"]["decision"]["explanation"] == ANONYMISED_EXPLANATION
        )
        assert done["report"]["category"] == "scam_fraud" and done["report"]["content_urls"]
    for kept in ("r-recent", "r-open", "r-held"):
        assert reports[kept].get("anonymised_at") is None, kept
        assert reports[kept]["report"]["description"] == DESCRIPTION, kept
        assert reports[kept]["appeal"]["reason"] == REASON, kept
    states = {d["_id"]: d for d in await intake.case_states.find().to_list()}
    assert states["old"]["decision"]["explanation"] == ANONYMISED_EXPLANATION
    assert states["held"]["decision"]["explanation"] == EXPLANATION
    assert states["recent"]["decision"]["explanation"] == EXPLANATION

    cases = {d["_id"]: d for d in await routing.cases.find().to_list()}
    for gone in ("old", "hold-ended"):
        case = Case.from_document(cases[gone])  # still a readable case
        assert case.anonymised_at is not None, gone
        assert case.report.description == "" and case.report.evidence_links == []
        assert [r.description for r in case.reports] == [""]
        assert case.report.evidence[0].filename == "evidence-1.png"
        assert case.appeals[0].reason == "" and case.notes[0].text == ""
        assert case.decision is not None and case.decision.explanation == ANONYMISED_EXPLANATION
        assert case.decisions[0].explanation == ANONYMISED_EXPLANATION
        notes = {entry.action: entry.note for entry in case.audit}
        assert notes["resolve"] == "" and notes["escalated"] == "level 1: supervisor"
        assert notes["assign"] and notes["assign"].startswith("rule")
        assert case.decision.outcome is DecisionOutcome.REMOVED_BY_PLATFORM
        assert case.category.value == "scam_fraud" and case.agency and case.closed_at
    for kept in ("recent", "open", "held"):
        assert cases[kept].get("anonymised_at") is None, kept
        case = Case.from_document(cases[kept])
        assert case.report.description == DESCRIPTION and case.appeals[0].reason == REASON, kept
        assert case.decision is not None and case.decision.explanation == EXPLANATION, kept
    assert LegalHold.model_validate(cases["held"]["legal_hold"]).in_force(NOW)

    after = await snapshot(intake, routing)
    again = await admin("retention", *options)
    assert again.code == 0, again.err
    assert set(anonymised(again).values()) == {0}
    assert await snapshot(intake, routing) == after


async def test_stored_files_kept_mails_and_an_ended_hold_lose_the_words_too(
    client: AsyncMongoClient[Document], mongo_url: str, db_name: str
) -> None:
    intake, routing = client[f"{db_name}_intake"], client[f"{db_name}_routing"]
    await routing.cases.insert_one(closed_case("ended", FOUR_YEARS_AGO, legal_hold=ENDED_HOLD))
    await intake.reports.insert_one(intake_report("r-ended", "rejected", FOUR_YEARS_AGO))
    metadata = {**EVIDENCE.model_dump(exclude={"file_id"}), "report_id": "r-ended"}
    await intake["evidence.files"].insert_one(
        {"_id": EVIDENCE.file_id, "filename": EVIDENCE.filename, "metadata": metadata}
    )
    await intake.mails.insert_one(  # a decision e-mail set aside, never finished
        {
            "_id": "r-ended:1",
            "report_id": "r-ended",
            "status": "quarantined",
            "decision": {"explanation": EXPLANATION},
        }
    )
    run = await admin("retention", *SERVICES, *databases(mongo_url, db_name))
    assert run.code == 0, run.err

    stored = json.dumps(await snapshot(intake, routing), default=str, ensure_ascii=False)
    for words in (DESCRIPTION, REASON, EXPLANATION, EVIDENCE.filename, HOLD_REASON):
        assert words not in stored, words
    file = await intake["evidence.files"].find_one({"_id": EVIDENCE.file_id})
    assert file is not None
    assert file["filename"] == file["metadata"]["filename"] == "evidence-1.png"
    case = await routing.cases.find_one({"_id": "ended"})
    assert case is not None and LegalHold.model_validate(case["legal_hold"]).reason == ""


async def test_contacts_of_a_held_case_are_kept_past_their_retention(
    client: AsyncMongoClient[Document], mongo_url: str, db_name: str
) -> None:
    intake, routing = client[f"{db_name}_intake"], client[f"{db_name}_routing"]
    long_ago = NOW - timedelta(days=200)  # past the contacts' 180 days
    held, free = closed_case("held", long_ago, legal_hold=OPEN_HOLD), closed_case("free", long_ago)
    for case in (held, free):
        case["report"]["contact_sealed"] = CONTACT
        case["reports"][0]["contact_sealed"] = CONTACT
    await routing.cases.insert_many([held, free])
    await intake.reports.insert_many(
        [
            intake_report("r-held", "resolved", long_ago, CONTACT),
            intake_report("r-free", "resolved", long_ago, CONTACT),
        ]
    )
    options = ["--json", *SERVICES, *databases(mongo_url, db_name)]

    run = await admin("retention", *options)
    assert run.code == 0, run.err
    erased = {
        (r["service"], r["collection"]): r["count"]
        for r in run.json()["removed"]
        if r["what"] == "reporters' contacts erased"
    }
    assert erased == {("intake", "reports"): 1, ("routing", "cases"): 1}
    reports = {d["_id"]: d for d in await intake.reports.find().to_list()}
    assert reports["r-held"]["report"]["contact_sealed"] == CONTACT
    assert "outbox" not in reports["r-held"]
    assert "contact_sealed" not in reports["r-free"]["report"]
    cases = {d["_id"]: d for d in await routing.cases.find().to_list()}
    assert cases["held"]["report"]["contact_sealed"] == CONTACT
    assert cases["held"]["reports"][0]["contact_sealed"] == CONTACT
    assert "contact_sealed" not in cases["free"]["report"]


async def test_anonymising_before_the_contacts_are_erased_is_refused() -> None:
    run = await admin("retention", "--anonymise-older-than", "100")
    assert run.code == 2
    assert "--anonymise-older-than must be at least --contact-older-than (180)" in run.err
