"""AsyncAPI 3.0 documents generated from the event contracts and the topology, never by hand.

Each service serves the document of what it publishes and consumes at `/api/v1/asyncapi.json`;
the queues it declares for others (an agency's own queue) appear as channels an outside AMQP
client may consume.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic.json_schema import models_json_schema

from services.common.amqp import QueueSpec, Topology
from services.common.contracts import (
    CaseAssigned,
    CaseEscalated,
    CaseShared,
    CaseStatus,
    CaseUpdated,
    CaseWarning,
    Category,
    DeadlineClock,
    DecisionOutcome,
    ErasureReason,
    Event,
    Platform,
    PlatformDeadlineMissed,
    Priority,
    PublicDecision,
    ReportAppealed,
    ReportContactErased,
    ReporterKind,
    ReportSubmitted,
)

EVENTS: tuple[type[Event], ...] = (
    ReportSubmitted,
    ReportAppealed,
    ReportContactErased,
    CaseAssigned,
    CaseUpdated,
    CaseShared,
    CaseEscalated,
    CaseWarning,
    PlatformDeadlineMissed,
)
REF = "#/components/schemas/{model}"
# Each event type's routing key: the type, then what the key names after it.
ADDRESS_TAILS: dict[str, str] = {
    "report.submitted": "",
    "report.appealed": "",
    "report.contact_erased": "",
    "case.assigned": ".{agency}",
    "case.updated": ".{agency}",
    "case.shared": ".{informed}",
    "case.escalated": ".{agency}.{level}",
    "case.warning": ".{agency}",
    "case.platform_overdue": ".{agency}",
}
PARAMETERS = {
    "agency": {"description": "The agency holding the case (police, culture_office, ...)."},
    "informed": {"description": "An agency the policy informs besides the one holding the case."},
    "level": {"description": "The escalation level, 1, 2, 3 ..."},
}
_AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
_CASE = {
    "event_id": "3f0e6c1e-8a52-4d55-9a7e-2f7d1c0b9a11",
    "occurred_at": _AT,
    "case_id": "c-5b1d2e",
    "report_id": "r-9a8b7c",
    "tracking_code": "K7QX-3MPA-WZ9D",
    "agency": "police",
    "category": Category.SCAM_FRAUD,
    "priority": Priority.HIGH,
    "due_at": datetime(2026, 11, 3, 9, 30, tzinfo=UTC),
    "province": "Thành phố Đà Nẵng",
    "province_code": "48",
}
_ALERT = {
    **{k: v for k, v in _CASE.items() if k not in ("province", "province_code")},
    "status": CaseStatus.ASSIGNED,
}
EXAMPLES: dict[str, Event] = {
    "report.submitted": ReportSubmitted(
        event_id="0b3c9f7e-1d2a-4c5b-8e6f-7a8b9c0d1e2f",
        occurred_at=_AT,
        report_id="r-9a8b7c",
        tracking_code="K7QX-3MPA-WZ9D",
        category=Category.SCAM_FRAUD,
        content_urls=["https://www.facebook.com/trang-gia-mao-ngan-hang"],
        platform=Platform.FACEBOOK,
        description="Trang giả mạo ngân hàng yêu cầu chuyển tiền để 'mở khóa tài khoản'.",
        province="Thành phố Đà Nẵng",
        province_code="48",
        commune="Phường Hải Châu",
        commune_code="20242",
        geography_version="vietnam-provinces 2025.10.1 (data 2025-10-18)",
        reporter_kind=ReporterKind.CITIZEN,
        anonymous=False,
        # Sealed by intake (AES-256-GCM, services/common/sealing.py): only routing opens it.
        contact_sealed="v1.k20261101.q2xHbUm1W0pTz7Yd.gJ8kX1e0u3l7rXkq8k4gY1nT0oZ2bW5vR9c3sA6dF7hJ",
    ),
    "case.assigned": CaseAssigned(
        **_CASE, status=CaseStatus.ASSIGNED, version=1, policy_version="2025.2", rule_id="scam"
    ),
    "case.updated": CaseUpdated(
        **_CASE,
        status=CaseStatus.ACKNOWLEDGED,
        version=2,
        action="acknowledge",
        from_status=CaseStatus.ASSIGNED,
        actor="police",
    ),
    "case.updated.decided": CaseUpdated(
        **_CASE,
        status=CaseStatus.RESOLVED,
        version=4,
        action="resolve",
        from_status=CaseStatus.IN_PROGRESS,
        actor="police",
        outcome="removed_by_platform",
        decision=PublicDecision(
            outcome=DecisionOutcome.REMOVED_BY_PLATFORM,
            legal_basis="nd147-2024-d23",
            legal_basis_title="Nghị định 147/2024/NĐ-CP, Điều 23",
            explanation="Nền tảng đã gỡ trang giả mạo theo yêu cầu của cơ quan chức năng.",
            decided_at=datetime(2026, 11, 4, 2, 0, tzinfo=UTC),
            appeal_until=datetime(2026, 11, 18, 2, 0, tzinfo=UTC),
        ),
    ),
    "case.escalated": CaseEscalated(
        **_ALERT,
        level=1,
        escalated_at=datetime(2026, 11, 3, 9, 30, 1, tzinfo=UTC),
        overdue_by_seconds=1.0,
        targets=["police-supervisor"],
    ),
    "report.appealed": ReportAppealed(
        event_id="5d6e7f80-91a2-4b3c-8d4e-5f60718293a4",
        occurred_at=_AT,
        report_id="r-9a8b7c",
        tracking_code="K7QX-3MPA-WZ9D",
        case_id="c-5b1d2e",
        reason="Trang giả mạo vẫn còn hoạt động.",
        decided_at=datetime(2026, 11, 4, 2, 0, tzinfo=UTC),
    ),
    "report.contact_erased": ReportContactErased(
        event_id="8c9d0e1f-2a3b-4c5d-9e6f-708192a3b4c5",
        occurred_at=datetime(2026, 11, 6, 3, 15, tzinfo=UTC),
        report_id="r-9a8b7c",
        tracking_code="K7QX-3MPA-WZ9D",
        erased_at=datetime(2026, 11, 6, 3, 15, tzinfo=UTC),
        reason=ErasureReason.REPORTER_REQUEST,
    ),
    "case.shared": CaseShared(
        **{**_CASE, "category": Category.HIJACKED_ACCOUNT},
        status=CaseStatus.ASSIGNED,
        version=1,
        informed=["party_committee"],
        shared_with="party_committee",
        action="assign",
    ),
    "case.warning": CaseWarning(
        **_ALERT,
        alerted_at=datetime(2026, 11, 3, 4, 30, tzinfo=UTC),
        clock=DeadlineClock.INTERNAL,
        share=0.8,
        targets=["police-desk"],
    ),
    "case.platform_overdue": PlatformDeadlineMissed(
        **{k: v for k, v in _ALERT.items() if k != "due_at"},
        alerted_at=datetime(2026, 11, 5, 2, 0, 1, tzinfo=UTC),
        request_id="t-1f2e3d",
        platform="facebook",
        sent_at=datetime(2026, 11, 4, 2, 0, tzinfo=UTC),
        legal_due_at=datetime(2026, 11, 5, 2, 0, tzinfo=UTC),
        overdue_by_seconds=1.0,
        targets=["police-supervisor"],
    ),
}


def event_type(model: type[Event]) -> str:
    """The `type` literal of an event model (also its routing-key prefix)."""
    return str(model.model_fields["type"].default)


def _name(dotted: str) -> str:
    """`case.platform_overdue` -> `CasePlatformOverdue`: message and operation ids."""
    parts = dotted.replace("-", ".").replace("_", ".").split(".")
    return "".join(part[:1].upper() + part[1:] for part in parts)


def asyncapi_document(
    *,
    service: str,
    topology: Topology,
    publishes: Sequence[type[Event]],
    consumes: Iterable[tuple[QueueSpec, Iterable[str]]],
    declares: Iterable[QueueSpec] = (),
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of one service."""
    consumed = [(spec, sorted(set(kinds))) for spec, kinds in consumes]
    used = {event_type(m) for m in publishes} | {k for _, kinds in consumed for k in kinds}
    used |= {k for spec in declares for k in _kinds_bound(spec)}
    models = [m for m in EVENTS if event_type(m) in used]
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for model in publishes:
        kind = event_type(model)
        channels[_name(kind)] = _topic_channel(topology, kind)
        operations[f"publish{_name(kind)}"] = _operation("send", _name(kind), [kind])
    for spec, kinds in consumed:
        channels[spec.name] = _queue_channel(topology, spec, kinds)
        operations[f"consume{_name(spec.name)}"] = _operation("receive", spec.name, kinds)
    for spec in declares:
        channels[spec.name] = _queue_channel(topology, spec, _kinds_bound(spec))
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Incident reporting: {service}",
            "version": "1.0.0",
            "description": (
                f"Events {service} publishes to and consumes from the `{topology.exchange}` "
                "topic exchange. Every message is persistent JSON; its `message_id` is the "
                "event's `event_id` (drop duplicates by it) and its `type` property the "
                "event type."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "broker": {
                "host": "127.0.0.1:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "RabbitMQ (AMQP_URL); quorum queues, publisher confirms.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": _components(models),
    }


def _kinds_bound(spec: QueueSpec) -> list[str]:
    """The event types whose routing keys one of a queue's bindings can match."""
    return [
        kind
        for kind, tail in ADDRESS_TAILS.items()
        if any(_may_match(b.split("."), (kind + tail).split(".")) for b in spec.bindings)
    ]


def _may_match(pattern: list[str], key: list[str]) -> bool:
    """AMQP topic matching of a binding against a routing-key template whose `{parameter}`
    words stand for any word: `*` is one word, `#` zero or more."""
    if not pattern:
        return not key
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_may_match(rest, key[n:]) for n in range(len(key) + 1))
    if not key:
        return False
    word_matches = head in ("*", key[0]) or key[0].startswith("{")
    return word_matches and _may_match(rest, key[1:])


