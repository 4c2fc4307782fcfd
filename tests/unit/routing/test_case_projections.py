"""The case reads name what they keep (SecantusDB copies the whole document for a projection
that names what it leaves out), so they must name every key a stored case has."""

from __future__ import annotations

import pytest

from services.routing.cases import (
    FOR_JOINING,
    NOT_IN_FIGURES,
    NOT_IN_LISTS,
    NOT_IN_VIEWS,
    STORED_KEYS,
    leaving_out,
)
from services.routing.planning import plan_case_of, report_entry
from tests.unit.routing.factory import NOW, POLICY, report

pytestmark = pytest.mark.unit


def test_every_key_of_a_stored_case_is_named_and_each_read_leaves_out_only_its_own() -> None:
    case, _ = plan_case_of(report_entry(report()), "facebook:page:x", POLICY, NOW, case_id="c-1")
    stored = set(case.to_document())
    assert stored == STORED_KEYS
    assert set(NOT_IN_VIEWS) == stored and set(NOT_IN_VIEWS.values()) == {1}
    assert stored - set(NOT_IN_LISTS) == {"reports", "reporter_keys"}
    assert stored - set(NOT_IN_FIGURES) == {"reports", "reporter_keys", "audit", "notes"}
    assert stored - set(FOR_JOINING) == {"reports", "audit", "notes"}
    assert "_id" in FOR_JOINING and "urgency" in NOT_IN_LISTS and "open_key" in FOR_JOINING
    assert leaving_out("no-such-key") == NOT_IN_VIEWS
