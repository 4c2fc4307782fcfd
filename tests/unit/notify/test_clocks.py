"""Notify on a case's two clocks, without servers: escalation on the earlier clock, pre-breach
warnings at shares of the internal clock (in working time), platforms past the legal deadline
of a takedown request, and acknowledgement not stopping the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from services.common.clock import to_millis
from services.common.contracts import (
    CaseAssigned,
    CaseEscalated,
    CaseStatus,
    CaseUpdated,
    CaseWarning,
    Category,
    DeadlineClock,
    PlatformDeadlineMissed,
    Priority,
    TakedownClock,
)
from services.common.workcalendar import load_calendars
from services.notify.escalation import EscalationPolicy, parse_escalation_policy
from services.notify.planning import CaseEvent, Deadline, Revision, plan_case_event, plan_claim

pytestmark = pytest.mark.unit

POLICY: EscalationPolicy = parse_escalation_policy(
    """
version = "t"
warnings = [0.5, 0.8]

[[levels]]
level = 1
after = "0s"
roles = ["agency_supervisor"]

[[levels]]
level = 2
after = "1h"
roles = ["national"]

[[targets]]
id = "police-sup"
role = "agency_supervisor"
agency = "police"

[[targets]]
id = "police-desk"
role = "agency_desk"
agency = "police"

[[targets]]
id = "culture-desk"
role = "agency_desk"
agency = "culture_office"