def _messages(kinds: Iterable[str]) -> dict[str, Any]:
    return {_name(k): {"$ref": f"#/components/messages/{_name(k)}"} for k in kinds}


def _topic_channel(topology: Topology, kind: str) -> dict[str, Any]:
    tail = ADDRESS_TAILS[kind]
    channel: dict[str, Any] = {
        "address": kind + tail,
        "description": f"Routing key of `{kind}` on the `{topology.exchange}` exchange.",
        "messages": _messages([kind]),
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": topology.exchange,
                    "type": "topic",
                    "durable": True,
                    "autoDelete": False,
                    "vhost": "/",
                },
                "bindingVersion": "0.3.0",
            }
        },
    }
    names = [p for p in PARAMETERS if "{" + p + "}" in tail]
    if names:
        channel["parameters"] = {p: PARAMETERS[p] for p in names}
    return channel


def _queue_channel(topology: Topology, spec: QueueSpec, kinds: Iterable[str]) -> dict[str, Any]:
    name = topology.queue(spec.name)
    return {
        "address": name,
        "description": (
            f"Durable quorum queue bound to {', '.join(f'`{b}`' for b in spec.bindings)}; "
            f"messages past its delivery limit go to `{name}.dead`."
        ),
        "messages": _messages(kinds),
        "bindings": {
            "amqp": {
                "is": "queue",
                "queue": {
                    "name": name,
                    "durable": True,
                    "exclusive": False,
                    "autoDelete": False,
                    "vhost": "/",
                },
                "bindingVersion": "0.3.0",
            }
        },
    }


def _operation(action: str, channel: str, kinds: Iterable[str]) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{_name(k)}"} for k in kinds],
    }


def _components(models: Sequence[type[Event]]) -> dict[str, Any]:
    """Message components with their payload schemas (shared definitions hoisted) and examples."""
    keys, definitions = models_json_schema([(m, "serialization") for m in models], ref_template=REF)
    schemas: dict[str, Any] = dict(definitions.get("$defs", {}))
    messages: Mapping[str, Any] = {
        _name(event_type(model)): {
            "name": event_type(model),
            "title": model.__name__,
            "summary": (model.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/json",
            "payload": keys[(model, "serialization")],
            "examples": [
                {"name": name.replace(".", "-"), "payload": example.model_dump(mode="json")}
                for name, example in EXAMPLES.items()
                if name.split(".")[:2] == event_type(model).split(".")
            ],
        }
        for model in models
    }
    return {"schemas": schemas, "messages": dict(messages)}
