"""Open311 GeoReport v2 on intake, driven as FixMyStreet's Open311 client drives it: form-encoded
requests with attribute[...] fields, jurisdiction_id and api_key, answers in XML and JSON."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Publisher, Topology
from services.common.contracts import CaseStatus, ReportSubmitted
from services.common.mongo import MongoDatabase
from services.intake.security import RateLimiter
from services.intake.settings import IntakeSettings
from tests.helpers import QueueProbe, opened_contact, wait_until
from tests.integration.intake.conftest import start_intake
from tests.integration.intake.test_status_follows_case import assigned, updated

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
V2 = "/open311/v2"
# What perllib/Open311.pm puts in its description: title, detail, the report's URL.
FMS_DESCRIPTION = (
    "title:  Trang giả mạo Công an phường\n\n"
    "detail: Trang này mạo danh Công an phường và xin tiền ủng hộ.\n\n"
    "url: https://fixmystreet.example/report/42\n\n"
    "Submitted via FixMyStreet\n"
)


def fms_form(**overrides: str) -> dict[str, str]:
    """A service request exactly as FixMyStreet's Open311 client sends one."""
    form = {
        "jurisdiction_id": "hanoi.gov.vn",
        "api_key": "fms-key-not-checked",
        "service_code": "impersonation",
        "description": FMS_DESCRIPTION,
        "lat": "21.0285",
        "long": "105.8542",
        "address_string": "Phường Dịch Vọng, Cầu Giấy, Hà Nội",
        "address_id": "HN-123",
        "email": "nguoidan@example.com",
        "first_name": "Lan",
        "last_name": "Trần Thị",
        "phone": "+84 912 345 678",
        "media_url": "https://fixmystreet.example/photo/42.jpeg",
        "account_id": "fms-user-7",
        "device_id": "tt222111",
        "attribute[content_urls]": "https://www.facebook.com/congan.phuong.gia",
        "attribute[platform]": "facebook",
    }
    form.update(overrides)
    return form


def xml_of(text: str) -> ET.Element:
    return ET.fromstring(text.encode())


async def _create(intake: Client, fmt: str = "json", **overrides: str) -> str:
    response = await intake.post(f"{V2}/requests.{fmt}", data=fms_form(**overrides))
    assert response.status == 201, await response.text()
    if fmt == "xml":
        found = xml_of(await response.text()).find("request/service_request_id")
        assert found is not None and found.text
        return found.text
    code: str = (await response.json())[0]["service_request_id"]
    return code


async def test_services_are_the_categories_in_json_and_xml(intake: Client) -> None:
    listed = await intake.get(f"{V2}/services.json?jurisdiction_id=hanoi.gov.vn")
    assert listed.status == 200 and listed.content_type == "application/json"
    services = await listed.json()
    assert len(services) == 7
    scam = next(s for s in services if s["service_code"] == "scam_fraud")
    assert scam["service_name"] == "Lừa đảo"
    assert scam["metadata"] is True and scam["type"] == "realtime"
    as_xml = await intake.get(f"{V2}/services.xml?lang=en")
    assert as_xml.content_type == "text/xml" and as_xml.charset == "utf-8"
    root = xml_of(await as_xml.text())
    assert root.tag == "services" and len(root.findall("service")) == 7
    names = {s.findtext("service_code"): s.findtext("service_name") for s in root}
    assert names["scam_fraud"] == "Scam or fraud"
    assert root.find("service/metadata") is not None
    assert root.findtext("service/metadata") == "true"


async def test_service_definition_names_the_attributes_a_report_needs(intake: Client) -> None:
    response = await intake.get(f"{V2}/services/scam_fraud.xml")
    root = xml_of(await response.text())
    assert root.tag == "service_definition" and root.findtext("service_code") == "scam_fraud"
    attributes = {a.findtext("code"): a for a in root.findall("attributes/attribute")}
    assert attributes["content_urls"].findtext("required") == "true"
    assert attributes["platform"].findtext("datatype") == "singlevaluelist"
    keys = [v.findtext("key") for v in attributes["platform"].findall("values/value")]
    assert keys == ["facebook", "zalo", "tiktok", "youtube", "other"]
    as_json = await (await intake.get(f"{V2}/services/scam_fraud.json")).json()
    assert [a["order"] for a in as_json["attributes"]] == list(range(1, len(attributes) + 1))


async def test_unknown_service_is_404_in_the_spec_error_format(intake: Client) -> None:
    response = await intake.get(f"{V2}/services/potholes.json")
    assert response.status == 404
    (error,) = await response.json()
    assert error["code"] == 404 and error["description"].startswith("service_code:")
    as_xml = await intake.get(f"{V2}/services/potholes.xml")
    root = xml_of(await as_xml.text())
    assert as_xml.status == 404 and root.tag == "errors"
    assert root.findtext("error/code") == "404"


