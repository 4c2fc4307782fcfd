"""A report anonymised by `incidents-admin retention`: the status page and the status API say
so instead of showing empty text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.mongo import MongoDatabase
from tests.integration.admin.support import admin
from tests.integration.intake.conftest import valid_report
from tests.integration.intake.decision_events import EXPLANATION, public_decision

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
CLOSED = datetime.now(UTC) - timedelta(days=4 * 365)


async def closed_long_ago(intake: Client, db: MongoDatabase) -> str:
    """A report whose case was resolved, with a decision, four years ago; its tracking code."""
    created = await (await intake.post("/api/v1/reports", json=valid_report())).json()
    code: str = created["tracking_code"]
    decision = public_decision(CLOSED).model_dump(mode="python")
    case = {"case_id": "c-1", "agency": "police", "status": "resolved", "version": 3}
    await db.reports.update_one(
        {"tracking_code": code},
        {
            "$set": {
                "status": "resolved",
                "updated_at": CLOSED,
                "history": [{"status": "resolved", "at": CLOSED}],
                "case": {**case, "outcome": "removed", "decision": decision},
            }
        },
    )
    return code


def visible_text(page: str) -> str:
    body = page.split("<main", 1)[1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


async def test_an_anonymised_report_says_so_on_its_status_page_and_in_the_api(
    intake: Client, intake_db: MongoDatabase, mongo_url: str, db_name: str
) -> None:
    code = await closed_long_ago(intake, intake_db)
    before = visible_text(await (await intake.get(f"/status/{code}")).text())
    assert EXPLANATION in before and "ẩn danh" not in before

    databases = ["--mongo-url", mongo_url, "--intake-db", db_name, "--routing-db", f"{db_name}_r"]
    run = await admin("retention", "--service", "intake", *databases)
    assert run.code == 0, run.err

    text = visible_text(await (await intake.get(f"/status/{code}")).text())
    assert EXPLANATION not in text
    assert "Nội dung của phản ánh này đã được ẩn danh lúc" in text
    assert "Giải thích Nội dung đã được ẩn danh" in text  # the explanation's place
    english = visible_text(await (await intake.get(f"/status/{code}?lang=en")).text())
    assert "The texts of this report were anonymised on" in english
    assert "Explanation Anonymised" in english

    status = await (await intake.get(f"/api/v1/reports/{code}")).json()
    assert status["anonymised_at"] is not None
    assert status["decision"]["explanation"] == "" and status["status"] == "resolved"
