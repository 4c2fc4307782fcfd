"""Trace context stored with outbox entries, resumed at publish, per message in a batch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind

from services.common import tracing
from services.common.amqp import to_message
from services.common.outbox import outbox_entry, sort_entries
from tests.helpers import report_event

pytestmark = pytest.mark.unit


@pytest.fixture
def provider() -> TracerProvider:
    return TracerProvider()


@pytest.fixture
def spans(provider: TracerProvider) -> Iterator[InMemorySpanExporter]:
    """Tracing on (no library instrumented), spans kept in memory."""
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.start_tracing(provider, instrument=False)
    yield exporter
    tracing.stop_tracing()


def _traceparent(span: trace.Span) -> str:
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def test_while_off_nothing_is_stored_or_resumed() -> None:
    assert not tracing.enabled()
    tracer = TracerProvider().get_tracer("tests")
    with tracer.start_as_current_span("request"):
        assert tracing.current_trace() == {}
        assert "trace" not in outbox_entry(report_event(1))
    with tracing.resumed({"traceparent": f"00-{'1' * 32}-{'2' * 16}-01"}, "due"):
        assert not trace.get_current_span().get_span_context().is_valid


def test_an_outbox_entry_keeps_the_context_it_was_written_in(
    spans: InMemorySpanExporter, provider: TracerProvider
) -> None:
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("POST /api/v1/reports") as request:
        entry = outbox_entry(report_event(1))
    assert entry["trace"] == {"traceparent": _traceparent(request)}
    entry.update(occurred_at=datetime.now(UTC))
    (message,) = sort_entries([{"_id": "r1", "outbox": [entry]}]).messages
    assert message.trace == {"traceparent": _traceparent(request)}
    wire = to_message(message.event_id, message.event_type, message.body, message.trace)
    assert wire.headers == {"traceparent": _traceparent(request), "type": "report.submitted"}


def test_a_malformed_stored_trace_is_dropped_and_the_entry_still_published() -> None:
    entry = outbox_entry(report_event(1)) | {"trace": {"traceparent": 7, "x": "y"}}
    (message,) = sort_entries([{"_id": "r1", "outbox": [entry]}]).messages
    assert message.trace == {}
    entry["trace"] = "00-abc"
    assert sort_entries([{"_id": "r1", "outbox": [entry]}]).messages[0].trace == {}


def test_a_resumed_context_parents_the_span_named(spans: InMemorySpanExporter) -> None:
    stored = {"traceparent": f"00-{'a' * 32}-{'b' * 16}-01"}
    with tracing.resumed(stored, "deadline due"):
        inner = tracing.current_trace()
    (due,) = spans.get_finished_spans()
    assert due.name == "deadline due"
    assert due.context is not None and due.context.trace_id == int("a" * 32, 16)
    assert due.parent is not None and due.parent.span_id == int("b" * 16, 16)
    assert inner == {"traceparent": f"00-{'a' * 32}-{due.context.span_id:016x}-01"}


def test_in_a_batch_each_event_resumes_its_own_message(
    spans: InMemorySpanExporter, provider: TracerProvider
) -> None:
    tracer = provider.get_tracer("tests")
    events = [report_event(n) for n in range(3)]
    contexts, parents = [], []
    for n in range(3):
        with tracer.start_as_current_span(f"message {n}") as message:
            contexts.append(tracing.current_context())
            parents.append(_traceparent(message))
    with tracing.batch("routing.reports process", contexts, events):
        written = []
        for event in reversed(events):
            with tracing.message_context(event):
                written.append(outbox_entry(event)["trace"]["traceparent"])
    assert written == list(reversed(parents))
    batch = next(s for s in spans.get_finished_spans() if s.name == "routing.reports process")
    assert [link.context.span_id for link in batch.links] == [
        int(p.split("-")[2], 16) for p in parents
    ]
    with tracing.message_context(events[0]):  # outside a batch: nothing to resume
        assert not trace.get_current_span().get_span_context().is_valid


def test_background_calls_outside_any_request_are_not_sampled() -> None:
    sampler = tracing.WithoutBackgroundCalls(ALWAYS_ON)
    provider = TracerProvider(sampler=sampler)
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("db.find", kind=SpanKind.CLIENT) as polling:
        assert not polling.is_recording()
    with tracer.start_as_current_span("POST /reports", kind=SpanKind.SERVER) as request:
        assert request.is_recording()
        with tracer.start_as_current_span("db.insert", kind=SpanKind.CLIENT) as insert:
            assert insert.is_recording()
