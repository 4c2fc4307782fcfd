"""Anonymisation without a database: what it selects, what it empties and what it keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.admin.anonymise import (
    Holds,
    anonymised_case,
    anonymised_report,
    anonymised_state,
    anonymising,
    cases_to_anonymise,
    renamed,
    reports_to_anonymise,
)
from services.admin.cli import build_parser
from services.common.contracts import ANONYMISED_EXPLANATION

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=1095)
FILE = {"file_id": "f1", "filename": "Nguyễn Văn C.jpg", "content_type": "image/jpeg", "size": 3}


def test_only_closed_unanonymised_unheld_reports_are_selected() -> None:
    query = reports_to_anonymise(CUTOFF, Holds(frozenset({"c1"}), frozenset({"r2", "r1"})))
    assert query == {
        "status": {"$in": ["rejected", "resolved"]},
        "updated_at": {"$lt": CUTOFF},
        "anonymised_at": None,
        "_id": {"$nin": ["r1", "r2"]},
    }
    cases = cases_to_anonymise(CUTOFF, NOW)
    assert cases["closed_at"] == {"$lt": CUTOFF}
    assert cases["$nor"][0]["$or"] == [
        {"legal_hold.ends_at": None},
        {"legal_hold.ends_at": {"$gt": NOW}},
    ]


def test_evidence_file_names_become_neutral_and_the_rest_stays() -> None:
    pdf = {**FILE, "file_id": "f2", "content_type": "application/pdf"}
    assert renamed([FILE, pdf]) == [
        {**FILE, "filename": "evidence-1.jpg"},
        {**pdf, "filename": "evidence-2.pdf"},
    ]


def test_a_report_loses_its_words_field_by_field() -> None:
    document = {
        "report": {"description": "Anh C", "evidence_links": ["https://x"], "evidence": [FILE]},
        "appeal": {"reason": "Tôi là D", "at": NOW},
        "case": {"decision": {"explanation": "Đã gọi anh C", "outcome": "removed"}},
    }
    assert anonymised_report(document, NOW) == {
        "report.description": "",
        "report.evidence_links": [],
        "report.evidence": [{**FILE, "filename": "evidence-1.jpg"}],
        "appeal.reason": "",
        "case.decision.explanation": ANONYMISED_EXPLANATION,
        "anonymised_at": NOW,
    }
    assert anonymised_report({"report": {}}, NOW)["report.description"] == ""
    assert anonymised_state({"decision": {"explanation": "x"}}, NOW) == {
        "decision.explanation": ANONYMISED_EXPLANATION,
        "anonymised_at": NOW,
    }


def test_a_case_keeps_the_services_own_notes_codes_and_dates() -> None:
    audit = [
        {"action": "assign", "note": "rule police-scam"},
        {"action": "escalated", "note": "level 2: supervisor", "level": 2},
        {"action": "resolve", "note": "Gọi anh C", "outcome": "removed"},
        {"action": "acknowledge"},
    ]
    decision = {"outcome": "removed", "legal_basis": "nd147", "explanation": "Anh C"}
    document = {
        "report": {"category": "scam_fraud", "description": "Anh C", "content_urls": ["u"]},
        "reports": [{"report_id": "r1", "description": "Anh C", "reporter_id": "h"}],
        "audit": audit,
        "notes": [{"text": "Anh C", "at": NOW}],
        "appeals": [{"reason": "Tôi là D", "result": "upheld"}],
        "decision": decision,
        "decisions": [decision],
        "takedowns": [{"asked": "remove", "note": "Anh C", "answer_reason": None}],
    }
    changes = anonymised_case(document, NOW)
    assert changes["report"] == {
        "category": "scam_fraud",
        "description": "",
        "content_urls": ["u"],
        "evidence_links": [],
        "evidence": [],
    }
    assert (
        changes["reports"][0]["reporter_id"] == "h" and changes["reports"][0]["description"] == ""
    )
    assert [entry.get("note") for entry in changes["audit"]] == [
        "rule police-scam",
        "level 2: supervisor",
        "",
        None,
    ]
    assert changes["notes"][0]["text"] == "" and changes["appeals"][0] == {
        "reason": "",
        "result": "upheld",
    }
    assert changes["decision"] == {**decision, "explanation": ANONYMISED_EXPLANATION}
    assert changes["decisions"] == [changes["decision"]]  # events need some explanation
    assert changes["takedowns"] == [{"asked": "remove", "note": "", "answer_reason": None}]
    assert changes["anonymised_at"] == NOW


def test_the_anonymisation_default_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build_parser().parse_args(["retention"]).anonymise_older_than == 1095
    monkeypatch.setenv("RETENTION_ANONYMISE_DAYS", "2000")
    assert build_parser().parse_args(["retention"]).anonymise_older_than == 2000
    monkeypatch.setenv("RETENTION_ANONYMISE_DAYS", "forever")
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["retention"])
    assert exit_.value.code == 2
    assert "--anonymise-older-than: must be a whole number of days" in capsys.readouterr().err


def test_anonymising_drops_published_events_and_keeps_pending_ones() -> None:
    def plan(doc: dict[str, Any], now: datetime) -> dict[str, Any]:
        return {"report.description": ""}

    published = {"_id": "r1", "outbox": [{"body": "the reporter's words"}]}
    assert anonymising(published, plan, NOW) == {
        "$set": {"report.description": ""},
        "$unset": {"outbox": ""},
    }
    pending = {**published, "outbox_since": NOW}
    assert anonymising(pending, plan, NOW) == {"$set": {"report.description": ""}}
    assert anonymising({"_id": "r2"}, plan, NOW) == {"$set": {"report.description": ""}}
