"""PagerDuty targets, trigger and resolve bodies, and the resolutions a closed case needs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.common.contracts import CaseEscalated, Priority
from services.common.policyfile import PolicyError
from services.notify.alerts import deliveries_for, resolutions_for
from services.notify.escalation import parse_escalation_policy
from services.notify.pagerduty import DEFAULT_EVENTS_URL, resolve_body, trigger_body
from tests.helpers import escalation_event

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
POLICY_HEAD = """
version = "pd"
[[levels]]
level = 1
after = "0s"
roles = ["sup"]
"""
POLICY = parse_escalation_policy(
    POLICY_HEAD
    + """
[[targets]]
id = "oncall"
role = "sup"
pagerduty_routing_key = "R0UTINGKEY123"

[[targets]]
id = "oncall-eu"
role = "sup"
pagerduty_routing_key = "EUKEY"
pagerduty_events_url = "https://events.eu.pagerduty.com/v2/enqueue"
email = ["sup@example.org"]
"""
)


def escalation(priority: Priority = Priority.URGENT) -> CaseEscalated:
    return escalation_event(
        escalated_at=NOW,
        overdue=timedelta(hours=2),
        targets=["oncall", "oncall-eu"],
        event_id="esc-1",
        priority=priority,
        level=2,
    )


def test_a_trigger_carries_the_case_as_dedup_key_and_a_summary_in_both_languages() -> None:
    body = json.loads(trigger_body(escalation(), "R0UTINGKEY123", "https://x/cases/case-42"))
    assert body["routing_key"] == "R0UTINGKEY123"
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == "case-42"
    payload = body["payload"]
    assert payload["summary"].startswith("Vụ việc K7QX-3MPA-WZ9D (Lừa đảo")
    assert "escalation level 2" in payload["summary"]
    assert payload["source"] == "incidents/police"
    assert payload["severity"] == "critical"
    assert payload["custom_details"]["level"] == 2
    assert payload["custom_details"]["case_url"] == "https://x/cases/case-42"
    assert body["links"][0]["href"] == "https://x/cases/case-42"


@pytest.mark.parametrize(
    ("priority", "severity"),
    [
        (Priority.URGENT, "critical"),
        (Priority.HIGH, "error"),
        (Priority.NORMAL, "warning"),
        (Priority.LOW, "info"),
    ],
)
def test_severity_follows_the_case_priority(priority: Priority, severity: str) -> None:
    body = json.loads(trigger_body(escalation(priority), "K", "https://x"))
    assert body["payload"]["severity"] == severity


def test_a_resolve_names_the_same_dedup_key() -> None:
    assert json.loads(resolve_body("case-42", "K")) == {
        "routing_key": "K",
        "event_action": "resolve",
        "dedup_key": "case-42",
    }


def test_each_pagerduty_target_gets_a_trigger_delivery_to_its_events_url() -> None:
    deliveries = deliveries_for(escalation(), POLICY, NOW, email_enabled=True)
    pagerduty = [d for d in deliveries if d["channel"] == "pagerduty"]
    assert [(d["target"], d["address"], d["routing_key"], d["action"]) for d in pagerduty] == [
        ("oncall", DEFAULT_EVENTS_URL, "R0UTINGKEY123", "trigger"),
        ("oncall-eu", "https://events.eu.pagerduty.com/v2/enqueue", "EUKEY", "trigger"),
    ]
    assert all(d["status"] == "pending" for d in pagerduty)


def test_a_closed_case_resolves_each_triggered_target_once() -> None:
    level_one = {"deliveries": deliveries_for(escalation(), POLICY, NOW, email_enabled=True)}
    level_two = {"deliveries": deliveries_for(escalation(), POLICY, NOW, email_enabled=True)}
    resolves = resolutions_for([level_one, level_two], NOW)
    assert [(d["target"], d["action"], d["routing_key"]) for d in resolves] == [
        ("oncall", "resolve", "R0UTINGKEY123"),
        ("oncall-eu", "resolve", "EUKEY"),
    ]
    assert resolutions_for([{"deliveries": [{"channel": "email"}]}], NOW) == []


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            'pagerduty_events_url = "https://pd.example.org/enqueue"',
            "without pagerduty_routing_key",
        ),
        ('pagerduty_routing_key = "has spaces"', "pagerduty_routing_key"),
        ('pagerduty_routing_key = "K"\npagerduty_events_url = "not a url"', "pagerduty_events_url"),
    ],
)
def test_bad_pagerduty_targets_are_refused(target: str, message: str) -> None:
    text = POLICY_HEAD + f'[[targets]]\nid = "t"\nrole = "sup"\n{target}\n'
    with pytest.raises(PolicyError, match=message):
        parse_escalation_policy(text)
