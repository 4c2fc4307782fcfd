"""Query and form parameters parsed once, with explicit bounds, by every service.

Numbers are ASCII digits only (`str.isdigit()` also accepts superscripts, Arabic-Indic and
fullwidth digits), never longer than their bound needs; times carry a zone and stay inside
the range BSON and Python's `datetime` can both hold, even after conversion to local time;
cursors are opaque and every value inside them is checked like a parameter. A bad value is a
`ParamError` naming the parameter, which the HTTP layer answers with 422.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from services.common.clock import to_millis

# Far enough from datetime.min/max that any zone offset or local-time shift stays in range.
MIN_DATETIME = datetime(1900, 1, 1, tzinfo=UTC)
MAX_DATETIME = datetime(9000, 1, 1, tzinfo=UTC)
# Content cannot have been seen online before there was a web to see it on.
MIN_SEEN_AT = datetime(1990, 1, 1, tzinfo=UTC)
MAX_CURSOR_LENGTH = 512
_ASCII_DIGITS = frozenset("0123456789")


class ParamError(ValueError):
    """A query, form or cursor parameter that cannot be used; names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def detail(self) -> dict[str, str]:
        """The `{field, message, type}` item of a JSON error body."""
        return {"field": self.field, "message": self.message, "type": "value_error"}


def parse_int(raw: str | None, *, field: str, default: int, minimum: int, maximum: int) -> int:
    """A whole number from `minimum` to `maximum`; `default` when the parameter is absent."""
    if raw is None:
        return default
    message = f"a whole number from {minimum} to {maximum}"
    digits = raw[1:] if raw.startswith("-") and minimum < 0 else raw
    longest = len(str(max(abs(minimum), abs(maximum))))
    if not digits or len(digits) > longest or not set(digits) <= _ASCII_DIGITS:
        raise ParamError(field, message)
    value = int(raw)
    if not minimum <= value <= maximum:
        raise ParamError(field, message)
    return value


def parse_datetime(
    raw: str | None,
    *,
    field: str,
    minimum: datetime = MIN_DATETIME,
    maximum: datetime = MAX_DATETIME,
) -> datetime | None:
    """An ISO 8601 time with a zone, in UTC to the millisecond; None when absent."""
    if raw is None:
        return None
    if len(raw) > 64 or not raw.isascii():
        raise ParamError(field, "an ISO 8601 time with a zone, e.g. 2026-11-02T09:30:00+07:00")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise ParamError(
            field, "an ISO 8601 time with a zone, e.g. 2026-11-02T09:30:00+07:00"
        ) from None
    return check_datetime(parsed, field=field, minimum=minimum, maximum=maximum)


def check_datetime(
    moment: datetime,
    *,
    field: str,
    minimum: datetime = MIN_DATETIME,
    maximum: datetime = MAX_DATETIME,
) -> datetime:
    """`moment` (which must carry a zone) in UTC to the millisecond, within the bounds."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ParamError(field, "a time with a zone (e.g. +07:00 or Z)")
    # Compare before converting: astimezone() itself overflows near year 1 and 9999.
    if moment.year < minimum.year - 1 or moment.year > maximum.year + 1:
        raise ParamError(field, _range(minimum, maximum))
    utc = moment.astimezone(UTC)
    if not minimum <= utc <= maximum:
        raise ParamError(field, _range(minimum, maximum))
    return to_millis(utc)


def _range(minimum: datetime, maximum: datetime) -> str:
    return f"a time between {minimum.date().isoformat()} and {maximum.date().isoformat()}"


def encode_cursor(values: tuple[datetime | str | int, ...]) -> str:
    """An opaque, URL-safe cursor holding `values` (times as ISO 8601)."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(raw: str, *, field: str = "cursor", shape: tuple[type, ...]) -> tuple[Any, ...]:
    """The values of a cursor made by `encode_cursor`, each of the type `shape` names."""
    invalid = ParamError(field, "not a cursor this service made; start again without it")
    if len(raw) > MAX_CURSOR_LENGTH or not raw.isascii():
        raise invalid
    try:
        plain = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):
        raise invalid from None
    if not isinstance(plain, list) or len(plain) != len(shape):
        raise invalid
    return tuple(
        _cursor_value(value, kind, field, invalid) for value, kind in zip(plain, shape, strict=True)
    )


def _cursor_value(value: Any, kind: type, field: str, invalid: ParamError) -> Any:
    if kind is datetime:
        if not isinstance(value, str):
            raise invalid
        parsed = parse_datetime(value, field=field)
        return parsed
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise invalid
    if kind is int and not -(2**63) <= value < 2**63:  # BSON's 64-bit integers
        raise invalid
    if kind is str and not isinstance(value, str):
        raise invalid
    return value
