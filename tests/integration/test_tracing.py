"""The instrumentations on the real servers: PyMongo's sees the project's AsyncMongoClient, and
a batch handler writes each event's outbox entry in the trace of the message that brought it.

The instrumentations patch libraries process-wide and PyMongo's binds its tracer once, so every
test here traces into the one provider of this module, instrumenting only while it runs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.common import tracing
from services.common.amqp import (
    Batched,
    Consumer,
    OutgoingMessage,
    Publisher,
    QueueSpec,
    Topology,
    open_consumer_channel,
)
from services.common.contracts import ReportSubmitted
from services.common.mongo import mongo_database
from services.common.outbox import outbox_entry
from tests.helpers import report_event, wait_until

pytestmark = pytest.mark.integration

EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, instrumented, into this module's provider; off again afterwards."""
    EXPORTER.clear()
    tracing.start_tracing(PROVIDER)
    yield EXPORTER
    tracing.stop_tracing()


def _named(spans: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in spans.get_finished_spans() if span.name == name]


async def test_pymongo_traces_the_async_client_commands(
    spans: InMemorySpanExporter, mongo_url: str, db_name: str
) -> None:
    async with mongo_database(mongo_url, db_name, timeout_ms=5000) as db:
        with PROVIDER.get_tracer("tests").start_as_current_span("request") as request:
            await db.reports.insert_one({"_id": "r1", "status": "received"})
            assert await db.reports.find_one({"_id": "r1"}) is not None
    trace_id = request.get_span_context().trace_id
    for command in ("insert", "find"):
        (span,) = _named(spans, f"{db_name}.{command}")
        assert span.kind == SpanKind.CLIENT
        assert span.context is not None and span.context.trace_id == trace_id
        assert span.parent is not None and span.parent.span_id == request.get_span_context().span_id
        assert span.attributes is not None and span.attributes["db.system"] == "mongodb"


async def test_a_batch_writes_each_outbox_entry_in_its_own_message_trace(
    spans: InMemorySpanExporter, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    spec = QueueSpec("plumbing.batched", ("report.submitted",))
    consuming = await open_consumer_channel(
        amqp_connection, topology, spec, prefetch=32, delivery_limit=2
    )
    publisher = await Publisher.open(amqp_connection, topology)
    events = [report_event(n) for n in range(6)]
    sent: dict[str, int] = {}
    tracer = PROVIDER.get_tracer("tests")
    for event in events:  # each report from a request of its own
        with tracer.start_as_current_span("POST /api/v1/reports") as request:
            await publisher.publish_many([OutgoingMessage.of(event)])
        sent[event.report_id] = request.get_span_context().trace_id
    written: dict[str, dict[str, Any]] = {}
    batches: list[int] = []

    async def handle(batch: list[ReportSubmitted]) -> Sequence[BaseException | None]:
        batches.append(len(batch))
        for event in batch:
            with tracing.message_context(event):
                written[event.report_id] = outbox_entry(event)
        return [None] * len(batch)

    consumer = Consumer(consuming.queue, {"report.submitted": Batched(handle, max_batch=32)})
    await consumer.start()
    try:
        await wait_until(
            lambda: _done(written, len(events)), timeout=30, what="every event handled"
        )
    finally:
        await consumer.stop()
    assert max(batches) > 1, f"events were handled in batches: {batches}"
    for report_id, entry in written.items():
        trace_id = int(entry["trace"]["traceparent"].split("-")[1], 16)
        assert trace_id == sent[report_id], report_id
    processed = _named(spans, f"{consuming.queue.name} process")
    assert sum(len(span.links) for span in processed) == len(events)


async def _done(written: dict[str, Any], count: int) -> bool:
    return len(written) == count
