"""The whole system on a database that keeps an oplog, as `./scripts/run` starts the embedded
one: every relay reads its events from a change stream (services.common.outbox_stream).

The other end-to-end modules run on the tests' shared standalone server, whose relays clear
what they publish; here the report's way to its agency, and the faults run (broker restart,
killed services, duplicates, poison: nothing lost, nothing doubled), are run again.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_faults import (
    system_extra_env,
    test_nothing_lost_nothing_doubled_through_broker_restart_crash_duplicates_and_poison,
)
from tests.e2e.test_report_to_agency import (
    test_reports_from_form_and_api_reach_their_agencies_and_the_unacknowledged_escalates,
)

pytestmark = pytest.mark.e2e

__all__ = [
    "system_extra_env",
    "test_nothing_lost_nothing_doubled_through_broker_restart_crash_duplicates_and_poison",
    "test_reports_from_form_and_api_reach_their_agencies_and_the_unacknowledged_escalates",
]


@pytest.fixture(scope="module")
def mongo_url(oplog_mongo_url: str) -> str:
    """This module's systems run on a server keeping an oplog, in place of the shared one."""
    return oplog_mongo_url
