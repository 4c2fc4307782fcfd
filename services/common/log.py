"""Structured JSON logs, one object per line on stderr, in the OpenTelemetry log data model.

Every line has the same field set (python-json-logger renders it), each field named after the
data model field it holds, flattened for line-oriented logs:

| field | OpenTelemetry log data model |
|---|---|
| `time` | Timestamp (ISO 8601, UTC, milliseconds) |
| `severity` | SeverityText (`DEBUG`, `INFO`, `WARNING`, `ERROR`, `CRITICAL`) |
| `severity_number` | SeverityNumber (5, 9, 13, 17, 21) |
| `message` | Body |
| `logger` | InstrumentationScope name (the module's logger) |
| `service` | Resource attribute `service.name` |
| `trace_id`, `span_id`, `trace_flags` | TraceId, SpanId, TraceFlags (hex; while a span is on) |
| `exception.type`, `exception.message`, `exception.stacktrace` | exception attributes |
| any other key | Attributes: what the call passed with `extra={...}` (report and case ids) |
| `attributes` | Attributes whose names are taken by the fields above |

A context field can never overwrite one of the fields above: `extra={"severity": ...}` lands
in `attributes.severity`, and the line keeps its own severity.

A failed bulk write is logged by which of its writes failed and why, never by the writes
themselves: pymongo's message for it holds every failed write whole (a case's report with its
description, a sealed contact, a reporter's key): see `services/common/errortext.py`, whose
`describe(exc)` is the `error` field of a line that names an error without its traceback.
"""

from __future__ import annotations

import logging
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from pymongo.errors import BulkWriteError
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

from services.common.errortext import error_message

SEVERITY_NUMBERS = {
    logging.DEBUG: 5,
    logging.INFO: 9,
    logging.WARNING: 13,
    logging.ERROR: 17,
    logging.CRITICAL: 21,
}
EXCEPTION_FIELDS = ("exception.type", "exception.message", "exception.stacktrace")
TRACE_FIELDS = ("trace_id", "span_id", "trace_flags")
RESERVED_FIELDS = frozenset(
    {
        "time",
        "severity",
        "severity_number",
        "message",
        "logger",
        "service",
        "attributes",
        *TRACE_FIELDS,
        *EXCEPTION_FIELDS,
    }
)
# LogRecord's own attributes (and python-json-logger's) are never context fields.
_RECORD_ATTRIBUTES = frozenset(RESERVED_ATTRS) | frozenset(logging.makeLogRecord({}).__dict__)


class ServiceJsonFormatter(JsonFormatter):
    """Renders a record as one JSON object in the field set of this module's docstring."""

    def __init__(self, service: str) -> None:
        super().__init__(reserved_attrs=sorted(_RECORD_ATTRIBUTES), json_ensure_ascii=False)
        self.service = service

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        """The fixed fields, the active span, the exception, then the context fields."""
        log_data.update(
            {
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                    timespec="milliseconds"
                ),
                "severity": record.levelname,
                "severity_number": _severity_number(record.levelno),
                "message": record.message,
                "logger": record.name,
                "service": self.service,
            }
        )
        log_data.update(_span_fields())
        log_data.update(_exception_fields(record, message_dict.pop("exc_info", None)))
        context = {k: v for k, v in record.__dict__.items() if k not in self._skip_fields}
        context.update(message_dict)
        for key, value in context.items():
            if key.startswith("_"):
                continue
            if key in RESERVED_FIELDS:
                log_data.setdefault("attributes", {})[key] = value
            else:
                log_data[key] = value


def _severity_number(level: int) -> int:
    """SeverityNumber of a Python level (levels in between take the number below them)."""
    known = [number for std, number in SEVERITY_NUMBERS.items() if std <= level]
    return known[-1] if known else 1


def _span_fields() -> dict[str, str]:
    span = trace.get_current_span().get_span_context()
    if not span.is_valid:
        return {}
    return {
        "trace_id": format(span.trace_id, "032x"),
        "span_id": format(span.span_id, "016x"),
        "trace_flags": format(span.trace_flags, "02x"),
    }


def _exception_fields(record: logging.LogRecord, formatted: Any) -> dict[str, str]:
    if not record.exc_info and not formatted:
        return {}
    fields = {"exception.stacktrace": str(formatted or "")}
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        fields["exception.type"] = type(error).__qualname__
        fields["exception.message"] = error_message(error)
        if any(isinstance(e, BulkWriteError) for e in _chain(error)):
            fields["exception.stacktrace"] = _stacktrace(error)
    return fields


CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _chain(error: BaseException) -> list[BaseException]:
    """`error`, then what caused it or was being handled, as the traceback shows them."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        explicit = current.__cause__
        implicit = None if current.__suppress_context__ else current.__context__
        current = explicit if explicit is not None else implicit
    return chain


def _stacktrace(error: BaseException) -> str:
    """The traceback as Python prints it, each exception's line written by `error_message`."""
    parts: list[str] = []
    chain = _chain(error)
    for current, earlier in zip(chain, [*chain[1:], None], strict=True):
        lines = ["Traceback (most recent call last):\n"] if current.__traceback__ else []
        lines += traceback.format_tb(current.__traceback__)
        kind = type(current)
        name = kind.__qualname__
        if kind.__module__ not in ("builtins", "__main__"):
            name = f"{kind.__module__}.{name}"
        lines.append(f"{name}: {error_message(current)}\n")
        parts.append("".join(lines))
        if earlier is not None:
            parts.append(CAUSE if current.__cause__ is earlier else CONTEXT)
    return "".join(reversed(parts)).rstrip("\n")


def configure_logging(level: str = "INFO", *, service: str) -> None:
    """Send JSON lines to stderr, tagged with the service name."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(ServiceJsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aio_pika", "aiormq", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
