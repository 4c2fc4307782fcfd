"""What a log line says of an error, without the data the error carries.

pymongo's message for a failed bulk write holds every failed write whole: a case's report with
its description and sealed contact, a reporter's key. A log line names which writes failed and
why, and leaves the writes out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.errors import BulkWriteError


def error_message(error: BaseException) -> str:
    """What a log line says of `error`: its message, or, for a failed bulk write, each failed
    write's position, code and server message without the write itself."""
    if isinstance(error, BulkWriteError):
        return _bulk_write_summary(error.details)
    return str(error)


def describe(error: BaseException) -> str:
    """`error` for a log field, as `repr` writes it but with `error_message`."""
    return f"{type(error).__name__}({error_message(error)!r})"


SHOWN_WRITE_ERRORS = 5


def _bulk_write_summary(details: Mapping[str, Any]) -> str:
    failed = details.get("writeErrors") or []
    parts = [
        f"write {e.get('index')}: code {e.get('code')}: {e.get('errmsg')}"
        for e in failed[:SHOWN_WRITE_ERRORS]
    ]
    if len(failed) > SHOWN_WRITE_ERRORS:
        parts.append(f"and {len(failed) - SHOWN_WRITE_ERRORS} more")
    parts += [
        f"write concern: code {e.get('code')}: {e.get('errmsg')}"
        for e in details.get("writeConcernErrors") or []
    ]
    return "batch op errors occurred: " + "; ".join(parts)
