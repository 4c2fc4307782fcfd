"""The injectable clock: every time-dependent decision takes `now` from here."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
# The lower bound of index ranges that stand in for `$exists` (see services.common.outbox).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)
