"""A case whose document cannot take another report (the server's 16 MB) refuses that join
alone: the report beside it in the batch is routed, the full case is left as it was, and the
log names the case and the report, not what the report says."""

from __future__ import annotations

import logging

import bson
import pytest

from services.common.clock import utcnow
from services.common.mongo import MongoDatabase
from services.routing.cases import CaseFull, CaseRepository
from services.routing.policy import load_policy
from services.routing.router import Router
from tests.helpers import report_event

pytestmark = pytest.mark.integration

LIMIT = 16 * 1024 * 1024
DESCRIPTION = "Tôi là Trần Thị B, số 0912 345 678: trang này lừa tôi 20 triệu đồng. " * 60


async def test_a_join_that_would_pass_16_mb_is_refused_alone(
    routing_db: MongoDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    repository = CaseRepository(routing_db)
    await repository.ensure_indexes(utcnow())
    router = Router(repository, load_policy(), utcnow, lambda: None)
    first = report_event(1)
    assert await router.on_reports([first]) == [None]
    case = await routing_db.cases.find_one({"report_id": first.report_id})
    assert case is not None
    room = LIMIT - len(bson.encode(case)) - len(DESCRIPTION.encode()) // 2
    await routing_db.cases.update_one({"_id": case["_id"]}, {"$set": {"padding": "x" * room}})
    before = await routing_db.cases.find_one({"_id": case["_id"]}, {"padding": 0})

    joining = report_event(
        2, content_urls=first.content_urls, reporter_id="another", description=DESCRIPTION
    )
    beside = report_event(3)
    with caplog.at_level(logging.ERROR, logger="services.routing.router"):
        outcomes = await router.on_reports([joining, beside])

    assert isinstance(outcomes[0], CaseFull) and outcomes[0].case_id == case["_id"]
    assert outcomes[1] is None
    assert await routing_db.cases.find_one({"report_id": beside.report_id}) is not None
    assert await routing_db.cases.find_one({"_id": case["_id"]}, {"padding": 0}) == before
    (refused,) = [r for r in caplog.records if r.getMessage().startswith("case full")]
    assert refused.__dict__["case_id"] == case["_id"]
    assert refused.__dict__["report_ids"] == [joining.report_id]
    assert all("0912 345 678" not in str(r.__dict__) for r in caplog.records)
