"""Open311 on intake without servers: form parsing and mapping, error naming, XML and JSON."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest
from multidict import MultiDict, MultiDictProxy
from pydantic import ValidationError

from services.common.contracts import Category
from services.intake.models import ContactIn, ReportIn
from services.intake.open311_form import (
    MappedRequest,
    Open311Refusal,
    map_form,
    report_errors,
    request_ids,
)
from services.intake.open311_models import (
    Error,
    ErrorList,
    request_created,
    service_definition,
    service_list,
    service_request,
)
from services.intake.open311_render import body, format_of, to_xml
from services.intake.openapi_doc import PHONE, SERVICE_REQUEST_FIELDS

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def form(*pairs: tuple[str, str], **fields: str) -> MultiDictProxy[str]:
    base = {
        "api_key": "ignored",
        "jurisdiction_id": "hanoi.gov.vn",
        "service_code": "scam_fraud",
        "description": "Trang hứa trúng thưởng và đòi phí nhận quà.",
        "attribute[content_urls]": "https://www.facebook.com/trung.thuong",
        "attribute[platform]": "facebook",
    }
    base.update(fields)
    return MultiDictProxy(MultiDict([*base.items(), *pairs]))


def refusal(sent: MultiDictProxy[str]) -> Open311Refusal:
    with pytest.raises(Open311Refusal) as caught:
        map_form(sent, "vi")
    return caught.value


def validated(mapped: MappedRequest) -> ReportIn:
    return ReportIn.model_validate(mapped.data, context={"now": NOW})


def test_minimal_request_maps_to_an_anonymous_report() -> None:
    mapped = map_form(form(lat="21.03", long="105.85", address_id="A1", device_id="d"), "vi")
    assert mapped.data == {
        "category": "scam_fraud",
        "description": "Trang hứa trúng thưởng và đòi phí nhận quà.",
        "content_urls": ["https://www.facebook.com/trung.thuong"],
        "platform": "facebook",
        "anonymous": True,
    }
    assert validated(mapped).anonymous


def test_contact_media_and_address_map_to_intake_fields() -> None:
    mapped = map_form(
        form(
            email="a@example.com",
            first_name="Lan",
            last_name="Trần Thị",
            media_url="https://img.example/1.jpeg",
            address_string="12 Trần Duy Hưng, Cầu Giấy, Hà Nội",
            account_id="acct-9",
        ),
        "vi",
    )
    report = validated(mapped)
    assert report.contact is not None and report.contact.name == "Lan Trần Thị"
    # The last part is the province, the one before it the commune (Phường Cầu Giấy), as codes.
    assert (report.province, report.commune, report.district) == ("01", "00167", None)
    assert report.evidence_links == ["https://img.example/1.jpeg"]
    assert mapped.account_id == "acct-9" and not report.anonymous
    assert mapped.sources["province"] == "address_string"


def test_attributes_win_over_the_address_and_urls_combine() -> None:
    mapped = map_form(
        form(
            ("attribute[content_urls][]", "https://zalo.me/a"),
            ("attribute[content_urls][]", "https://zalo.me/b"),
            address_string="Cầu Giấy, Hà Nội",
            **{"attribute[province]": "Đà Nẵng", "attribute[language]": "en"},
        ),
        "vi",
    )
    assert mapped.data["province"] == "Đà Nẵng" and "commune" not in mapped.data
    assert len(mapped.data["content_urls"]) == 3 and mapped.data["language"] == "en"


def test_address_parts_that_name_no_known_place_are_left_unused() -> None:
    mapped = map_form(form(address_string="12 Nguyễn Trãi, Khu phố 3, Đảo Xa Lạ"), "vi")
    assert not {"province", "commune", "district"} & mapped.data.keys()
    mapped = map_form(form(address_string="Khu phố 3, TP.HCM"), "vi")
    assert mapped.data["province"] == "TP.HCM" and "commune" not in mapped.data
    assert validated(mapped).province == "79"


def test_an_unknown_province_attribute_is_refused_under_that_attribute() -> None:
    mapped = map_form(form(**{"attribute[province]": "Hà Tây"}), "vi")
    with pytest.raises(ValidationError) as refused:
        validated(mapped)
    [(parameter, text)] = report_errors(refused.value, mapped.sources, "vi")
    assert parameter == "attribute[province]"
    assert "Hà Tây" in text and "Có phải" in text


def test_empty_parameters_count_as_not_sent() -> None:
    mapped = map_form(form(email="", phone="", lat="", media_url=""), "vi")
    assert mapped.data["anonymous"] is True and "evidence_links" not in mapped.data


@pytest.mark.parametrize(
    ("extra", "fields", "status", "named"),
    [
        ((("title", "x"),), {}, 400, "title"),
        ((("attribute[colour]", "red"),), {}, 400, "attribute[colour]"),
        ((("email", "b@example.com"),), {"email": "a@example.com"}, 400, "email"),
        ((), {"service_code": ""}, 400, "service_code"),
        ((), {"service_code": "potholes"}, 404, "service_code"),
        ((), {"lat": "91"}, 400, "lat"),
        ((), {"long": "-180.5"}, 400, "long"),
        ((), {"address_string": "a" * 101 + ", Hà Nội"}, 400, "address_string"),
        ((), {"attribute[province]": "p" * 101}, 400, "attribute[province]"),
        ((), {"first_name": "n" * 100}, 400, "first_name"),
    ],
)
def test_what_validation_cannot_name_is_refused_before_it(
    extra: tuple[tuple[str, str], ...], fields: dict[str, str], status: int, named: str
) -> None:
    refused = refusal(form(*extra, **fields))
    assert refused.status == status
    assert named in [name for name, _ in refused.errors]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"attribute[platform]": ""}, "attribute[platform]"),
        ({"attribute[content_urls]": "ftp://x.example/a"}, "attribute[content_urls]"),
        ({"description": "ngắn"}, "description"),
        ({"first_name": "Lan"}, "email"),
        ({"phone": "gọi tôi"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"media_url": "nope"}, "media_url"),
        ({"attribute[seen_at]": "2026-11-20T08:30:00"}, "attribute[seen_at]"),
        ({"attribute[reporter_kind]": "robot"}, "attribute[reporter_kind]"),
    ],
)
def test_validation_errors_name_the_open311_parameter(fields: dict[str, str], named: str) -> None:
    mapped = map_form(form(**fields), "en")
    with pytest.raises(ValidationError) as caught:
        validated(mapped)
    names = [name for name, _ in report_errors(caught.value, mapped.sources, "en")]
    assert named in names


def test_error_messages_are_vietnamese_by_default() -> None:
    mapped = map_form(form(description="ngắn"), "vi")
    with pytest.raises(ValidationError) as caught:
        validated(mapped)
    ((_, message),) = report_errors(caught.value, mapped.sources, "vi")
    assert message == "Quá ngắn: cần ít nhất 10 ký tự."


def test_request_ids_are_comma_delimited_tracking_codes_in_any_case() -> None:
    assert request_ids("abcd-efgh-jkmn, ABCD-EFGH-JKMN,WXYZ-2345-6789") == [
        "ABCD-EFGH-JKMN",
        "WXYZ-2345-6789",
    ]
    assert request_ids("ABCD-EFGH") is None
    assert request_ids("ıBCD-EFGH-JKMN") is None  # uppercases to ASCII, still refused
    assert request_ids(",".join(["ABCD-EFGH-JKMN"] * 51)) is None


def test_services_and_definitions_speak_both_languages() -> None:
    services = service_list("en").root
    assert [s.service_code for s in services] == [c.value for c in Category]
    assert services[0].service_name == "Hijacked account"
    definition = service_definition(Category.SCAM_FRAUD, "vi")
    codes = [a.code for a in definition.attributes if a.required]
    assert codes == ["content_urls", "platform"]
    assert [a.order for a in definition.attributes] == list(range(1, 9))


def _document(status: str, agency: str | None) -> dict[str, Any]:
    return {
        "tracking_code": "ABCD-EFGH-JKMN",
        "status": status,
        "report": {"category": "scam_fraud", "contact": {"phone": "0912345678"}},
        "case": {"agency": agency} if agency else None,
        "submitted_at": NOW,
        "updated_at": NOW,
    }


def test_status_is_open_until_resolved_or_rejected_with_notes_and_agency() -> None:
    received = service_request(_document("received", None), "vi")
    assert (received.status, received.status_notes) == ("open", "Đã tiếp nhận")
    assert received.agency_responsible is None
    resolved = service_request(_document("resolved", "police"), "vi")
    assert (resolved.status, resolved.status_notes) == ("closed", "Đã xử lý xong")
    assert resolved.agency_responsible == "Công an (An ninh mạng)"
    rejected = service_request(_document("rejected", "police"), "en")
    assert (rejected.status, rejected.status_notes) == ("closed", "Closed without action")
    assert "0912345678" not in rejected.model_dump_json()


def test_xml_follows_the_spec_layout_and_json_is_its_array() -> None:
    created = request_created("ABCD-EFGH-JKMN", account_id=None, lang="vi", status_page="u")
    root = ET.fromstring(body(created, "service_requests", "xml"))
    assert root.tag == "service_requests"
    assert root.findtext("request/service_request_id") == "ABCD-EFGH-JKMN"
    account = root.find("request/account_id")
    assert account is not None and account.text is None and len(account) == 0
    assert json.loads(body(created, "service_requests", "json"))[0]["account_id"] is None
    definition = ET.fromstring(
        body(service_definition(Category.IMPERSONATION, "vi"), "service_definition", "xml")
    )
    assert definition.findtext("attributes/attribute/variable") == "true"
    assert len(definition.findall("attributes/attribute[code='platform']/values/value")) == 5


def test_xml_declares_utf8_and_never_carries_characters_xml_cannot_hold() -> None:
    errors = ErrorList([Error(code=400, description="attribute[\x01\ufffe]: lỗi")])
    document = body(errors, "errors", "xml")
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<errors>')
    assert ET.fromstring(document).findtext("error/description") == "attribute[\ufffd\ufffd]: lỗi"
    assert to_xml("errors", []) == b'<?xml version="1.0" encoding="UTF-8"?>\n<errors />'


def test_paths_choose_their_format() -> None:
    assert format_of("/open311/v2/services.xml") == "xml"
    assert format_of("/open311/v2/services.json") == "json"
    assert format_of("/open311/v2/nowhere") == "json"


def _accepted_phone(phone: str) -> bool:
    try:
        ContactIn(phone=phone)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    "phone", [" +84 912 345 678 ", "  13)7(", "12345", "+ 12345 6", "+12345\u3000", "\x85123456"]
)
def test_documented_phone_pattern_is_what_intake_accepts_once_stripped(phone: str) -> None:
    assert SERVICE_REQUEST_FIELDS["phone"]["anyOf"][1]["pattern"] == PHONE
    assert bool(re.match(PHONE, phone)) is _accepted_phone(phone)