async def test_fixmystreet_request_is_stored_and_announced_like_a_json_report(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "report.submitted")
    response = await intake.post(f"{V2}/requests.xml", data=fms_form())
    assert response.status == 201 and response.content_type == "text/xml"
    text = await response.text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<service_requests>')
    request = xml_of(text).find("request")
    assert request is not None
    code = request.findtext("service_request_id")
    assert code and "Mã theo dõi: " + code in (request.findtext("service_notice") or "")
    assert request.findtext("account_id") == "fms-user-7"

    stored = await intake_db.reports.find_one({"tracking_code": code})
    assert stored is not None
    report = stored["report"]
    assert report["category"] == "impersonation" and report["platform"] == "facebook"
    assert report["description"] == FMS_DESCRIPTION.strip()
    assert report["content_urls"] == ["https://www.facebook.com/congan.phuong.gia"]
    assert report["evidence_links"] == ["https://fixmystreet.example/photo/42.jpeg"]
    # The address's last two parts: the province, and before it the commune (Phường Cầu Giấy).
    assert (report["province_code"], report["province"]) == ("01", "Thành phố Hà Nội")
    assert (report["commune_code"], report["commune"]) == ("00167", "Phường Cầu Giấy")
    assert report.get("district") is None
    assert report["anonymous"] is False
    contact = opened_contact(report, stored["_id"])
    assert contact is not None and contact.model_dump(exclude_none=True) == {
        "name": "Lan Trần Thị",
        "phone": "+84912345678",  # E.164, as every channel stores it
        "email": "nguoidan@example.com",
    }
    (event,) = await probe.wait_for(1)
    assert isinstance(event, ReportSubmitted) and event.tracking_code == code
    status = await intake.get(f"/api/v1/reports/{code}")
    assert (await status.json())["status"] == "received"


async def test_several_urls_and_attributes_and_an_anonymous_report(
    intake: Client, intake_db: MongoDatabase
) -> None:
    form = [
        ("service_code", "false_information"),
        ("description", "Bài viết bịa đặt về dịch bệnh ở Đà Nẵng."),
        ("attribute[content_urls][]", "https://www.tiktok.com/@a/video/1"),
        ("attribute[content_urls][]", "https://www.tiktok.com/@a/video/2"),
        ("attribute[platform]", "tiktok"),
        ("attribute[province]", "Đà Nẵng"),
        ("attribute[seen_at]", "2026-11-20T08:30:00+07:00"),
        ("attribute[reporter_kind]", "official"),
        ("attribute[language]", "en"),
        ("email", ""),  # empty: as if not sent
    ]
    response = await intake.post(f"{V2}/requests.json", data=form)
    assert response.status == 201, await response.text()
    (created,) = await response.json()
    assert created["account_id"] is None
    assert created["service_notice"].startswith("Report received.")
    stored = await intake_db.reports.find_one({"tracking_code": created["service_request_id"]})
    assert stored is not None
    report = stored["report"]
    assert len(report["content_urls"]) == 2 and report["province_code"] == "48"
    assert report["reporter_kind"] == "official" and report["language"] == "en"
    assert report["anonymous"] is True and opened_contact(report, stored["_id"]) is None


async def test_idempotency_key_works_as_on_the_json_api(intake: Client) -> None:
    headers = {"Idempotency-Key": "fms-problem-42"}
    first = await intake.post(f"{V2}/requests.json", data=fms_form(), headers=headers)
    again = await intake.post(f"{V2}/requests.json", data=fms_form(), headers=headers)
    assert (first.status, again.status) == (201, 201)
    assert again.headers["Idempotent-Replayed"] == "true"
    code = (await first.json())[0]["service_request_id"]
    assert (await again.json())[0]["service_request_id"] == code
    other = await intake.post(
        f"{V2}/requests.json", data=fms_form(description="Một phản ánh khác hẳn."), headers=headers
    )
    assert other.status == 409
    (error,) = await other.json()
    assert error["code"] == 409 and error["description"].startswith("Idempotency-Key:")


