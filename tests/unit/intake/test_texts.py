"""Reporter-facing words: error messages and labels come from the catalogs in both languages."""

from __future__ import annotations

from services.intake.labels import agency_label, outcome_label, platform_label, status_label
from services.intake.texts import error_message, texts


def test_error_messages_are_translated_with_their_limits_filled_in() -> None:
    error = {"type": "string_too_short", "msg": "String should have...", "ctx": {"min_length": 10}}
    assert error_message(error, "vi") == "Quá ngắn: cần ít nhất 10 ký tự."
    assert error_message(error, "en") == "Too short: at least 10 characters."


def test_place_errors_keep_the_message_built_in_each_language() -> None:
    context = {"message_vi": "Không tìm thấy tỉnh", "message_en": "No such province"}
    error = {"type": "place_unknown", "msg": "x", "ctx": context}
    assert error_message(error, "vi") == "Không tìm thấy tỉnh"
    assert error_message(error, "en") == "No such province"


def test_unknown_error_types_fall_back_to_pydantic_message() -> None:
    assert error_message({"type": "something_new", "msg": "Raw message"}, "vi") == "Raw message"


def test_statuses_platforms_and_outcomes_are_words_never_codes() -> None:
    assert status_label("assigned", "vi") == "Đã chuyển cơ quan xử lý"
    assert status_label("under_review", "en") == "Being reviewed"
    assert platform_label("other", "vi") == "Nền tảng khác"
    assert outcome_label("no_violation", "vi") == "Không phát hiện vi phạm"
    assert outcome_label(None, "vi") is None


def test_form_texts_exist_in_both_languages() -> None:
    assert texts("vi")["submit"] == "Gửi phản ánh"
    assert texts("en")["submit"] == "Send report"


def test_a_case_in_triage_names_no_agency_id() -> None:
    assert agency_label("triage", "vi") == "Chưa giao cơ quan xử lý"
    assert agency_label("police", "en") == "Police (cyber security unit)"
