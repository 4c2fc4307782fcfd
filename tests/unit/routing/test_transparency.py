"""Transparency figures from hand-built cases: what counts in a period, medians, timeliness on
both clocks, platform compliance, the CSV, and the public tables' suppression."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.routing.transparency import (
    Period,
    Timeliness,
    build_report,
    timeliness,
)
from services.routing.transparency_facts import ALL, CaseFacts
from services.routing.transparency_pages import public_months
from services.routing.transparency_public import HIDDEN, UNDER, public_figures, suppressed
from services.routing.transparency_query import (
    CSV_COLUMNS,
    PeriodError,
    parse_period,
    report_csv,
    report_json,
)

NOVEMBER = Period(date(2026, 11, 1), date(2026, 12, 1))
NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)


def at(day: int, hour: float = 3.0, month: int = 11) -> datetime:
    """A UTC time in 2026 (03:00 UTC is 10:00 in Hà Nội)."""
    return datetime(2026, month, day, tzinfo=UTC) + timedelta(hours=hour)


def case(**fields: Any) -> CaseFacts:
    """A case's facts: police, scam, Hà Nội, one report on 10 November unless told."""
    created = fields.pop("created_at", at(10))
    base: dict[str, Any] = {
        "agency": "police",
        "category": "scam_fraud",
        "report": {"province_code": "01"},
        "reports": [{"report_id": f"r-{created.isoformat()}", "reported_at": created}],
        "created_at": created,
    }
    return CaseFacts.model_validate(base | fields)


def decision(decided: datetime, outcome: str = "removed_by_platform", **due: Any) -> dict[str, Any]:
    return {"outcome": outcome, "decided_at": decided, **due}


def test_timeliness_compares_local_days_with_the_deadline() -> None:
    due = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # 17:00 on 20 Nov in Hà Nội
    assert timeliness(due - timedelta(hours=1), due) is Timeliness.ON_TIME
    assert timeliness(due, due) is Timeliness.ON_TIME
    assert timeliness(due + timedelta(seconds=1), due) is Timeliness.LATE
    # 23:30 on 19 Nov in Hà Nội is the day before: early; 00:30 on the 20th is the same day.
    assert timeliness(datetime(2026, 11, 19, 16, 30, tzinfo=UTC), due) is Timeliness.EARLY
    assert timeliness(datetime(2026, 11, 19, 17, 30, tzinfo=UTC), due) is Timeliness.ON_TIME
    assert timeliness(due, None) is Timeliness.NO_DEADLINE


def test_only_what_happened_in_the_period_counts() -> None:
    old = case(
        created_at=at(20, month=10),
        acknowledged_at=at(21, month=10),
        decisions=[decision(at(3))],
        reports=[
            {"report_id": "a", "reported_at": at(20, month=10)},
            {"report_id": "b", "reported_at": at(2), "reporter_id": "p1"},
        ],
    )
    later = case(created_at=at(2, month=12))
    report = build_report([old, later], NOVEMBER, NOW)
    totals = report.totals
    assert totals["cases"] == 0
    assert totals["reports_received"] == 1
    assert totals["reporters"] == 1
    assert totals["acknowledged"] == 0
    assert totals["decisions"] == 1
    assert totals["decisions.removed_by_platform"] == 1
    assert totals["first_decisions"] == 1
    assert totals["median_decide_s"] == (at(3) - at(20, month=10)).total_seconds()


def test_medians_and_distinct_reporters() -> None:
    cases = [
        case(
            created_at=at(2),
            acknowledged_at=at(2) + timedelta(hours=hours),
            reports=[
                {"report_id": f"r{hours}", "reporter_id": "same", "reported_at": at(2)},
                {"report_id": f"s{hours}", "reported_at": at(3)},
            ],
        )
        for hours in (1, 2, 10)
    ]
    totals = build_report(cases, NOVEMBER, NOW).totals
    assert totals["cases"] == 3
    assert totals["reports_received"] == 6
    assert totals["reporters"] == 4  # "same" once, three anonymous reports
    assert totals["acknowledged"] == 3
    assert totals["median_acknowledge_s"] == 2 * 3600
    assert totals["median_decide_s"] is None