[[targets]]
id = "national"
role = "national"
"""
)
ICT = timezone(timedelta(hours=7))
CALENDARS = load_calendars()
# Monday 30 November 2026, 09:00 in Vietnam.
START = datetime(2026, 11, 30, 9, 0, tzinfo=ICT).astimezone(UTC)
HOUR = timedelta(hours=1)


def event(
    version: int,
    due_at: datetime | None,
    *,
    legal_due_at: datetime | None = None,
    status: CaseStatus = CaseStatus.ASSIGNED,
    action: str | None = None,
    calendar: str | None = None,
    budget: float | None = None,
    takedowns: list[TakedownClock] | None = None,
    occurred_at: datetime = START,
) -> CaseEvent:
    fields: dict[str, Any] = {
        "event_id": f"e{version}",
        "occurred_at": occurred_at,
        "case_id": "case-1",
        "report_id": "report-1",
        "tracking_code": "TC-1",
        "agency": "police",
        "category": Category.HIJACKED_ACCOUNT,
        "priority": Priority.HIGH,
        "status": status,
        "version": version,
        "due_at": due_at,
        "legal_due_at": legal_due_at,
        "calendar": calendar,
        "internal_budget_s": budget,
        "takedowns": takedowns or [],
    }
    if action is None:
        return CaseAssigned(**fields, policy_version="p", rule_id=None)
    return CaseUpdated(**fields, action=action, from_status=CaseStatus.ASSIGNED, actor="police")


class Store:
    """One deadline document as the database would hold it, and every event it announced."""

    def __init__(self) -> None:
        self.doc: dict[str, Any] | None = None
        self.events: list[Any] = []

    def apply(self, case_event: CaseEvent, now: datetime) -> bool:
        stored = Revision.model_validate(self.doc) if self.doc is not None else None
        fields = plan_case_event(stored, case_event, POLICY, now, calendars=CALENDARS)
        if fields is None:
            return False
        self.doc = {**(self.doc or {}), "_id": case_event.case_id, **_as_stored(fields)}
        return True

    def scan(self, now: datetime) -> None:
        """Claim everything due at `now`, as the scanner would."""
        while self.doc and self.doc["next_due_at"] and self.doc["next_due_at"] <= now:
            claim = plan_claim(Deadline.model_validate(self.doc), POLICY, now)
            assert claim.events, "a due deadline announces something"
            self.events += claim.events
            self.doc.update(
                sent=claim.sent,
                warned=claim.warned,
                platform_alerted=list(claim.platform_alerted),
                next_due_at=claim.next_due_at,
                rev=self.doc["rev"] + 1,
            )

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def _as_stored(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: to_millis(v) if isinstance(v, datetime) else v for k, v in fields.items()}


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ICT).astimezone(UTC)


def test_escalation_follows_the_earlier_clock_and_names_it() -> None:
    store = Store()
    store.apply(event(1, START + 8 * HOUR, legal_due_at=START + 2 * HOUR), START)
    store.scan(START + 2 * HOUR)
    [first] = store.of(CaseEscalated)
    assert first.clock is DeadlineClock.LEGAL and first.due_at == START + 2 * HOUR

    internal_first = Store()
    internal_first.apply(event(1, START + HOUR, legal_due_at=START + 2 * HOUR), START)
    internal_first.scan(START + HOUR)
    [first] = internal_first.of(CaseEscalated)
    assert first.clock is DeadlineClock.INTERNAL


def test_a_paused_internal_clock_raises_nothing_while_the_legal_clock_runs() -> None:
    store = Store()
    store.apply(event(1, START + HOUR, legal_due_at=START + 48 * HOUR, budget=3600), START)
    store.apply(
        event(
            2,
            None,
            legal_due_at=START + 48 * HOUR,
            status=CaseStatus.WAITING_ON_PLATFORM,
            action="takedown_sent",
        ),
        START + timedelta(minutes=10),
    )
    store.scan(START + 47 * HOUR)
    assert store.events == []
    store.scan(START + 48 * HOUR)
    [alert] = store.events
    assert isinstance(alert, CaseEscalated) and alert.clock is DeadlineClock.LEGAL


def test_the_internal_deadline_keeps_the_identity_and_ids_it_had_before_the_legal_clock() -> None:
    alone, with_legal = Store(), Store()
    alone.apply(event(1, START + HOUR), START)
    with_legal.apply(event(1, START + HOUR, legal_due_at=START + 9 * HOUR), START)
    assert alone.doc is not None and with_legal.doc is not None
    assert alone.doc["deadline_key"] == with_legal.doc["deadline_key"]
    assert alone.doc["deadline_key"].startswith("police@")
    alone.scan(START + HOUR)
    with_legal.scan(START + HOUR)
    assert [e.event_id for e in alone.events] == [e.event_id for e in with_legal.events]


def test_an_acknowledged_case_escalates_again_when_its_resolution_deadline_passes() -> None:
    store = Store()
    store.apply(event(1, START + HOUR), START)
    store.scan(START + 2 * HOUR)  # the acknowledge-by deadline passed: levels 1 and 2
    resolve_by = START + 6 * HOUR
    store.apply(
        event(2, resolve_by, status=CaseStatus.ACKNOWLEDGED, action="acknowledge"),
        START + 2 * HOUR,
    )
    store.apply(
        event(3, resolve_by, status=CaseStatus.IN_PROGRESS, action="start"), START + 3 * HOUR
    )
    store.scan(resolve_by - timedelta(seconds=1))
    assert [e.level for e in store.of(CaseEscalated)] == [1, 2]
    store.scan(resolve_by + HOUR)
    escalations = store.of(CaseEscalated)
    assert [e.level for e in escalations] == [1, 2, 1, 2]
    assert escalations[2].status is CaseStatus.IN_PROGRESS
    assert len({e.event_id for e in escalations}) == 4


def test_warnings_fall_at_half_and_four_fifths_of_the_working_time_allowed() -> None:
    # Assigned Friday 16:00 with 16 working hours: due Tuesday 16:00. Half of it has run on
    # Monday 16:00, four fifths on Tuesday 11:18 (3.2 h before 16:00: the afternoon's 3 h and
    # the morning's last 12 minutes).
    friday = local(27, 16)
    due = CALENDARS.get("default").add(friday, 16 * 3600)
    assert due == datetime(2026, 12, 1, 16, tzinfo=ICT)
    store = Store()
    store.apply(event(1, due, calendar="default", budget=16 * 3600, occurred_at=friday), friday)
    store.scan(local(30, 15, 59))
    assert store.events == []
    store.scan(local(30, 16))
    store.scan(datetime(2026, 12, 1, 11, 17, 59, tzinfo=ICT))
    assert len(store.of(CaseWarning)) == 1
    store.scan(datetime(2026, 12, 1, 11, 18, tzinfo=ICT))
    half, most = store.of(CaseWarning)
    assert (half.share, most.share) == (0.5, 0.8)
    assert half.alerted_at == local(30, 16)
    assert half.targets == ["police-desk"] and half.clock is DeadlineClock.INTERNAL
    assert half.routing_key() == "case.warning.police" and half.due_at == due
    assert store.of(CaseEscalated) == []


def test_warnings_without_a_calendar_use_plain_time_and_their_ids_are_deterministic() -> None:
    runs = []
    for _ in range(2):
        store = Store()
        store.apply(event(1, START + 100 * timedelta(seconds=1), budget=100), START)
        store.scan(START + timedelta(seconds=50))
        store.scan(START + timedelta(seconds=80))
        runs.append([(e.share, e.event_id) for e in store.of(CaseWarning)])
    assert [share for share, _ in runs[0]] == [0.5, 0.8]
    assert runs[0] == runs[1] and len({i for _, i in runs[0]}) == 2


def test_a_late_scan_sends_only_the_latest_warning_and_none_past_the_deadline() -> None:
    store = Store()
    store.apply(event(1, START + timedelta(seconds=100), budget=100), START)
    store.scan(START + timedelta(seconds=90))
    assert [e.share for e in store.of(CaseWarning)] == [0.8]
    late = Store()
    late.apply(event(1, START + timedelta(seconds=100), budget=100), START)
    late.scan(START + timedelta(seconds=100))
    assert late.of(CaseWarning) == [] and len(late.of(CaseEscalated)) == 1


def test_a_resumed_deadline_does_not_warn_again_of_a_share_warned_before_the_pause() -> None:
    store = Store()
    store.apply(event(1, START + timedelta(seconds=100), budget=100), START)
    store.scan(START + timedelta(seconds=60))  # the 50 % warning
    paused_at = START + timedelta(seconds=60)
    store.apply(
        event(
            2,
            None,
            status=CaseStatus.WAITING_ON_PLATFORM,
            action="takedown_sent",
            budget=100,
            occurred_at=paused_at,
        ),
        paused_at,
    )
    resumed_at = START + timedelta(seconds=500)
    due = resumed_at + timedelta(seconds=40)  # 40 s were left
    store.apply(
        event(
            3,
            due,
            status=CaseStatus.IN_PROGRESS,
            action="takedown_answered",
            budget=100,
            occurred_at=resumed_at,
        ),
        resumed_at,
    )
    store.scan(due - timedelta(seconds=21))
    assert [e.share for e in store.of(CaseWarning)] == [0.5]
    store.scan(due - timedelta(seconds=20))  # 80 s of the 100 have run
    assert [e.share for e in store.of(CaseWarning)] == [0.5, 0.8]


def takedown(request_id: str, due: datetime) -> TakedownClock:
    return TakedownClock(
        request_id=request_id, platform="facebook", sent_at=due - 24 * HOUR, legal_due_at=due
    )


def test_a_platform_past_its_legal_deadline_is_alerted_once_per_request() -> None:
    first, second = takedown("r1", START + 2 * HOUR), takedown("r2", START + 3 * HOUR)
    store = Store()
    store.apply(
        event(1, None, status=CaseStatus.WAITING_ON_PLATFORM, takedowns=[first, second]), START
    )
    store.scan(START + 2 * HOUR)
    store.scan(START + 2 * HOUR + timedelta(minutes=5))
    store.apply(
        event(
            2, None, status=CaseStatus.WAITING_ON_PLATFORM, action="note", takedowns=[first, second]
        ),
        START + 2 * HOUR + timedelta(minutes=6),
    )
    store.scan(START + 4 * HOUR)
    alerts = store.of(PlatformDeadlineMissed)
    assert [a.request_id for a in alerts] == ["r1", "r2"]
    assert alerts[0].routing_key() == "case.platform_overdue.police"
    assert alerts[0].targets == ["police-sup"] and alerts[0].platform == "facebook"
    assert alerts[1].overdue_by_seconds == 3600
    assert store.doc is not None and store.doc["next_due_at"] is None


def test_an_answered_request_raises_nothing_and_ids_are_deterministic() -> None:
    request = takedown("r1", START + 2 * HOUR)
    store = Store()
    store.apply(event(1, None, status=CaseStatus.WAITING_ON_PLATFORM, takedowns=[request]), START)
    store.apply(event(2, START + 8 * HOUR, status=CaseStatus.IN_PROGRESS, action="answer"), START)
    store.scan(START + 3 * HOUR)
    assert store.events == []
    ids = []
    for _ in range(2):
        again = Store()
        again.apply(
            event(1, None, status=CaseStatus.WAITING_ON_PLATFORM, takedowns=[request]), START
        )
        again.scan(START + 3 * HOUR)
        ids += [e.event_id for e in again.events]
    assert len(ids) == 2 and ids[0] == ids[1]


def test_a_closed_case_raises_no_warning_nor_platform_alert() -> None:
    store = Store()
    store.apply(
        event(
            1, START + timedelta(seconds=100), budget=100, takedowns=[takedown("r1", START + HOUR)]
        ),
        START,
    )
    store.apply(
        event(
            2,
            None,
            status=CaseStatus.RESOLVED,
            action="resolve",
            takedowns=[takedown("r1", START + HOUR)],
        ),
        START,
    )
    store.scan(START + 5 * HOUR)
    assert store.events == []
    assert store.doc is not None and store.doc["next_due_at"] is None


@pytest.mark.parametrize(
    ("warnings", "problem"),
    [("[0.8, 0.5]", "ascending"), ("[0.5, 1.0]", "between 0 and 1"), ("[0]", "between")],
)
def test_warning_shares_are_validated(warnings: str, problem: str) -> None:
    text = f'version = "v"\nwarnings = {warnings}\n[[levels]]\nlevel = 1\nafter = "0s"\n'
    text += 'roles = ["s"]\n[[targets]]\nid = "t"\nrole = "s"\n'
    with pytest.raises(ValueError, match=problem):
        parse_escalation_policy(text)


def test_the_deadline_identity_names_its_clock() -> None:
    moment = START + HOUR
    internal, legal = Store(), Store()
    internal.apply(event(1, moment), START)
    legal.apply(event(1, None, legal_due_at=moment), START)
    assert internal.doc is not None and legal.doc is not None
    assert legal.doc["deadline_key"] == "legal:" + internal.doc["deadline_key"]
    assert (internal.doc["clock"], legal.doc["clock"]) == ("internal", "legal")
    internal.scan(moment)
    legal.scan(moment)
    assert internal.events[0].event_id != legal.events[0].event_id
    again = Store()
    again.apply(event(1, None, legal_due_at=moment), START)
    again.scan(moment + timedelta(seconds=5))
    assert again.events[0].event_id == legal.events[0].event_id
