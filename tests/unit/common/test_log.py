"""JSON log lines: one field set, context fields that never overwrite it, the active span's ids,
and a failed bulk write's documents kept out."""

from __future__ import annotations

import io
import json
import logging
import traceback
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from pymongo.errors import BulkWriteError

from services.common.errortext import describe
from services.common.log import ServiceJsonFormatter, _stacktrace

pytestmark = pytest.mark.unit


@pytest.fixture
def lines() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ServiceJsonFormatter("routing"))
    logger = logging.getLogger("tests.unit.log")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def _last(stream: io.StringIO) -> dict[str, Any]:
    line: dict[str, Any] = json.loads(stream.getvalue().splitlines()[-1])
    return line


def test_a_line_has_the_documented_fields_and_its_context_fields(lines: Any) -> None:
    logger, stream = lines
    logger.warning("case %s created", "C-1", extra={"case_id": "C-1", "agency": "police"})
    line = _last(stream)
    assert line["severity"] == "WARNING" and line["severity_number"] == 13
    assert line["message"] == "case C-1 created"
    assert line["logger"] == "tests.unit.log" and line["service"] == "routing"
    assert line["time"].endswith("+00:00") and "T" in line["time"]
    assert line["case_id"] == "C-1" and line["agency"] == "police"
    assert "trace_id" not in line and "attributes" not in line


def test_a_context_field_named_like_a_reserved_one_cannot_overwrite_it(lines: Any) -> None:
    logger, stream = lines
    logger.error(
        "delivery failed",
        extra={"severity": "DEBUG", "service": "other", "time": 0, "logger": "x", "trace_id": "0"},
    )
    line = _last(stream)
    assert line["severity"] == "ERROR" and line["severity_number"] == 17
    assert line["service"] == "routing" and line["logger"] == "tests.unit.log"
    assert line["time"] != 0 and "trace_id" not in line
    assert line["attributes"] == {
        "severity": "DEBUG",
        "service": "other",
        "time": 0,
        "logger": "x",
        "trace_id": "0",
    }


def test_the_active_span_ids_are_in_the_line(lines: Any) -> None:
    logger, stream = lines
    tracer = TracerProvider().get_tracer("tests")
    with tracer.start_as_current_span("consume") as span:
        logger.info("deadline updated", extra={"case_id": "C-2"})
    context = span.get_span_context()
    line = _last(stream)
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")
    assert int(line["trace_flags"], 16) & 1 == 1  # sampled


def test_an_exception_is_in_the_exception_fields(lines: Any) -> None:
    logger, stream = lines
    try:
        raise ValueError("bad deadline")
    except ValueError:
        logger.exception("deadline cannot be processed")
    line = _last(stream)
    assert line["exception.type"] == "ValueError"
    assert line["exception.message"] == "bad deadline"
    assert "Traceback" in line["exception.stacktrace"]
    assert line["severity"] == "ERROR"


DESCRIPTION = "Kẻ gian tên Nguyễn Văn A, số 0912 345 678, lừa tôi chuyển tiền"


def _failed_join() -> BulkWriteError:
    """A bulk write whose second write failed, as pymongo raises it: the write is in it whole."""
    entry = {"report_id": "r-2", "description": DESCRIPTION, "contact_sealed": "v1.sealed"}
    too_large = "Resulting document after update is larger than 16777216"
    return BulkWriteError(
        {
            "writeErrors": [
                {
                    "index": 1,
                    "code": 10334,
                    "errmsg": too_large,
                    "op": {"q": {"_id": "case-1"}, "u": {"$push": {"reports": entry}}},
                }
            ],
            "writeConcernErrors": [],
            "nMatched": 1,
        }
    )


def test_a_failed_bulk_write_is_logged_without_its_writes(lines: Any) -> None:
    logger, stream = lines
    error = _failed_join()
    assert DESCRIPTION in str(error)  # what pymongo's own message would have logged
    try:
        try:
            raise error
        except BulkWriteError as exc:
            raise RuntimeError("the batch failed") from exc
    except RuntimeError as exc:
        logger.exception("handler failed", extra={"error": describe(exc.__cause__ or exc)})
    text = stream.getvalue()
    assert DESCRIPTION not in text and "v1.sealed" not in text
    line = _last(stream)
    assert "write 1: code 10334: Resulting document" in line["error"]
    assert (
        "pymongo.errors.BulkWriteError: batch op errors occurred: write 1"
        in (line["exception.stacktrace"])
    )
    assert "direct cause" in line["exception.stacktrace"]
    assert line["exception.stacktrace"].endswith("RuntimeError: the batch failed")


def _look_up(key: str) -> None:
    raise KeyError(key)


def test_other_tracebacks_read_as_python_prints_them() -> None:
    try:
        try:
            _look_up("deadline")
        except KeyError:
            raise ValueError("bad deadline") from None
    except ValueError as exc:
        plain = exc
    try:
        try:
            _look_up("deadline")
        except KeyError:
            raise ValueError("bad deadline")  # noqa: B904 - the implicit chain is the point
    except ValueError as exc:
        chained = exc
    try:
        try:
            _look_up("deadline")
        except KeyError as exc:
            raise ValueError("bad deadline") from exc
    except ValueError as exc:
        caused = exc
    for error in (plain, chained, caused):
        assert _stacktrace(error) == "".join(traceback.format_exception(error)).rstrip("\n")