def test_decisions_early_on_time_and_late_on_each_clock() -> None:
    due = at(20, 10)  # 17:00 local on 20 Nov
    cases = [
        case(decisions=[decision(at(18), internal_due_at=due, legal_due_at=due)]),  # early
        case(decisions=[decision(at(20, 2), internal_due_at=due, legal_due_at=due)]),  # on time
        case(decisions=[decision(at(21), internal_due_at=due, legal_due_at=due)]),  # late
        case(decisions=[decision(at(21), internal_due_at=None)], legal_due_at=at(22)),
    ]
    totals = build_report(cases, NOVEMBER, NOW).totals
    assert [totals[f"internal.{t.value}"] for t in Timeliness] == [1, 1, 1, 1]
    assert totals["internal.late_share"] == round(1 / 3, 4)
    # The last case's legal deadline is the case's own (no snapshot): decided a day before it.
    assert [totals[f"legal.{t.value}"] for t in Timeliness] == [2, 1, 1, 0]
    assert totals["legal.early_share"] == 0.5


def test_appeals_and_reversals_count_when_lodged_and_reviewed() -> None:
    appealed = case(
        decisions=[decision(at(5)), decision(at(12), "no_violation", review="reversed")],
        appeals=[{"appealed_at": at(6), "result": "reversed", "reviewed_at": at(12)}],
    )
    pending = case(appeals=[{"appealed_at": at(29)}])
    totals = build_report([appealed, pending], NOVEMBER, NOW).totals
    assert totals["appeals"] == 2
    assert totals["appeals_reviewed"] == 1
    assert totals["appeals_reversed"] == 1
    assert totals["appeals_upheld"] == 0
    assert totals["decisions"] == 2
    assert totals["first_decisions"] == 1


def test_platform_compliance_counts_answers_by_the_legal_deadline() -> None:
    def request(platform: str, status: str, sent: datetime, answered: float | None) -> dict:
        return {
            "platform": platform,
            "status": status,
            "sent_at": sent,
            "legal_due_at": sent + timedelta(hours=24),
            "answered_at": None if answered is None else sent + timedelta(hours=answered),
        }

    sent = at(10)
    the_case = case(
        takedowns=[
            request("facebook", "done", sent, 2),  # in time
            request("facebook", "refused", sent, 30),  # answered late
            request("facebook", "sent", sent, None),  # past its deadline, no answer: due
            request("tiktok", "sent", at(4, 12, month=12), None),  # sent in December
            request("tiktok", "sent", at(30, 12), None),  # due on 1 Dec, unanswered
            {"platform": "zalo", "status": "draft"},  # never sent: not a request
        ]
    )
    totals = build_report([the_case], NOVEMBER, NOW).totals
    assert totals["takedowns.requests"] == 4
    assert totals["platform.facebook.requests"] == 3
    assert totals["platform.facebook.due"] == 3
    assert totals["platform.facebook.complied"] == 1
    assert totals["platform.facebook.compliance_share"] == round(1 / 3, 4)
    assert totals["platform.facebook.median_answer_s"] == 16 * 3600
    assert totals["platform.tiktok.requests"] == 1
    assert totals["takedowns.done"] == 1
    assert totals["takedowns.awaiting"] == 2
    assert totals["takedowns.median_takedown_s"] == 2 * 3600
    assert "platform.zalo.requests" not in totals


def test_not_yet_due_requests_do_not_count_against_the_platform() -> None:
    sent = at(30, 12)  # 19:00 local on 30 Nov; due 1 Dec
    the_case = case(
        takedowns=[
            {"platform": "tiktok", "status": "sent", "sent_at": sent, "legal_due_at": at(1, 12, 12)}
        ]
    )
    totals = build_report([the_case], NOVEMBER, at(1, 0, month=12)).totals
    assert totals["platform.tiktok.requests"] == 1
    assert totals["platform.tiktok.due"] == 0
    assert totals["platform.tiktok.compliance_share"] is None


def test_breakdowns_add_up_to_the_totals() -> None:
    cases = [
        case(agency="police", category="scam_fraud"),
        case(agency="police", category="hijacked_account", report={"province_code": "79"}),
        case(agency="culture_office", category="false_information", report={}),
        case(agency="culture_office", category="false_information", created_at=at(1, month=9)),
    ]
    report = build_report(cases, NOVEMBER, NOW)
    assert report.totals["cases"] == 3
    by_agency = dict(report.breakdown("agency"))
    assert {a: f["cases"] for a, f in by_agency.items()} == {"culture_office": 1, "police": 2}
    by_province = dict(report.breakdown("province_code"))
    assert {p: f["cases"] for p, f in by_province.items()} == {"": 1, "01": 1, "79": 1}
    assert report.rows[("police", "79", "hijacked_account")]["cases"] == 1
    assert (ALL, ALL, ALL) in report.rows


