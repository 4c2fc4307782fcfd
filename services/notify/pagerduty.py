"""PagerDuty Events API v2 bodies: a trigger per escalation, a resolve when the case closes.

Both carry the case id as `dedup_key`, so every level of one case lands on one PagerDuty alert
and the resolve closes it. The routing key is the target's integration key.
"""

from __future__ import annotations

import json
from typing import Any

from services.common.contracts import CaseEscalated, DeadlineClock, Priority
from services.common.labels import category_name

DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
TRIGGER, RESOLVE = "trigger", "resolve"
ACTIONS = (TRIGGER, RESOLVE)
SUMMARY_MAX_CHARS = 1024
CLOCK_VI = {DeadlineClock.INTERNAL: "hạn xử lý nội bộ", DeadlineClock.LEGAL: "hạn theo luật"}
SEVERITY = {
    Priority.URGENT: "critical",
    Priority.HIGH: "error",
    Priority.NORMAL: "warning",
    Priority.LOW: "info",
}


def trigger_body(event: CaseEscalated, routing_key: str, case_url: str) -> bytes:
    """The `trigger` event for one escalation of a case."""
    category_vi = category_name(event.category.value, "vi")
    summary = (
        f"Vụ việc {event.tracking_code} ({category_vi}) quá {CLOCK_VI[event.clock]}, cảnh báo"
        f" cấp {event.level} / Case {event.tracking_code} past its {event.clock.value} deadline,"
        f" escalation level {event.level}"
    )
    body = {
        "routing_key": routing_key,
        "event_action": TRIGGER,
        "dedup_key": event.case_id,
        "client": "incidents-notify",
        "client_url": case_url,
        "links": [{"href": case_url, "text": f"Vụ việc / case {event.tracking_code}"}],
        "payload": {
            "summary": summary[:SUMMARY_MAX_CHARS],
            "source": f"incidents/{event.agency}",
            "severity": SEVERITY[event.priority],
            "timestamp": event.escalated_at.isoformat(),
            "component": event.agency,
            "group": event.category.value,
            "class": "case_overdue",
            "custom_details": _details(event, case_url),
        },
    }
    return _encoded(body)


def _details(event: CaseEscalated, case_url: str) -> dict[str, Any]:
    return {
        "case_id": event.case_id,
        "tracking_code": event.tracking_code,
        "agency": event.agency,
        "category": event.category.value,
        "priority": event.priority.value,
        "status": event.status.value,
        "level": event.level,
        "repeat": event.repeat,
        "due_at": event.due_at.isoformat(),
        "overdue_by_seconds": event.overdue_by_seconds,
        "clock": event.clock.value,
        "case_url": case_url,
    }


def resolve_body(case_id: str, routing_key: str) -> bytes:
    """The `resolve` event closing the PagerDuty alert of a case."""
    return _encoded({"routing_key": routing_key, "event_action": RESOLVE, "dedup_key": case_id})


def _encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
