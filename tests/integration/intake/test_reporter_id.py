"""The `report.submitted` event carries a pseudonymous reporter id, the same for one person."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Topology
from services.common.contracts import ReportSubmitted
from services.intake.security import RateLimiter
from services.intake.settings import IntakeSettings
from tests.helpers import QueueProbe
from tests.integration.intake.conftest import start_intake, valid_report

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


@pytest.fixture
async def behind_proxy(intake_settings: IntakeSettings) -> AsyncIterator[Client]:
    """Intake behind a proxy, so that each request can come from its own client address."""
    settings = intake_settings.model_copy(update={"trust_forwarded_for": True})
    client = await start_intake(settings, rate_limiter=RateLimiter(per_minute=1000, burst=100))
    yield client
    await client.close()


async def _submit(intake: Client, address: str, **overrides: Any) -> str:
    response = await intake.post(
        "/api/v1/reports",
        json=valid_report(**overrides),
        headers={"X-Forwarded-For": address},
    )
    assert response.status == 201, await response.text()
    code: str = (await response.json())["tracking_code"]
    return code


async def _open311(intake: Client, address: str) -> str:
    form = {
        "service_code": "scam_fraud",
        "description": "Trang này hứa trúng thưởng và đòi phí nhận thưởng.",
        "attribute[content_urls]": "facebook.com/fake.lottery.page",
        "attribute[platform]": "facebook",
    }
    response = await intake.post(
        "/open311/v2/requests.json", data=form, headers={"X-Forwarded-For": address}
    )
    assert response.status == 201, await response.text()
    code: str = (await response.json())[0]["service_request_id"]
    return code


async def _form(intake: Client, address: str) -> str:
    """Submit the HTML form (CSRF and submission tokens from the page) from `address`."""
    page = await (await intake.get("/", headers={"X-Forwarded-For": address})).text()
    fields = dict(re.findall(r'name="(csrf_token|form_token)" value="([^"]+)"', page))
    assert set(fields) == {"csrf_token", "form_token"}, "the form carries both tokens"
    form = fields | {
        "category": "scam_fraud",
        "content_urls": "facebook.com/fake.lottery.page",
        "platform": "facebook",
        "description": "Trang này hứa trúng thưởng và đòi phí nhận thưởng.",
        "anonymous": "yes",
    }
    response = await intake.post(
        "/", data=form, headers={"X-Forwarded-For": address}, allow_redirects=False
    )
    assert response.status == 303, await response.text()
    code = re.search(r"/receipt/([A-Z0-9-]{14})", response.headers["Location"])
    assert code is not None
    return code.group(1)


async def test_reporter_id_follows_the_contact_else_the_client_address(
    behind_proxy: Client, amqp_connection: AbstractRobustConnection, topology: Topology
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "report.submitted")
    codes = [
        await _submit(behind_proxy, "203.113.0.7", contact={"phone": "0912 345 678"}),
        await _submit(behind_proxy, "100.64.3.9", contact={"phone": "+84 912 345 678"}),
        await _submit(behind_proxy, "203.113.0.10", anonymous=True, contact=None),
        await _submit(behind_proxy, "203.113.0.11", anonymous=True, contact=None),
        await _open311(behind_proxy, "203.113.0.10"),
        await _form(behind_proxy, "203.113.0.10"),
    ]
    events = await probe.wait_for(len(codes))
    by_code = {e.tracking_code: e for e in events if isinstance(e, ReportSubmitted)}
    ids = [by_code[code].reporter_id for code in codes]
    assert all(ids) and len(set(ids)) == 3
    phone_home, phone_mobile, anonymous_a, anonymous_b, by_open311, by_form = ids
    assert phone_home == phone_mobile  # one phone, two networks
    assert anonymous_a != anonymous_b  # two people, two addresses
    assert anonymous_a == by_open311 == by_form  # one address, through Open311 and the form
    assert "912345678" not in str(ids) and "203.113" not in str(ids)
