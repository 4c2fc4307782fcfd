"""The reporter's HTML form: CSRF, errors beside fields with input kept, Post/Redirect/Get to
the receipt, one report per filled-in form, phone numbers in E.164, tracking codes as typed."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.mongo import MongoDatabase
from services.intake.security import RateLimiter
from services.intake.settings import IntakeSettings
from tests.helpers import opened_contact
from tests.integration.intake.conftest import start_intake

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
FORM_TOKEN = re.compile(r'name="form_token" value="([A-Za-z0-9_-]+)"')
RECEIPT = re.compile(r"^/receipt/([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})\?lang=(vi|en)$")


async def _token(client: Client, path: str = "/") -> str:
    page = await (await client.get(path)).text()
    match = TOKEN.search(page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def _form(token: str, **overrides: str) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "category": "false_information",
        "content_urls": "https://tiktok.com/@fake/video/1\nhttps://tiktok.com/@fake/video/2",
        "platform": "tiktok",
        "description": "Video tung tin sai sự thật về dịch bệnh.",
        "seen_at": "2026-11-20T08:30",
        "province": "48",  # Thành phố Đà Nẵng
        "commune": "20242",  # Phường Hải Châu
        "reporter_kind": "official",
        "anonymous": "yes",
    }
    data.update(overrides)
    return data


async def test_form_is_vietnamese_first_and_english_on_request(intake: Client) -> None:
    vietnamese = await (await intake.get("/")).text()
    assert '<html lang="vi">' in vietnamese and "Gửi phản ánh" in vietnamese
    english = await (await intake.get("/?lang=en")).text()
    assert '<html lang="en">' in english and "Send report" in english
    # A browser preferring English still gets the Vietnamese site: only a choice switches it.
    intake.session.cookie_jar.clear()  # forget the choice `?lang=en` just made
    by_header = await (await intake.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})).text()
    assert '<html lang="vi">' in by_header


async def _filled_form(client: Client, path: str = "/", **overrides: str) -> dict[str, str]:
    """The test form with the CSRF token and the submission token of a freshly opened page."""
    page = await (await client.get(path)).text()
    csrf, token = TOKEN.search(page), FORM_TOKEN.search(page)
    assert csrf and token, "the form carries a CSRF token and a submission token"
    return _form(csrf.group(1), form_token=token.group(1), **overrides)


async def _send(client: Client, data: Any) -> str:
    """POST the form; it must answer 303 to a receipt: the tracking code it names."""
    response = await client.post("/", data=data, allow_redirects=False)
    assert response.status == 303, await response.text()
    match = RECEIPT.match(response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


async def test_form_post_answers_303_to_a_receipt_with_the_code_and_usual_times(
    intake: Client, intake_db: MongoDatabase
) -> None:
    code = await _send(intake, await _filled_form(intake))
    stored = await intake_db.reports.find_one({"tracking_code": code})
    assert stored is not None
    assert len(stored["report"]["content_urls"]) == 2
    assert stored["report"]["seen_at"].isoformat().startswith("2026-11-20T01:30")
    assert stored["report"]["contact_sealed"] is None and "contact" not in stored["report"]
    assert (stored["report"]["province_code"], stored["report"]["commune_code"]) == ("48", "20242")
    receipt = await intake.get(f"/receipt/{code}?lang=vi")
    assert receipt.status == 200
    assert receipt.headers["Cache-Control"] == "private, no-store"
    page = await receipt.text()
    assert f'id="tracking-code">{code}<' in page
    # false_information: routing's national rule acknowledges within 24 h, resolves within 7 days.
    assert "trong vòng 1 ngày" in page and "trong vòng 7 ngày" in page
    assert f'href="/status/{code}?lang=vi"' in page
    switch = re.search(r'id="switch-language" href="([^"]+)"', page)
    assert switch and switch.group(1) == f"/receipt/{code}?lang=en"
    english = await (await intake.get(switch.group(1).replace("&amp;", "&"))).text()
    assert f'id="tracking-code">{code}<' in english and "within 1 day" in english
    status = await intake.get(f"/status/{code}?lang=vi")
    assert status.status == 200
    assert "Đã tiếp nhận" in await status.text()


async def test_a_double_submitted_form_makes_one_report(
    intake: Client, intake_db: MongoDatabase
) -> None:
    data = await _filled_form(intake)
    first = await _send(intake, data)
    assert await _send(intake, data) == first  # the second tap: the same receipt
    together = await asyncio.gather(*(_send(intake, data) for _ in range(3)))
    assert set(together) == {first}
    assert await intake_db.reports.count_documents({}) == 1
    for _ in range(2):  # refreshing the receipt only shows it again
        assert (await intake.get(f"/receipt/{first}")).status == 200
    assert await intake_db.reports.count_documents({}) == 1


async def test_two_forms_opened_separately_make_two_reports(
    intake: Client, intake_db: MongoDatabase
) -> None:
    first = await _send(intake, await _filled_form(intake))
    second = await _send(intake, await _filled_form(intake))
    assert first != second
    assert await intake_db.reports.count_documents({}) == 2


async def test_a_sent_form_changed_and_sent_again_is_not_stored_twice(
    intake: Client, intake_db: MongoDatabase
) -> None:
    data = await _filled_form(intake)
    await _send(intake, data)
    changed = {**data, "description": "Video tung tin sai sự thật về dịch bệnh, bản sửa."}
    response = await intake.post("/", data=changed, allow_redirects=False)
    assert response.status == 409
    page = await response.text()
    assert 'id="already-sent"' in page and "bản sửa" in page
    token = FORM_TOKEN.search(page)
    assert token and token.group(1) != data["form_token"]  # pressing send again sends it anew
    assert await intake_db.reports.count_documents({}) == 1
    await _send(intake, {**changed, "form_token": token.group(1)})
    assert await intake_db.reports.count_documents({}) == 2


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0912 345 678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("091-234-5678", "+84912345678"),
        ("024 3825 1234", "+842438251234"),
        ("(028) 3829-5555", "+842838295555"),
    ],
)
async def test_phone_numbers_are_stored_in_e164(
    intake: Client, intake_db: MongoDatabase, typed: str, stored: str
) -> None:
    data = await _filled_form(intake, anonymous="no", contact_phone=typed)
    code = await _send(intake, data)
    document = await intake_db.reports.find_one({"tracking_code": code})
    assert document is not None
    contact = opened_contact(document["report"], document["_id"])
    assert contact is not None and contact.phone == stored


async def test_a_phone_number_of_six_digits_is_refused_beside_the_field(
    intake: Client, intake_db: MongoDatabase
) -> None:
    data = await _filled_form(intake, anonymous="no", contact_phone="123456")
    response = await intake.post("/", data=data, allow_redirects=False)
    assert response.status == 422
    page = await response.text()
    assert 'id="contact_phone-error"' in page and "Số điện thoại không hợp lệ" in page
    assert 'value="123456"' in page
    api = await intake.post(
        "/api/v1/reports",
        json={
            "category": "scam_fraud",
            "content_urls": ["https://www.facebook.com/fake.lottery.page"],
            "platform": "facebook",
            "description": "Trang này hứa trúng thưởng xe máy và đòi phí nhận thưởng.",
            "anonymous": False,
            "contact": {"phone": "123456"},
        },
    )
    assert api.status == 422
    errors = (await api.json())["error"]["errors"]
    assert [e["field"] for e in errors] == ["contact.phone"]
    assert await intake_db.reports.count_documents({}) == 0


@pytest.mark.parametrize(
    "shape", [str.lower, lambda c: c.replace("-", " "), lambda c: c.replace("-", "")]
)
async def test_a_tracking_code_is_found_in_any_case_with_spaces_or_without_dashes(
    intake: Client, shape: Any
) -> None:
    code = await _send(intake, await _filled_form(intake))
    typed = shape(code)
    page = await intake.get("/status", params={"code": f" {typed} "})
    assert page.status == 200
    assert f'id="tracking-code">{code}<' in await page.text()
    api = await intake.get(f"/api/v1/reports/{typed}")
    assert api.status == 200
    assert (await api.json())["tracking_code"] == code
    assert (await intake.get(f"/receipt/{typed}")).status == 200


async def test_the_empty_form_offers_provinces_no_platform_and_autocomplete_hints(
    intake: Client,
) -> None:
    page = await (await intake.get("/")).text()
    assert page.count('<option value="', page.index('id="province"')) >= 34
    assert '<option value="01" >Hà Nội</option>' in page
    platform = page[
        page.index('id="platform"') : page.index("</select>", page.index('id="platform"'))
    ]
    assert "selected" in platform.split("</option>")[0] and platform.count("selected") == 1
    for name, hint in (
        ("contact_name", "name"),
        ("contact_phone", "tel"),
        ("contact_email", "email"),
    ):
        assert re.search(rf'id="{name}" name="{name}" autocomplete="{hint}"', page)
    assert "Nghị định 13/2023/NĐ-CP" in page and "91/2025/QH15" in page
    assert "Mạo danh" in page
    assert "Quận/Huyện" not in page and 'name="district"' not in page


async def test_choosing_a_province_without_javascript_lists_its_communes(
    intake: Client, intake_db: MongoDatabase
) -> None:
    data = _form(await _token(intake), province="01", commune="", action="refresh")
    data.pop("csrf_token")  # re-rendering checks nothing and stores nothing
    response = await intake.post("/", data=data, allow_redirects=False)
    assert response.status == 200
    page = await response.text()
    assert '<option value="01" selected>Hà Nội</option>' in page
    assert '<option value="00070" >Phường Hoàn Kiếm</option>' in page
    assert "Video tung tin sai sự thật" in page  # what was typed is kept
    assert 'id="description-error"' not in page
    assert await intake_db.reports.count_documents({}) == 0
    data = await _filled_form(intake, province="01", commune="00070")
    code = await _send(intake, data)
    stored = await intake_db.reports.find_one({"tracking_code": code})
    assert stored is not None and stored["report"]["commune"] == "Phường Hoàn Kiếm"


async def test_form_without_a_valid_csrf_token_is_refused_and_stores_nothing(
    intake: Client, intake_db: MongoDatabase
) -> None:
    await _token(intake)
    response = await intake.post("/", data=_form("0" * 64))
    assert response.status == 403
    assert await intake_db.reports.count_documents({}) == 0


async def test_form_errors_are_shown_beside_their_fields_with_the_input_kept(
    intake: Client, intake_db: MongoDatabase
) -> None:
    data = _form(
        await _token(intake),
        content_urls="not a link",
        description="ngắn",
        anonymous="no",
        contact_name="<script>alert(1)</script>",
    )
    response = await intake.post("/", data=data)
    assert response.status == 422
    page = await response.text()
    assert 'id="content_urls-error"' in page and "Đường dẫn không hợp lệ" in page
    assert 'id="description-error"' in page and "Quá ngắn" in page
    assert 'id="contact-error"' in page and "vui lòng để lại số điện thoại" in page
    assert "not a link</textarea>" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert await intake_db.reports.count_documents({}) == 0


async def test_status_page_for_an_unknown_code_says_so(intake: Client) -> None:
    response = await intake.get("/status?code=AAAA-BBBB-CCCC&lang=en")
    assert response.status == 404
    assert "No report has this tracking code." in await response.text()


async def test_receipt_lookups_are_rate_limited_like_the_status_page(
    intake_settings: IntakeSettings,
) -> None:
    client = await start_intake(intake_settings, rate_limiter=RateLimiter(per_minute=1, burst=2))
    try:
        answers = [(await client.get("/receipt/AAAA-BBBB-CCCC")).status for _ in range(3)]
        assert answers == [404, 404, 429]
    finally:
        await client.close()