async def _request(intake: Client, code: str, status: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        (found,) = await (await intake.get(f"{V2}/requests/{code}.json")).json()
        return found if found["status_notes"] == status else None

    return await wait_until(probe, what=f"status notes {status}")


async def test_request_closes_with_status_notes_when_its_case_is_resolved(
    intake: Client,
    intake_db: MongoDatabase,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    code = await _create(intake, "xml")
    (received,) = await (await intake.get(f"{V2}/requests/{code.lower()}.json")).json()
    assert received["status"] == "open" and received["status_notes"] == "Đã tiếp nhận"
    assert received["agency_responsible"] is None
    report = await intake_db.reports.find_one({"tracking_code": code})
    assert report is not None
    publisher = await Publisher.open(amqp_connection, topology)
    await publisher.publish(assigned(report))
    open_request = await _request(intake, code, "Đã chuyển cơ quan xử lý")
    assert open_request["status"] == "open"
    assert open_request["agency_responsible"] == "Công an (An ninh mạng)"
    await publisher.publish(updated(report, 2, CaseStatus.RESOLVED, "resolve"))
    closed = await _request(intake, code, "Đã xử lý xong")
    assert closed["status"] == "closed" and closed["service_code"] == "impersonation"
    assert closed["updated_datetime"] > closed["requested_datetime"]

    as_xml = await intake.get(f"{V2}/requests/{code}.xml?lang=en")
    request = xml_of(await as_xml.text()).find("request")
    assert request is not None and request.findtext("status") == "closed"
    assert request.findtext("status_notes") == "Resolved"
    text = await as_xml.text() + str(closed)
    for private in ("nguoidan", "912", "Lan", "internal", "fms-user-7"):
        assert private not in text


async def test_requests_are_read_back_by_comma_delimited_ids(intake: Client) -> None:
    first, second = await _create(intake), await _create(intake, "xml")
    listed = await intake.get(
        f"{V2}/requests.json", params={"service_request_id": f"{first}, {second},AAAA-BBBB-CCCC"}
    )
    assert listed.status == 200
    assert [r["service_request_id"] for r in await listed.json()] == [first, second]
    as_xml = await intake.get(f"{V2}/requests.xml", params={"service_request_id": first})
    root = xml_of(await as_xml.text())
    assert root.tag == "service_requests" and root.findtext("request/status") == "open"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"attribute[platform]": ""}, "attribute[platform]"),
        ({"attribute[platform]": "myspace"}, "attribute[platform]"),
        ({"attribute[content_urls]": "not a link"}, "attribute[content_urls]"),
        ({"attribute[content_urls]": ""}, "attribute[content_urls]"),
        ({"description": "ngắn"}, "description"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "", "phone": ""}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"lat": "123.5"}, "lat"),
        ({"long": "east"}, "long"),
        ({"media_url": "ftp://example.com/a.jpg"}, "media_url"),
        ({"address_string": "x" * 101}, "address_string"),
        ({"attribute[seen_at]": "2999-01-01T00:00:00+07:00"}, "attribute[seen_at]"),
        ({"attribute[colour]": "red"}, "attribute[colour]"),
        ({"title": "FixMyStreet title"}, "title"),
        ({"service_code": ""}, "service_code"),
    ],
)
async def test_bad_input_is_400_naming_the_field_and_stores_nothing(
    intake: Client, intake_db: MongoDatabase, overrides: dict[str, str], field: str
) -> None:
    response = await intake.post(f"{V2}/requests.json", data=fms_form(**overrides))
    assert response.status == 400, await response.text()
    errors = await response.json()
    assert all(e["code"] == 400 for e in errors)
    assert any(e["description"].startswith(f"{field}: ") for e in errors), errors
    assert await intake_db.reports.count_documents({}) == 0


async def test_refusals_in_xml_and_the_other_statuses(
    intake: Client, intake_db: MongoDatabase
) -> None:
    repeated = [*fms_form().items(), ("attribute[platform]", "zalo")]
    response = await intake.post(f"{V2}/requests.xml", data=repeated)
    root = xml_of(await response.text())
    assert response.status == 400 and response.content_type == "text/xml"
    assert root.findtext("error/description", "").startswith("attribute[platform]:")
    unknown = await intake.post(f"{V2}/requests.json", data=fms_form(service_code="potholes"))
    assert unknown.status == 404
    as_json = await intake.post(f"{V2}/requests.json", json=fms_form())
    assert as_json.status == 415
    too_big = io.BytesIO(b"description=" + b"x" * (1024 * 1024 + 10))
    huge = await intake.post(
        f"{V2}/requests.json",
        data=too_big,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert huge.status == 413 and (await huge.json())[0]["code"] == 413
    no_ids = await intake.get(f"{V2}/requests.json")
    assert no_ids.status == 400
    assert (await no_ids.json())[0]["description"].startswith("service_request_id:")
    assert (await intake.get(f"{V2}/requests/NOPE.json")).status == 404
    bad_lang = await intake.get(f"{V2}/services.json?lang=fr")
    assert bad_lang.status == 400 and (await bad_lang.json())[0]["description"].startswith("lang:")
    wrong_method = await intake.delete(f"{V2}/services.xml")
    assert wrong_method.status == 405 and "GET" in wrong_method.headers["Allow"]
    assert xml_of(await wrong_method.text()).findtext("error/code") == "405"
    assert await intake_db.reports.count_documents({}) == 0


async def test_discovery_points_at_the_v2_endpoint(intake: Client) -> None:
    document = await (await intake.get("/open311/discovery.json")).json()
    (endpoint,) = document["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert endpoint["formats"] == ["text/xml", "application/json"]


async def test_open311_requests_share_the_rate_limit(intake_settings: IntakeSettings) -> None:
    client = await start_intake(intake_settings, rate_limiter=RateLimiter(per_minute=6, burst=3))
    try:
        statuses = [
            (await client.post(f"{V2}/requests.json", data=fms_form())).status for _ in range(2)
        ]
        lookup = await client.get(f"{V2}/requests.json?service_request_id=AAAA-BBBB-CCCC")
        limited = await client.post(f"{V2}/requests.xml", data=fms_form())
        assert statuses == [201, 201] and lookup.status == 200
        assert limited.status == 429 and int(limited.headers["Retry-After"]) >= 1
        assert xml_of(await limited.text()).findtext("error/code") == "429"
        assert (await client.get(f"{V2}/services.json")).status == 200  # not limited
    finally:
        await client.close()
