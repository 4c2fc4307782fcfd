"""The capital's faster rule through the running services: every usual way of writing Hà Nội
reaches routing as its code and takes the Hà Nội rule of the packaged default policy."""

from __future__ import annotations

import unicodedata
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.common.amqp import Topology
from services.common.mongo import Document, mongo_database
from services.common.processes import ServiceProcess
from tests.e2e.conftest import E2E_ESCALATION, stop_all, system_env
from tests.helpers import wait_until

pytestmark = pytest.mark.e2e

DEFAULT_POLICY = Path(__file__).parents[2] / "services" / "routing" / "default_policy.toml"
REPORT: dict[str, Any] = {
    "category": "false_information",
    "content_urls": ["https://www.facebook.com/tin.gia.thu.do"],
    "platform": "facebook",
    "description": "Bài đăng bịa đặt về việc phong tỏa các quận nội thành.",
    "reporter_kind": "citizen",
    "anonymous": True,
}
HA_NOI_FORMS = ["TP. Hà Nội", "Thành phố Hà Nội", "Ha Noi", "HN", "Hà\u200bNội"]


@pytest.fixture
async def intake_and_routing(
    amqp_url: str, mongo_url: str, topology: Topology, db_name: str, tmp_path: Path
) -> AsyncIterator[dict[str, ServiceProcess]]:
    """intake and routing as processes, routing with the packaged default policy."""
    escalation = tmp_path / "escalation.toml"
    escalation.write_text(E2E_ESCALATION.format(hook="http://127.0.0.1:9/alerts"))
    env = system_env(amqp_url, mongo_url, topology, db_name, DEFAULT_POLICY, escalation)
    services = {n: ServiceProcess(n, env, tmp_path) for n in ("intake", "routing")}
    try:
        for service in services.values():
            service.start()
        for service in services.values():
            await service.ready()
        yield services
    finally:
        stop_all(services)


async def test_every_form_of_ha_noi_takes_the_ha_noi_rule_and_hue_the_national_one(
    intake_and_routing: dict[str, ServiceProcess], db_name: str, mongo_url: str
) -> None:
    forms = [*HA_NOI_FORMS, unicodedata.normalize("NFD", "Hà Nội"), "Huế"]
    codes: dict[str, str] = {}
    async with aiohttp.ClientSession() as session:
        for n, province in enumerate(forms):
            body = REPORT | {
                "province": province,
                "content_urls": [f"https://www.facebook.com/tin.gia.{n}"],
            }
            url = f"{intake_and_routing['intake'].url}/api/v1/reports"
            async with session.post(url, json=body) as response:
                assert response.status == 201, await response.text()
                codes[province] = (await response.json())["tracking_code"]
    async with mongo_database(mongo_url, f"{db_name}_routing", timeout_ms=5000) as routing:
        for province, code in codes.items():

            async def stored(code: str = code) -> Document | None:
                return await routing.cases.find_one({"tracking_code": code})

            case = await wait_until(stored, timeout=30, what=f"the case of {province!r}")
            hanoi = province != "Huế"
            assert case["rule_id"] == ("false-information-hanoi" if hanoi else "false-information")
            assert case["report"]["province_code"] == ("01" if hanoi else "46")
            deadline = timedelta(hours=12 if hanoi else 24)  # in working time on the calendar
            assert case["acknowledge_within_s"] == deadline.total_seconds()