def test_csv_is_rfc4180_with_one_row_per_figure() -> None:
    report = build_report([case(), case(category="impersonation")], NOVEMBER, NOW)
    text = report_csv(report)
    assert text.startswith(",".join(CSV_COLUMNS) + "\r\n")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    totals = [r for r in rows if (r["agency"], r["province_code"], r["category"]) == ("*",) * 3]
    assert {r["metric"]: r["value"] for r in totals}["cases"] == "2"
    assert rows[0]["period_from"] == "2026-11-01" and rows[0]["period_to"] == "2026-12-01"
    cells = {(r["agency"], r["category"], r["metric"]): r["value"] for r in rows}
    assert cells[("police", "impersonation", "cases")] == "1"
    assert cells[("*", "*", "median_decide_s")] == ""
    body = report_json(report, "all")
    assert body["totals"]["cases"] == 2
    assert body["period"] == {
        "from": "2026-11-01",
        "to": "2026-12-01",
        "to_included": False,
        "zone": "Asia/Ho_Chi_Minh",
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"from": "01/11/2026"}, "from"),
        ({"to": "2026-11-31"}, "to"),
        ({"from": "2026-11-10", "to": "2026-11-10"}, "to"),
        ({"from": "2025-01-01", "to": "2026-12-01"}, "to"),
    ],
)
def test_a_bad_period_names_its_parameter(query: dict[str, str], field: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(query, NOVEMBER)
    assert [p.field for p in caught.value.problems] == [field]


def test_a_period_of_a_whole_year_is_accepted() -> None:
    period = parse_period({"from": "2025-12-01", "to": "2026-12-01"}, NOVEMBER)
    assert period.start_at == datetime(2025, 11, 30, 17, 0, tzinfo=UTC)


def test_public_months_are_the_twelve_complete_ones() -> None:
    months = public_months(datetime(2026, 11, 30, 18, 0, tzinfo=UTC))  # 1 Dec in Hà Nội
    assert months[0] == date(2026, 11, 1)
    assert months[-1] == date(2025, 12, 1)
    assert len(months) == 12


def test_a_lone_small_count_hides_the_next_smallest() -> None:
    table = suppressed({"a": 3, "b": 40, "c": 12})
    assert table.cells == {"a": UNDER, "b": 40, "c": HIDDEN}
    assert table.total == 55


def test_small_counts_adding_up_to_under_5_are_hidden_with_another() -> None:
    table = suppressed({"a": 1, "b": 2, "c": 9, "d": 30})
    assert table.cells == {"a": UNDER, "b": UNDER, "c": HIDDEN, "d": 30}
    assert suppressed({"a": 0, "b": 0, "c": 50}).cells == {"a": UNDER, "b": UNDER, "c": HIDDEN}
    assert suppressed({"a": 2, "b": 3, "c": 50}).cells == {"a": UNDER, "b": UNDER, "c": 50}
    assert suppressed({"a": 2, "b": 1}).total == UNDER


def test_public_figures_publish_no_count_under_5() -> None:
    due = at(20, 10)
    cases = [
        case(category="scam_fraud", decisions=[decision(at(15), internal_due_at=due)])
        for _ in range(7)
    ] + [case(category="impersonation", decisions=[decision(at(21), "duplicate")])]
    figures = public_figures(build_report(cases, NOVEMBER, NOW), date(2026, 11, 1))
    body = figures.as_json()

    def counts(value: object) -> list[object]:
        if isinstance(value, dict):
            return [c for v in value.values() for c in counts(v)]
        return [value]

    tables = body["tables"]
    assert isinstance(tables, dict)
    published = [c for c in counts(tables) if isinstance(c, int)]
    assert published and all(c >= 5 for c in published)
    assert tables["cases"]["cells"]["impersonation"] == UNDER
    assert tables["cases"]["total"] == 8
    assert tables["cases"]["cells"]["scam_fraud"] == HIDDEN
    assert figures.medians["median_decide_s"] is not None
    assert "agency" not in str(body) and "police" not in str(body)
