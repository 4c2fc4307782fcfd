"""OpenTelemetry tracing: one trace from the HTTP request through every outbox and consumer.

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; then
spans go by OTLP over HTTP (protobuf), `service.name` is the service's name, and the maintained
instrumentations trace the aiohttp server and client, aio-pika (publish and consume, the
context carried in the message headers) and PyMongo (every command, `AsyncMongoClient`
included). Every other `OTEL_*` variable is read by the SDK itself (sampler, batch delays,
headers, timeouts). While off, no tracer provider exists and the helpers below return at once.

The outbox relay publishes from a task of its own, so the context of the request or message
that wrote an event is stored with it (`trace`: W3C `traceparent`/`tracestate`) and resumed
when the event is published; a deadline stores it the same way for the escalations it fires.
A batch handler sees many messages at once: `message_context(event)` resumes the one that
delivered `event`, so what it writes for that event joins that message's trace.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor
from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind, TraceState
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import Attributes

TRACE = "trace"  # the field holding a stored context: {"traceparent": ..., "tracestate": ...}
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
EXCLUDED_URLS_VARIABLE = "OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS"
# Probes and scrapes come every few seconds and say nothing about a report: not traced.
PROBE_URLS = "/healthz,/readyz,/metrics"
SCOPE = "services"

_W3C = TraceContextTextMapPropagator()
_INSTRUMENTORS: tuple[BaseInstrumentor, ...] = (
    AioHttpServerInstrumentor(),
    AioHttpClientInstrumentor(),
    AioPikaInstrumentor(),
    PymongoInstrumentor(),
)
# The contexts of the messages of the batch being handled, by id() of their event.
_BATCH: ContextVar[Mapping[int, Context] | None] = ContextVar("batch_contexts", default=None)


class _State:
    """The process's tracer provider while tracing is on (one process runs one service)."""

    provider: TracerProvider | None = None
    instrumented: bool = False


def configure_tracing(service: str) -> bool:
    """Trace by OTLP/HTTP when an OTLP endpoint is configured; True when tracing is on.

    The spans still buffered at exit are exported then (the provider's exit hook), within the
    runtime's exit deadline."""
    if _State.provider is not None:
        return True
    if not any(os.environ.get(name) for name in ENDPOINT_VARIABLES):
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = tracer_provider(service, OTLPSpanExporter())
    trace.set_tracer_provider(provider)
    os.environ.setdefault(EXCLUDED_URLS_VARIABLE, PROBE_URLS)
    start_tracing(provider)
    return True


def tracer_provider(service: str, exporter: SpanExporter) -> TracerProvider:
    """A provider naming `service`, exporting in batches (the SDK reads `OTEL_BSP_*`), sampling
    as `OTEL_TRACES_SAMPLER` says except for the background loops' own calls."""
    configured = TracerProvider(shutdown_on_exit=False).sampler  # as the environment sets it
    provider = TracerProvider(
        sampler=WithoutBackgroundCalls(configured),
        resource=Resource.create({SERVICE_NAME: service}),
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class WithoutBackgroundCalls(Sampler):
    """Drops database and HTTP calls made outside any request or message (the relays, the
    scanner and the deliverer polling several times a second would each start a trace of one
    span); every other span is sampled by `delegate`."""

    def __init__(self, delegate: Sampler) -> None:
        self.delegate = delegate

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        """Drop a CLIENT span with no parent; otherwise ask the delegate."""
        parent = trace.get_current_span(parent_context).get_span_context()
        if kind == SpanKind.CLIENT and not parent.is_valid:
            return SamplingResult(Decision.DROP)
        return self.delegate.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        """Names the delegate."""
        return f"WithoutBackgroundCalls{{{self.delegate.get_description()}}}"


def start_tracing(provider: TracerProvider, *, instrument: bool = True) -> None:
    """Trace into `provider`; with `instrument`, through the aiohttp, aio-pika and PyMongo
    instrumentations too (they patch those libraries process-wide)."""
    _State.provider = provider
    if instrument and not _State.instrumented:
        with warnings.catch_warnings():
            # The server instrumentation subclasses web.Application, which aiohttp discourages.
            warnings.simplefilter("ignore", DeprecationWarning)
            for instrumentor in _INSTRUMENTORS:
                instrumentor.instrument(tracer_provider=provider)
        _State.instrumented = True


def stop_tracing() -> None:
    """Undo `start_tracing` (tests); the provider's pending spans are flushed."""
    if _State.instrumented:
        for instrumentor in _INSTRUMENTORS:
            instrumentor.uninstrument()
        _State.instrumented = False
    if _State.provider is not None:
        _State.provider.force_flush()
    _State.provider = None


def enabled() -> bool:
    """True while tracing is on."""
    return _State.provider is not None


def current_trace() -> dict[str, str]:
    """The current context as W3C headers, to store with what is written; empty when off."""
    if _State.provider is None:
        return {}
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier


def trace_fields() -> dict[str, Any]:
    """`{"trace": ...}` to store on a document written now, or nothing when there is none."""
    carrier = current_trace()
    return {TRACE: carrier} if carrier else {}


def stored_trace(value: Any) -> dict[str, str]:
    """A stored `trace` field, checked (anything malformed is dropped, never an error)."""
    if not isinstance(value, Mapping):
        return {}
    return {
        key: text
        for key, text in value.items()
        if key in ("traceparent", "tracestate") and isinstance(text, str) and len(text) < 600
    }


@contextmanager
def resumed(carrier: Mapping[str, str] | None, span: str | None = None) -> Iterator[None]:
    """Run the block in the stored context `carrier` (in a new span `span` under it, if named);
    does nothing when tracing is off or nothing was stored."""
    if _State.provider is None or not carrier:
        yield
        return
    token = context.attach(_W3C.extract(carrier))
    try:
        if span is None:
            yield
        else:
            with _State.provider.get_tracer(SCOPE).start_as_current_span(span):
                yield
    finally:
        context.detach(token)


def current_context() -> Context | None:
    """The current context, to hand to another task (None when off)."""
    return context.get_current() if _State.provider is not None else None


@contextmanager
def batch(
    name: str, contexts: Sequence[Context | None], events: Sequence[object]
) -> Iterator[None]:
    """A span for a batch handled in one call, linked to each message's span, under which
    `message_context(event)` resumes the message that delivered `event`."""
    if _State.provider is None or not events:
        yield
        return
    known = [c for c in contexts if c is not None]
    links = [Link(trace.get_current_span(c).get_span_context()) for c in known]
    tracer = _State.provider.get_tracer(SCOPE)
    parent = known[0] if known else None
    with tracer.start_as_current_span(name, context=parent, kind=SpanKind.CONSUMER, links=links):
        own = {id(e): c for e, c in zip(events, contexts, strict=True) if c is not None}
        token = _BATCH.set(own)
        try:
            yield
        finally:
            _BATCH.reset(token)


@contextmanager
def message_context(event: object) -> Iterator[None]:
    """Inside a batch handler: run the block in the context of the message that delivered
    `event`, so the outbox entries written for it continue its trace."""
    own = (_BATCH.get() or {}).get(id(event))
    if own is None:
        yield
        return
    token = context.attach(own)
    try:
        yield
    finally:
        context.detach(token)
