"""The injectable clock: every time-dependent decision takes `now` from here.

Times are kept at millisecond precision (BSON's), so a time read back from the database equals
the time that was written and can serve as part of an identity or a key.
"""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
# The lower bound of index ranges that stand in for `$exists` (see services.common.outbox).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_millis(moment: datetime) -> datetime:
    """`moment` truncated to whole milliseconds, as BSON stores it."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC, truncated to milliseconds."""
    return to_millis(datetime.now(UTC))
