"""One trace from the reporter's request to the supervisor's webhook, across the three service
processes, exported by OTLP/HTTP to a receiver of the test's own; the log lines carry it."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from services.common.amqp import Topology
from services.common.processes import ServiceProcess
from tests.e2e.conftest import E2E_ESCALATION, E2E_POLICY, stop_all, system_env
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e

REPORT = {
    "category": "false_information",  # the culture office; its supervisor gets a webhook
    "content_urls": ["https://www.tiktok.com/@tin.gia/video/7"],
    "platform": "tiktok",
    "description": "Video bịa đặt tin trường học đóng cửa vì dịch bệnh.",
    "province": "Huế",
    "reporter_kind": "citizen",
    "anonymous": True,
}
SPAN_KINDS = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}


@dataclass(frozen=True)
class Span:
    """What the test needs of an exported span."""

    service: str
    name: str
    kind: str
    trace_id: str
    span_id: str
    parent_id: str


@dataclass
class Collector:
    """An OTLP/HTTP trace receiver (protobuf), and a webhook receiver keeping the headers."""

    spans: list[Span] = field(default_factory=list)
    webhooks: list[tuple[dict[str, Any], str]] = field(default_factory=list)

    async def traces(self, request: web.Request) -> web.Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.read())
        for resource_spans in export.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                self.spans.extend(
                    Span(
                        attributes["service.name"],
                        span.name,
                        SPAN_KINDS.get(span.kind, "unspecified"),
                        span.trace_id.hex(),
                        span.span_id.hex(),
                        span.parent_span_id.hex(),
                    )
                    for span in scope.spans
                )
        body = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=body, content_type="application/x-protobuf")

    async def webhook(self, request: web.Request) -> web.Response:
        self.webhooks.append((await request.json(), request.headers.get("traceparent", "")))
        return web.Response(status=204)

    def trace(self, trace_id: str) -> list[Span]:
        return [span for span in self.spans if span.trace_id == trace_id]


@dataclass
class TracedSystem:
    services: dict[str, ServiceProcess]
    collector: Collector

    def url(self, name: str) -> str:
        return self.services[name].url

    def log_lines(self, name: str) -> list[dict[str, Any]]:
        text = self.services[name].log_path.read_text(errors="replace")
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
async def traced(
    amqp_url: str, mongo_url: str, topology: Topology, db_name: str, tmp_path: Path
) -> AsyncIterator[TracedSystem]:
    """The three services as processes, tracing to the collector (spans sent every 100 ms)."""
    collector = Collector()
    receiver = web.Application()
    receiver.router.add_post("/v1/traces", collector.traces)
    receiver.router.add_post("/alerts", collector.webhook)
    server = TestServer(receiver, host="127.0.0.1")
    await server.start_server()
    policy, escalation = tmp_path / "policy.toml", tmp_path / "escalation.toml"
    policy.write_text(E2E_POLICY)
    escalation.write_text(E2E_ESCALATION.format(hook=server.make_url("/alerts")))
    env = system_env(amqp_url, mongo_url, topology, db_name, policy, escalation)
    env |= {
        "OTEL_EXPORTER_OTLP_ENDPOINT": str(server.make_url("/")).rstrip("/"),
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    services = {n: ServiceProcess(n, env, tmp_path) for n in ("intake", "routing", "notify")}
    try:
        for service in services.values():
            service.start()
        for service in services.values():
            await service.ready()
        yield TracedSystem(services, collector)
    finally:
        try:
            stop_all(services)
        finally:
            await server.close()


async def _submit(system: TracedSystem) -> str:
    """Submit the report inside a trace of the test's own; return that trace's id."""
    trace_id = secrets.token_hex(16)
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{system.url('intake')}/api/v1/reports", json=REPORT, headers=headers
        ) as response,
    ):
        assert response.status == 201, await response.text()
    return trace_id


# The path of one report, as (span, its parent): (service, span kind, part of the span's name).
JOURNEY = [
    (("intake", "client", ".insert"), ("intake", "server", "POST /api/v1/reports")),
    (("intake", "producer", "report.submitted"), ("intake", "server", "POST /api/v1/reports")),
    (("routing", "consumer", "receive"), ("intake", "producer", "report.submitted")),
    (("routing", "producer", "case.assigned.culture_office"), ("routing", "consumer", "receive")),
    (("notify", "consumer", "receive"), ("routing", "producer", "case.assigned.culture_office")),
    (("intake", "consumer", "receive"), ("routing", "producer", "case.assigned.culture_office")),
    (("notify", "internal", "deadline due"), ("notify", "consumer", "receive")),  # the scanner
    (("notify", "producer", "case.escalated.culture_office.1"), ("notify", "internal", "deadline")),
    (("notify", "consumer", "receive"), ("notify", "producer", "case.escalated.culture_office.1")),
    (("routing", "consumer", "receive"), ("notify", "producer", "case.escalated.culture_office.1")),
]


def _missing(spans: list[Span]) -> list[Any]:
    """The steps of the journey not (yet) in the trace."""
    by_id = {span.span_id: span for span in spans}
    pairs = [(span, by_id[span.parent_id]) for span in spans if span.parent_id in by_id]
    return [
        (child, parent)
        for child, parent in JOURNEY
        if not any(_is(span, child) and _is(above, parent) for span, above in pairs)
    ]


def _is(span: Span, pattern: tuple[str, str, str]) -> bool:
    service, kind, name_part = pattern
    return span.service == service and span.kind == kind and name_part in span.name


async def test_one_trace_runs_from_the_request_through_every_service(
    traced: TracedSystem,
) -> None:
    trace_id = await _submit(traced)

    async def journey() -> bool:
        return not _missing(traced.collector.trace(trace_id))

    try:
        await wait_until(journey, timeout=40, what="every step of the report's trace")
    except AssertionError:
        spans = traced.collector.trace(trace_id)
        seen = sorted({(s.service, s.kind, s.name) for s in spans})
        raise AssertionError(f"missing {_missing(spans)}; the trace has {seen}") from None
    messages = {
        service: {
            line["message"]
            for line in traced.log_lines(service)
            if line.get("trace_id") == trace_id
        }
        for service in traced.services
    }
    assert "report stored" in messages["intake"]
    assert "case created" in messages["routing"]
    assert {"deadline updated", "alert recorded"} <= messages["notify"]
    assert "escalation recorded" in messages["routing"]


async def test_the_webhook_request_carries_the_reports_trace(traced: TracedSystem) -> None:
    trace_id = await _submit(traced)
    await wait_until(_webhook_arrived(traced), timeout=40, what="the level 1 webhook")
    (_, traceparent), *_ = traced.collector.webhooks
    assert traceparent.split("-")[1] == trace_id

    async def sent() -> bool:
        return any(_is(s, ("notify", "client", "POST")) for s in traced.collector.trace(trace_id))

    await wait_until(sent, what="the webhook request's span in the report's trace")


def _webhook_arrived(system: TracedSystem) -> Any:
    async def arrived() -> bool:
        return bool(system.collector.webhooks)

    return arrived
