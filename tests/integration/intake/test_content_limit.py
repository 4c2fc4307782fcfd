"""A flood of reports about one content is shed with 429 while other content and lookups pass:
the per-content limit (a token bucket per canonical content key, on every channel)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.mongo import MongoDatabase
from services.intake.security import RateLimiter
from services.intake.settings import IntakeSettings
from tests.integration.intake.conftest import start_intake, valid_report

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
FLOODED = "https://www.facebook.com/fake.lottery.page"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


class FrozenClock:
    """A monotonic clock the test moves by hand: no token refills unless it says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _report(client: Client, url: str) -> Any:
    return await client.post("/api/v1/reports", json=valid_report(content_urls=[url]))


async def test_the_61st_report_of_one_content_in_a_minute_is_shed_while_others_pass(
    intake_settings: IntakeSettings, intake_db: MongoDatabase
) -> None:
    defaults = IntakeSettings.model_fields
    clock = FrozenClock()
    limiter = RateLimiter(
        per_minute=defaults["reports_per_content_per_minute"].default,
        burst=defaults["reports_per_content_burst"].default,
        monotonic=clock,
    )
    client = await start_intake(
        intake_settings,
        rate_limiter=RateLimiter(per_minute=1e6, burst=10**5),
        content_limiter=limiter,
    )
    try:
        # The same content written four ways: one canonical key.
        spellings = [
            FLOODED,
            "facebook.com/fake.lottery.page",
            "https://m.facebook.com/fake.lottery.page?ref=share",
            "http://www.facebook.com/fake.lottery.page/",
        ]
        answers = [(await _report(client, spellings[n % 4])).status for n in range(60)]
        assert answers == [201] * 60
        shed = await _report(client, FLOODED)
        assert shed.status == 429
        assert int(shed.headers["Retry-After"]) >= 1
        error = (await shed.json())["error"]
        assert "already been reported many times in the last minute" in error["message"]
        assert error["errors"][0]["field"] == "content_urls"

        other = await _report(client, "https://www.facebook.com/another.scam.page")
        assert other.status == 201
        lookup = await client.get(f"/api/v1/reports/{(await other.json())['tracking_code']}")
        assert lookup.status == 200

        page = await (await client.get("/")).text()
        csrf = CSRF.search(page)
        assert csrf is not None
        form = await client.post("/", data=_form(csrf.group(1)), allow_redirects=False)
        assert form.status == 429 and int(form.headers["Retry-After"]) >= 1
        text = await form.text()
        assert "Nội dung này đã được phản ánh nhiều lần trong một phút vừa qua" in text
        assert "Video tung tin" in text  # what was typed is kept

        open311 = await client.post(
            "/open311/v2/requests.json",
            data={
                "service_code": "scam_fraud",
                "description": "Trang này hứa trúng thưởng và đòi phí nhận thưởng.",
                "address_string": "Cầu Giấy, Hà Nội",
                "email": "nguoidan@example.com",
                "attribute[content_urls]": FLOODED,
                "attribute[platform]": "facebook",
            },
        )
        assert open311.status == 429, await open311.text()
        assert int(open311.headers["Retry-After"]) >= 1
        # No locale asked for: Vietnamese, as everywhere else on the public side.
        assert "đã được phản ánh nhiều lần" in (await open311.json())[0]["description"]

        clock.now += 1.0  # a second later the bucket has one report again
        assert (await _report(client, FLOODED)).status == 201
        assert (await _report(client, FLOODED)).status == 429
        stored = await intake_db.reports.count_documents({})
        assert stored == 62  # 60 + the other content + the one a second later
    finally:
        await client.close()


def _form(token: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "category": "scam_fraud",
        "content_urls": FLOODED,
        "platform": "facebook",
        "description": "Video tung tin trúng thưởng giả để lừa tiền.",
        "province": "48",
        "commune": "20242",
        "reporter_kind": "citizen",
        "anonymous": "yes",
    }
