"""Content URLs are taken without a scheme, stored and announced canonical, refused by item."""

from __future__ import annotations

from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Topology
from services.common.contracts import ReportSubmitted
from services.common.mongo import MongoDatabase
from tests.helpers import QueueProbe
from tests.integration.intake.conftest import valid_report

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


async def test_links_without_scheme_are_stored_and_announced_canonical(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "report.submitted")
    report = valid_report(
        content_urls=[
            "m.facebook.com/Fake.Lottery.Page/?fbclid=IwAR0x",
            "youtu.be/dQw4w9WgXcQ?si=x",
        ],
        evidence_links=["drive.google.com/file/d/1AbC/view?usp=sharing"],
    )
    response = await intake.post("/api/v1/reports", json=report)
    assert response.status == 201, await response.text()
    canonical = [
        "https://www.facebook.com/fake.lottery.page",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    ]
    stored = await intake_db.reports.find_one(
        {"tracking_code": (await response.json())["tracking_code"]}
    )
    assert stored is not None and stored["report"]["content_urls"] == canonical
    (event,) = await probe.wait_for(1)
    assert isinstance(event, ReportSubmitted) and event.content_urls == canonical
    assert event.evidence_links == ["https://drive.google.com/file/d/1AbC/view?usp=sharing"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("javascript:alert(1)", "only http and https"),
        ("https://www.facebook.com/", "home page"),
        ("https://user:pw@example.com/", "user name or password"),
        ("https://example.com/" + "a" * 2000, "at most 2000"),
    ],
)
async def test_a_bad_link_is_422_naming_the_field_and_the_item(
    intake: Client, intake_db: MongoDatabase, url: str, message: str
) -> None:
    response = await intake.post(
        "/api/v1/reports", json=valid_report(content_urls=["facebook.com/ok.page", url])
    )
    assert response.status == 422
    errors = (await response.json())["error"]["errors"]
    assert [e["field"] for e in errors] == ["content_urls.1"]
    assert message in errors[0]["message"] and errors[0]["type"].startswith("content_url_")
    assert await intake_db.reports.count_documents({}) == 0
