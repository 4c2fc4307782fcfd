"""Places on intake: names in any usual form stored as codes, unknown places refused with
suggestions and nothing stored, and the cacheable lists of provinces and communes."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.geography import GEOGRAPHY_VERSION
from services.common.mongo import MongoDatabase
from tests.integration.intake.conftest import valid_report

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


async def _stored_report(intake: Client, intake_db: MongoDatabase, **place: Any) -> Any:
    body = valid_report(**place)
    body.pop("district", None)
    response = await intake.post("/api/v1/reports", json=body)
    assert response.status == 201, await response.text()
    code = (await response.json())["tracking_code"]
    stored = await intake_db.reports.find_one({"tracking_code": code})
    assert stored is not None
    return stored["report"]


@pytest.mark.parametrize(
    "typed", ["TP. Hà Nội", "HN", unicodedata.normalize("NFD", "Hà Nội"), "Ha\u200bNoi"]
)
async def test_every_form_of_ha_noi_is_stored_as_its_code(
    intake: Client, intake_db: MongoDatabase, typed: str
) -> None:
    report = await _stored_report(intake, intake_db, province=typed)
    assert report["province_code"] == "01"
    assert report["province"] == "Thành phố Hà Nội"
    assert report["geography_version"] == GEOGRAPHY_VERSION
    assert report.get("district") is None


async def test_a_commune_is_stored_with_its_code_and_a_pre_2025_province_is_mapped(
    intake: Client, intake_db: MongoDatabase
) -> None:
    report = await _stored_report(intake, intake_db, province="HN", commune="hoan kiem")
    assert (report["commune_code"], report["commune"]) == ("00070", "Phường Hoàn Kiếm")
    old = await _stored_report(intake, intake_db, province="Bình Dương")
    assert (old["province_code"], old["province"]) == ("79", "Thành phố Hồ Chí Minh")


@pytest.mark.parametrize(
    ("place", "field", "suggested"),
    [
        ({"province": "Ha Noii"}, "province", "Hà Nội"),
        ({"province": "Châu Thành"}, "province", "Vĩnh Long"),
        ({"province": "TP.HCM", "commune": "Hoàn Kiếm"}, "commune", None),
        ({"province": None, "district": "Huyện Châu Thành"}, "district", "An Giang"),
    ],
)
async def test_an_unknown_place_is_422_naming_the_field_with_suggestions_and_stores_nothing(
    intake: Client,
    intake_db: MongoDatabase,
    place: dict[str, Any],
    field: str,
    suggested: str | None,
) -> None:
    response = await intake.post("/api/v1/reports", json=valid_report(**place))
    assert response.status == 422
    [error] = (await response.json())["error"]["errors"]
    assert (error["field"], error["type"]) == (field, "place_unknown")
    assert len(error["suggestions"]) <= 5
    if suggested is not None:
        assert suggested in error["suggestions"] and suggested in error["message"]
    assert await intake_db.reports.count_documents({}) == 0  # the outbox lives in the report


async def test_the_form_shows_an_unknown_province_beside_it_with_suggestions(
    intake: Client, intake_db: MongoDatabase
) -> None:
    page = await (await intake.get("/")).text()
    token = TOKEN.search(page)
    assert token
    form = {
        "csrf_token": token.group(1),
        "category": "false_information",
        "content_urls": "https://tiktok.com/@fake/video/1",
        "platform": "tiktok",
        "description": "Video tung tin sai sự thật về dịch bệnh.",
        "province": "Ha Noii",
        "reporter_kind": "citizen",
        "anonymous": "yes",
    }
    response = await intake.post("/", data=form)
    assert response.status == 422
    text = await response.text()
    assert "Không tìm thấy tỉnh/thành phố «Ha Noii». Có phải: Hà Nội" in text
    assert await intake_db.reports.count_documents({}) == 0


async def test_provinces_are_listed_with_codes_and_cache_headers(intake: Client) -> None:
    response = await intake.get("/api/v1/places/provinces")
    assert response.status == 200
    body = await response.json()
    assert body["version"] == GEOGRAPHY_VERSION
    assert len(body["provinces"]) == 34
    assert {"code": "01", "name": "Thành phố Hà Nội", "short_name": "Hà Nội"} in body["provinces"]
    assert response.headers["Cache-Control"] == "public, max-age=86400"
    etag = response.headers["ETag"]
    again = await intake.get("/api/v1/places/provinces", headers={"If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag
    weak = await intake.get("/api/v1/places/provinces", headers={"If-None-Match": f"W/{etag}"})
    assert weak.status == 304
    stale = await intake.get("/api/v1/places/provinces", headers={"If-None-Match": '"old"'})
    assert stale.status == 200


async def test_a_provinces_communes_are_listed_and_an_unknown_province_is_404(
    intake: Client,
) -> None:
    response = await intake.get("/api/v1/places/provinces/01/communes")
    assert response.status == 200
    body = await response.json()
    assert body["province"]["code"] == "01"
    assert {"code": "00070", "name": "Phường Hoàn Kiếm", "short_name": "Hoàn Kiếm"} in body[
        "communes"
    ]
    assert all(c["code"].isdigit() and len(c["code"]) == 5 for c in body["communes"])
    assert "ETag" in response.headers
    missing = await intake.get("/api/v1/places/provinces/02/communes")
    assert missing.status == 404
    assert (await missing.json())["error"]["status"] == 404
