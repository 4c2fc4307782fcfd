"""A report through the form and one through the API: agency queues, acknowledgement, escalation."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import pytest
from aio_pika.abc import AbstractRobustConnection

from services.common.contracts import CaseAssigned, CaseEscalated
from tests.e2e.conftest import System, auth, reporter_status, submit_json
from tests.helpers import QueueProbe, get_all, wait_until

pytestmark = pytest.mark.e2e

API_REPORT = {
    "category": "scam_fraud",
    "content_urls": ["https://www.facebook.com/fake.bank.support"],
    "platform": "facebook",
    "description": "Trang giả danh ngân hàng yêu cầu cung cấp mã OTP.",
    "province": "Hà Nội",
    "reporter_kind": "citizen",
    "anonymous": False,
    "contact": {"email": "nguoi.dan@example.vn"},
}


async def submit_form(session: aiohttp.ClientSession, system: System) -> str:
    """Fill and submit the HTML form as a browser would (cookie + CSRF token)."""
    async with session.get(f"{system.url('intake')}/") as page:
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', await page.text())
    assert token
    form = {
        "csrf_token": token.group(1),
        "category": "false_information",
        "content_urls": "https://tiktok.com/@tin.gia/video/42",
        "platform": "tiktok",
        "description": "Video bịa đặt về việc đóng cửa trường học.",
        "province": "Huế",
        "reporter_kind": "citizen",
        "anonymous": "yes",
    }
    async with session.post(
        f"{system.url('intake')}/", data=form, allow_redirects=False
    ) as response:
        assert response.status == 303  # Post/Redirect/Get: to the receipt
        code = re.match(r"^/receipt/([A-Z0-9-]+)\?", response.headers["Location"])
    assert code
    return code.group(1)


async def test_reports_from_form_and_api_reach_their_agencies_and_the_unacknowledged_escalates(
    system: System, amqp_connection: AbstractRobustConnection
) -> None:
    supervisor = await QueueProbe.bind(amqp_connection, system.topology, "case.escalated.#")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        api_code = await submit_json(session, system, API_REPORT)
        form_code = await submit_form(session, system)

        received: dict[str, list[Any]] = {"police": [], "culture_office": []}

        async def both_delivered() -> bool:
            for agency, messages in received.items():
                messages.extend(
                    await get_all(amqp_connection, system.topology.queue(f"agency.{agency}.cases"))
                )
            return bool(received["police"] and received["culture_office"])

        await wait_until(both_delivered, timeout=30, what="both cases on their agency queues")
        police = CaseAssigned.model_validate_json(received["police"][0].body)
        culture = CaseAssigned.model_validate_json(received["culture_office"][0].body)
        assert (police.tracking_code, police.agency) == (api_code, "police")
        assert (culture.tracking_code, culture.agency) == (form_code, "culture_office")

        async def assigned() -> bool:
            status = await reporter_status(session, system, api_code)
            return bool(status["status"] == "assigned" and status["agency_name"])

        await wait_until(assigned, timeout=30, what="the reporter seeing the assignment")

        async with session.post(
            f"{system.url('routing')}/api/v1/cases/{police.case_id}/acknowledge",
            headers=auth("police"),
        ) as response:
            assert response.status == 200
        async with session.get(
            f"{system.url('routing')}/api/v1/cases/{police.case_id}", headers=auth("police")
        ) as response:
            case = await response.json()
            assert case["report"]["has_contact"] and "nguoi.dan" not in str(case)
        async with session.get(
            f"{system.url('routing')}/api/v1/cases/{police.case_id}/contact",
            headers=auth("police"),
        ) as response:
            assert (await response.json())["contacts"][0]["email"] == "nguoi.dan@example.vn"

        async def acknowledged() -> dict[str, Any] | None:
            status = await reporter_status(session, system, api_code)
            return status if status["status"] == "acknowledged" else None

        status = await wait_until(
            acknowledged, timeout=30, what="the reporter seeing the acknowledgement"
        )
        assert [step["status"] for step in status["history"]] == [
            "received",
            "assigned",
            "acknowledged",
        ]
        assert (await reporter_status(session, system, form_code))["status"] == "assigned"

        # The culture office never acknowledges: its case climbs all three levels.
        events = await supervisor.wait_for(3, timeout=60)
        escalations = [e for e in events if isinstance(e, CaseEscalated)]
        assert [(e.case_id, e.level) for e in escalations] == [
            (culture.case_id, 1),
            (culture.case_id, 2),
            (culture.case_id, 3),
        ]
        assert [m.routing_key for m in supervisor.messages] == [
            f"case.escalated.culture_office.{n}" for n in (1, 2, 3)
        ]

        async def webhooks_arrived() -> bool:
            return len(system.webhooks.alerts) >= 3

        await wait_until(webhooks_arrived, timeout=30, what="three signed webhook alerts")
        assert [(a["level"], a["target"], valid) for a, valid in system.webhooks.alerts] == [
            (1, "culture-supervisor", True),
            (2, "culture-supervisor", True),
            (3, "national-supervisor", True),
        ]
        async with session.get(
            f"{system.url('notify')}/api/v1/alerts",
            params={"case_id": culture.case_id},
            headers=auth("supervisor"),
        ) as response:
            log = await response.json()
        assert sorted(a["level"] for a in log["alerts"]) == [1, 2, 3]

        async def audit_has_escalations() -> bool:
            async with session.get(
                f"{system.url('routing')}/api/v1/cases/{culture.case_id}",
                headers=auth("culture_office"),
            ) as response:
                audit = (await response.json())["audit"]
            return sum(entry["action"] == "escalated" for entry in audit) == 3

        await wait_until(audit_has_escalations, timeout=30, what="escalations in the audit log")
        # The acknowledged police case has a resolution deadline an hour away: no alert.
        remaining = await supervisor.flush()
        assert police.case_id not in {e.case_id for e in remaining if isinstance(e, CaseEscalated)}
