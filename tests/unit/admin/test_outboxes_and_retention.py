"""`outboxes` and `retention` without a database: what they print, what they select, and the
options they refuse."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from services.admin.cli import build_parser
from services.admin.outboxes import CollectionState, Lease, age, render
from services.admin.retention_steps import (
    Cutoffs,
    closed_cases_with_contact,
    closed_reports_with_contact,
    old_quarantine,
)
from services.intake.retention import old_idempotency_keys
from services.notify.retention import COMPACTED_AT, closed_deadlines, compacted, finished_alerts

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_ages_read_in_their_two_largest_units() -> None:
    assert [age(s) for s in (0, 45, 200, 5 * 3600 + 120, 2 * 86400 + 3 * 3600, -3)] == [
        "0s",
        "45s",
        "3m20s",
        "5h02m",
        "2d03h",
        "0s",
    ]


def test_the_outbox_table_has_a_line_per_collection() -> None:
    reports = CollectionState("intake", "intake", "reports", pending=3, oldest_pending_seconds=75.0)
    reports.lease = Lease("f00dfeed" * 4, NOW, held=True)
    reports.quarantined_entries, reports.quarantined_documents = 4, 2
    alerts = CollectionState("notify", "notify", "alerts", poisoned=1)
    lines = render([reports, alerts]).splitlines()
    assert re.split(r"\s{2,}", lines[0]) == [
        "service",
        "collection",
        "pending",
        "oldest",
        "relay lease",
        "quarantined",
        "poisoned",
    ]
    assert re.split(r"\s{2,}", lines[1]) == [
        "intake",
        "intake.reports",
        "3",
        "1m15s",
        "f00dfeed held until 2026-11-29 12:00:00Z",
        "4 in 2 doc(s)",
        "-",
    ]
    assert re.split(r"\s{2,}", lines[2]) == ["notify", "notify.alerts", "-", "-", "-", "-", "1"]


def test_retention_selects_only_what_is_done_and_old() -> None:
    cutoffs = Cutoffs.of(NOW, days=90, idempotency_days=7, contact_days=180)
    assert cutoffs.kept == NOW - timedelta(days=90)
    assert cutoffs.idempotency == NOW - timedelta(days=7)
    assert cutoffs.contact == NOW - timedelta(days=180)
    assert closed_reports_with_contact(cutoffs.contact) == {
        "status": {"$in": ["rejected", "resolved"]},
        "updated_at": {"$lt": cutoffs.contact},
        "$or": [{"report.contact_sealed": {"$ne": None}}, {"report.contact": {"$ne": None}}],
    }
    assert closed_cases_with_contact(cutoffs.contact)["closed_at"] == {"$lt": cutoffs.contact}
    assert old_quarantine(cutoffs.kept) == {"outbox_quarantine.at": {"$lt": cutoffs.kept}}
    assert finished_alerts(cutoffs.kept) == {
        "recorded_at": {"$lt": cutoffs.kept},
        "next_attempt_at": {"$exists": False},
    }
    deadlines = closed_deadlines(cutoffs.kept)
    assert deadlines["status"] == {"$in": ["rejected", "resolved"]}
    for pending in ("next_due_at", "outbox_since", "poisoned", COMPACTED_AT):
        assert deadlines[pending] == {"$exists": False}
    assert old_idempotency_keys(cutoffs.idempotency)["submitted_at"] == {"$lt": cutoffs.idempotency}


def test_a_compacted_deadline_keeps_what_orders_later_events() -> None:
    stored = {
        "_id": "case-1",
        "version": 4,
        "rev": 9,
        "status": "resolved",
        "updated_at": NOW,
        "agency": "police",
        "report_id": "r-1",
        "tracking_code": "AAAA-BBBB-CCCC",
        "province": "Đà Nẵng",
    }
    assert compacted(stored, NOW) == {
        "_id": "case-1",
        "version": 4,
        "rev": 9,
        "status": "resolved",
        "updated_at": NOW,
        COMPACTED_AT: NOW,
    }


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["retention", "--older-than", "0"], "--older-than: must be a whole number of days"),
        (["retention", "--idempotency-older-than", "٣"], "must be a whole number of days"),
        (["outboxes", "--service", "billing"], "invalid choice: 'billing'"),
        (["dlq", "show", "q", "--limit", "-1"], "--limit: must be a whole number of at least 1"),
        (["dlq", "replay", "q", "--all", "--message-id", "e1"], "not allowed with argument"),
        (["dlq", "replay", "q"], "one of the arguments --message-id --all is required"),
    ],
)
def test_bad_options_are_refused_with_exit_code_2(
    argv: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    assert exit_.value.code == 2
    assert complaint in capsys.readouterr().err


def test_defaults_come_from_the_services_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_MONGO_DB", "notify_eu")
    monkeypatch.setenv("TOPOLOGY_PREFIX", "demo.")
    outboxes = build_parser().parse_args(["outboxes"])
    assert (outboxes.intake_db, outboxes.routing_db, outboxes.notify_db) == (
        "intake",
        "routing",
        "notify_eu",
    )
    assert build_parser().parse_args(["dlq", "list"]).prefix == "demo."
    retention = build_parser().parse_args(["retention"])
    assert (
        retention.older_than,
        retention.idempotency_older_than,
        retention.contact_older_than,
        retention.dry_run,
    ) == (90, 7, 180, False)
