"""Locale negotiation, local times and durations in words (services/common/i18n.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from services.common.i18n import (
    local_time,
    localise_response,
    negotiate,
    request_language,
    switch_language_url,
    template_environment,
    time_left,
    translate,
)


def _request(path: str, headers: dict[str, str] | None = None) -> web.Request:
    return make_mocked_request("GET", path, headers=headers or {})


def test_vietnamese_is_the_default() -> None:
    assert negotiate(None, None) == "vi"
    assert request_language(_request("/")) == "vi"


def test_browser_preferring_english_still_gets_vietnamese() -> None:
    request = _request("/", {"Accept-Language": "en-US,en;q=0.9"})
    assert request_language(request) == "vi"


def test_query_parameter_chooses_the_language() -> None:
    assert request_language(_request("/?lang=en")) == "en"
    assert request_language(_request("/?lang=vi", {"Cookie": "lang=en"})) == "vi"


def test_cookie_is_honoured_when_no_query_chooses() -> None:
    assert request_language(_request("/status", {"Cookie": "lang=en"})) == "en"


def test_unknown_values_fall_back_to_vietnamese() -> None:
    assert negotiate("fr", "de") == "vi"
    assert negotiate("xx", "en") == "en"


def test_a_query_choice_is_remembered_in_a_cookie_and_the_answer_varies_on_it() -> None:
    response = web.Response(text="x", content_type="text/html")
    localise_response(_request("/status/ABCD?lang=en"), response)
    cookie = response.cookies["lang"]
    assert cookie.value == "en"
    assert cookie["path"] == "/"
    assert response.headers.getall("Vary") == ["Cookie"]
    assert response.headers["Content-Language"] == "en"


def test_no_cookie_is_set_without_a_choice() -> None:
    response = web.Response(text="x", content_type="text/html")
    localise_response(_request("/", {"Cookie": "lang=en"}), response)
    assert "lang" not in response.cookies
    assert response.headers["Content-Language"] == "en"


def test_language_link_keeps_path_and_query() -> None:
    url = switch_language_url(_request("/status?code=ABCD-EFGH-JKLM&lang=vi"), "vi")
    assert url == "/status?code=ABCD-EFGH-JKLM&lang=en"
    assert switch_language_url(_request("/status/ABCD-EFGH-JKLM"), "vi") == (
        "/status/ABCD-EFGH-JKLM?lang=en"
    )


@pytest.mark.parametrize(
    ("length", "vi", "en"),
    [
        (timedelta(days=6, hours=23), "còn 6 ngày 23 giờ", "6 days 23 hours left"),
        (-timedelta(hours=2, minutes=5), "quá hạn 2 giờ 5 phút", "2 hours 5 minutes overdue"),
        (timedelta(days=1), "còn 1 ngày", "1 day left"),
        (timedelta(minutes=1), "còn 1 phút", "1 minute left"),
        (-timedelta(days=2, hours=1), "quá hạn 2 ngày 1 giờ", "2 days 1 hour overdue"),
    ],
)
def test_time_left_in_words(length: timedelta, vi: str, en: str) -> None:
    assert time_left(length, "vi") == vi
    assert time_left(length, "en") == en


@pytest.mark.parametrize(
    ("length", "en"),
    [
        (timedelta(days=6, hours=23, minutes=40), "7 days left"),  # 23 h 40 min rounds up
        (timedelta(days=6, hours=22, minutes=29), "6 days 22 hours left"),
        (timedelta(hours=1, minutes=59, seconds=31), "2 hours left"),
        (timedelta(minutes=59, seconds=40), "1 hour left"),
        (timedelta(seconds=20), "less than a minute left"),
        (-timedelta(seconds=50), "1 minute overdue"),
    ],
)
def test_time_left_rounds_its_smaller_unit(length: timedelta, en: str) -> None:
    assert time_left(length, "en") == en


def test_local_time_is_vietnam_time_with_its_zone_across_midnight_utc() -> None:
    evening_utc = datetime(2026, 11, 29, 18, 30, tzinfo=UTC)
    assert local_time(evening_utc, "vi") == "01:30 30/11/2026 (Giờ Việt Nam, GMT+07:00)"
    assert local_time(evening_utc, "en") == "Nov 30, 2026, 01:30 (Vietnam Time, GMT+07:00)"
    assert local_time(evening_utc, "vi", zone=False) == "01:30 30/11/2026"


def test_naive_datetimes_from_the_database_are_taken_as_utc() -> None:
    assert local_time(datetime(2026, 12, 31, 17, 0), "vi", zone=False) == "00:00 01/01/2027"


def test_templates_translate_into_the_language_they_are_rendered_in() -> None:
    template = template_environment("services.intake").from_string(
        '{{ _("Look up a report") }} | {{ when|local_time(False) }} | {{ left|time_left }}'
    )
    context = {"when": datetime(2026, 1, 1, 20, 5, tzinfo=UTC), "left": timedelta(hours=3)}
    assert (
        template.render(lang="vi", **context) == "Tra cứu phản ánh | 03:05 02/01/2026 | còn 3 giờ"
    )
    assert (
        template.render(lang="en", **context)
        == "Look up a report | Jan 2, 2026, 03:05 | 3 hours left"
    )


def test_placeholders_are_filled_after_translation() -> None:
    assert translate("vi", "%(duration)s left", duration="5 phút") == "còn 5 phút"
