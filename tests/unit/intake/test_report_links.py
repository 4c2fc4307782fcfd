"""A report's links: content URLs canonical and distinct, evidence links completed, refusals named."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from services.intake.models import ReportIn
from services.intake.texts import error_message

pytestmark = pytest.mark.unit


def _report(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "scam_fraud",
        "platform": "facebook",
        "description": "Trang giả mạo hứa trúng thưởng.",
        "anonymous": True,
        "content_urls": ["https://www.facebook.com/fake.page"],
    }
    return body | overrides


def test_links_without_scheme_are_taken_canonical_and_each_content_once() -> None:
    report = ReportIn.model_validate(
        _report(
            content_urls=[
                "m.facebook.com/Fake.Page/?fbclid=IwAR0",
                "https://www.facebook.com/fake.page",
                "youtu.be/dQw4w9WgXcQ?si=x",
            ]
        )
    )
    assert report.content_urls == [
        "https://www.facebook.com/fake.page",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    ]


def test_evidence_links_are_completed_but_kept_as_typed() -> None:
    report = ReportIn.model_validate(
        _report(evidence_links=["drive.google.com/file/d/1AbC/view?usp=sharing#x"])
    )
    assert report.evidence_links == ["https://drive.google.com/file/d/1AbC/view?usp=sharing#x"]


@pytest.mark.parametrize(
    ("field", "url", "kind", "vietnamese"),
    [
        ("content_urls", "javascript:alert(1)", "content_url_scheme", "Chỉ nhận đường dẫn"),
        ("content_urls", "not a link", "content_url_not_url", "Đường dẫn không hợp lệ"),
        ("content_urls", "https://facebook.com", "content_url_home", "trang chủ"),
        ("content_urls", "a.vn/" + "x" * 2000, "content_url_too_long", "tối đa 2000 ký tự"),
        ("evidence_links", "ftp://files.example/a.png", "content_url_scheme", "Chỉ nhận"),
    ],
)
def test_a_refused_link_names_its_field_and_item_with_a_message_in_each_language(
    field: str, url: str, kind: str, vietnamese: str
) -> None:
    urls = {"content_urls": ["facebook.com/ok.page", url]} if field == "content_urls" else {}
    body = _report(**urls) if urls else _report(evidence_links=["ok.vn/a", url])
    with pytest.raises(ValidationError) as refused:
        ReportIn.model_validate(body)
    (error,) = refused.value.errors()
    assert error["loc"] == (field, 1) and error["type"] == kind
    assert vietnamese in error_message(dict(error), "vi")
    assert error_message(dict(error), "en") != error_message(dict(error), "vi")
