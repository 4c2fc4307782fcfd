"""Schemathesis hooks for `scripts/fuzz`: rules of the APIs that JSON Schema cannot state.

Only requests generated as valid are touched, and only where validity depends on something
outside the request: the clock (`seen_at` must not be in the future) and the service's own
state (a cursor is valid only as a `next_cursor` the service handed out, so a made-up one is
dropped from valid requests; invalid requests keep theirs and must be refused).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis


def _positive(case: Any) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and meta.generation.mode.is_positive


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    """Keep valid requests valid where validity depends on the clock or on server state."""
    if not _positive(case):
        return
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)
    body = case.body
    if not isinstance(body, dict):
        return
    # The JSON API's field, and the same field in intake's Open311 form.
    for name in ("seen_at", "attribute[seen_at]"):
        if isinstance(body.get(name), str) and _in_future(body[name]):
            body[name] = (datetime.now(UTC) - timedelta(days=1)).isoformat()


def _in_future(text: str) -> bool:
    try:
        seen_at = datetime.fromisoformat(text)
    except ValueError:
        return False
    return seen_at.tzinfo is not None and seen_at > datetime.now(UTC)
