"""Intake's pure logic: validation rules, tracking codes, rate limit, CSRF, form mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from multidict import MultiDict, MultiDictProxy
from pydantic import ValidationError

from services.common.contracts import CaseStatus, ReportSubmitted
from services.common.csrf import CsrfTokens
from services.intake.models import ReportIn
from services.intake.repository import TRACKING_ALPHABET, new_tracking_code, request_fingerprint
from services.intake.security import RateLimiter
from services.intake.status import REPORTER_STATUS
from services.intake.views import form_data, form_errors
from tests.helpers import TEST_KEY_RING

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "category": "impersonation",
        "content_urls": ["https://zalo.me/fake-official"],
        "platform": "zalo",
        "description": "Tài khoản giả danh chủ tịch UBND xã để vay tiền.",
        "anonymous": True,
    }
    data.update(overrides)
    return data


def test_valid_report_becomes_a_report_submitted_event_without_contact_when_anonymous() -> None:
    report = ReportIn.model_validate(body(), context={"now": NOW})
    event = report.to_event(
        report_id="r1", tracking_code="AAAA-BBBB-CCCC", now=NOW, keys=TEST_KEY_RING
    )
    assert isinstance(event, ReportSubmitted)
    assert event.contact_sealed is None and event.anonymous
    assert event.content_urls == ["https://zalo.me/fake-official"]
    assert event.routing_key() == "report.submitted"


def test_named_report_carries_its_contact_sealed_for_its_report_in_the_event() -> None:
    report = ReportIn.model_validate(
        body(anonymous=False, contact={"email": "a@example.vn"}), context={"now": NOW}
    )
    event = report.to_event(
        report_id="r1", tracking_code="AAAA-BBBB-CCCC", now=NOW, keys=TEST_KEY_RING
    )
    assert event.contact_sealed is not None and "a@example.vn" not in event.model_dump_json()
    assert TEST_KEY_RING.open_contact(event.contact_sealed, "r1").email == "a@example.vn"


def test_seen_at_in_the_future_is_refused_but_clock_skew_is_tolerated() -> None:
    ReportIn.model_validate(body(seen_at=NOW + timedelta(minutes=4)), context={"now": NOW})
    with pytest.raises(ValidationError) as error:
        ReportIn.model_validate(body(seen_at=NOW + timedelta(hours=1)), context={"now": NOW})
    assert error.value.errors()[0]["type"] == "seen_at_future"


def test_text_is_stripped_and_length_checked_after_stripping() -> None:
    with pytest.raises(ValidationError):
        ReportIn.model_validate(body(description="   short    "))
    report = ReportIn.model_validate(body(province="  Huế  "))
    assert report.province == "46"  # the place fields keep the code (see test_geography)


def test_tracking_codes_are_random_in_an_unambiguous_alphabet() -> None:
    codes = {new_tracking_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 14 and set(c.replace("-", "")) <= set(TRACKING_ALPHABET) for c in codes)


def test_request_fingerprint_ignores_key_order_but_not_content() -> None:
    key = b"k" * 32
    assert request_fingerprint({"a": 1, "b": 2}, key) == request_fingerprint({"b": 2, "a": 1}, key)
    assert request_fingerprint({"a": 1}, key) != request_fingerprint({"a": 2}, key)
    # keyed: without the key, a guessed body (and the contact in it) cannot be tested
    assert request_fingerprint({"a": 1}, key) != request_fingerprint({"a": 1}, b"x" * 32)


def test_rate_limiter_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = [0.0]
    limiter = RateLimiter(per_minute=60, burst=2, monotonic=lambda: clock[0])
    assert limiter.check("c") == 0 and limiter.check("c") == 0
    wait = limiter.check("c")
    assert wait == pytest.approx(1.0)
    assert limiter.check("other") == 0
    clock[0] += 1.0
    assert limiter.check("c") == 0
    assert RateLimiter.retry_after_header(0.2) == "1"


def test_csrf_token_matches_only_its_own_nonce_and_secret() -> None:
    tokens = CsrfTokens("secret-secret-secret")
    nonce = tokens.new_nonce()
    token = tokens.token_for(nonce)
    assert tokens.valid(nonce, token)
    assert not tokens.valid(tokens.new_nonce(), token)
    assert not tokens.valid(None, token) and not tokens.valid(nonce, None)
    assert not CsrfTokens("another-secret-value").valid(nonce, token)


def _form(**fields: str) -> MultiDictProxy[str]:
    return MultiDictProxy(MultiDict(fields))


def test_form_fields_map_to_an_api_body() -> None:
    data = form_data(
        _form(
            category="scam_fraud",
            content_urls=" https://a.vn/1 \n\n https://a.vn/2 ",
            seen_at="2026-11-20T08:30",
            anonymous="no",
            contact_phone="0912345678",
            province="",
        ),
        "vi",
    )
    assert data == {
        "language": "vi",
        "category": "scam_fraud",
        "content_urls": ["https://a.vn/1", "https://a.vn/2"],
        "seen_at": "2026-11-20T08:30+07:00",
        "anonymous": False,
        "contact": {"phone": "0912345678"},
    }


def test_form_errors_land_beside_their_fields_in_the_reporters_language() -> None:
    with pytest.raises(ValidationError) as error:
        ReportIn.model_validate(
            form_data(
                _form(content_urls="https://ok.vn\nnope", contact_email="x", anonymous="no"), "en"
            )
        )
    errors = form_errors(error.value, "en")
    assert errors["content_urls"] == [
        "#2: Not a valid link: write an address such as facebook.com/name or "
        "https://example.vn/page, one per line."
    ]
    assert errors["category"] == ["This field is required."]
    assert errors["contact_email"] == ["Not a valid e-mail address."]


def test_every_case_status_has_a_reporter_visible_status() -> None:
    assert set(REPORTER_STATUS) == set(CaseStatus)
