"""A case anonymised by `incidents-admin retention` on the console's case page: every emptied
text says it was anonymised; what the services wrote themselves stays."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.contracts import ANONYMISED_EXPLANATION
from services.common.mongo import MongoDatabase
from tests.helpers import sign_in
from tests.integration.admin.support import admin
from tests.integration.admin.test_anonymise import DESCRIPTION, EXPLANATION, REASON, closed_case
from tests.integration.routing.conftest import auth

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


def visible_text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


async def test_the_case_page_marks_each_anonymised_text(
    routing: Client, routing_db: MongoDatabase, mongo_url: str, db_name: str
) -> None:
    case = closed_case("old", datetime.now(UTC) - timedelta(days=4 * 365))
    await routing_db.cases.insert_one(case)
    databases = ["--mongo-url", mongo_url, "--routing-db", db_name]
    run = await admin("retention", "--service", "routing", *databases)
    assert run.code == 0, run.err

    await sign_in(routing, "police")
    page = await routing.get("/console/cases/old")
    assert page.status == 200
    text = visible_text(await page.text())
    for gone in (DESCRIPTION, EXPLANATION, REASON, "Gọi cho D", "Anh C đã gỡ trang"):
        assert gone not in text, gone
    # the explanation, the appeal's reason, the description, the note, the resolution's
    # audit line (the reports' table refers to the description above)
    assert text.count("Nội dung đã được ẩn danh") == 5
    assert "level 1: supervisor" in text  # written by the services: kept
    assert "evidence-1.png" in text

    detail = await (await routing.get("/api/v1/cases/old", headers=auth("police"))).json()
    assert detail["anonymised_at"] is not None
    assert detail["report"]["description"] == "" and detail["appeals"][0]["reason"] == ""


async def test_a_note_on_an_anonymised_closed_case_is_published(
    routing: Client, routing_db: MongoDatabase, mongo_url: str, db_name: str
) -> None:
    await routing_db.cases.insert_one(
        closed_case("old", datetime.now(UTC) - timedelta(days=4 * 365))
    )
    databases = ["--mongo-url", mongo_url, "--routing-db", db_name]
    assert (await admin("retention", "--service", "routing", *databases)).code == 0
    stored = await routing_db.cases.find_one({"_id": "old"})
    assert stored is not None and stored["decision"]["explanation"] == ANONYMISED_EXPLANATION

    # The note's `case.updated` carries the decision: its explanation must still be valid.
    noted = await routing.post(
        "/api/v1/cases/old/notes", json={"note": "Đã lưu hồ sơ"}, headers=auth("police")
    )
    assert noted.status == 200, await noted.text()
    await sign_in(routing, "police")
    page = visible_text(await (await routing.get("/console/cases/old")).text())
    assert ANONYMISED_EXPLANATION not in page  # the console says "anonymised" in its own words
