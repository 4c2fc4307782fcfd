"""Words on the reporter's pages and error messages, Vietnamese first, English second."""

from __future__ import annotations

from typing import Any

from services.intake.labels import Language

UI: dict[str, dict[Language, str]] = {
    "title": {"vi": "Phản ánh nội dung xấu, độc trên mạng", "en": "Report harmful online content"},
    "intro": {
        "vi": "Gửi phản ánh về nội dung sai sự thật, lừa đảo, giả mạo, độc hại, lộ lọt tài liệu mật hoặc tài khoản bị chiếm đoạt. Chúng tôi chuyển phản ánh đến cơ quan có thẩm quyền.",
        "en": "Report false information, scams, impersonation, harmful content, leaked confidential documents or hijacked accounts. We pass your report to the competent agency.",
    },
    "category": {"vi": "Loại phản ánh", "en": "What is it about?"},
    "content_urls": {
        "vi": "Đường dẫn (URL) nội dung hoặc tài khoản",
        "en": "Link(s) to the content or account",
    },
    "content_urls_hint": {
        "vi": "Mỗi dòng một đường dẫn, tối đa 5.",
        "en": "One link per line, at most 5.",
    },
    "platform": {"vi": "Nền tảng", "en": "Platform"},
    "description": {"vi": "Mô tả", "en": "Description"},
    "description_hint": {
        "vi": "Điều gì đã xảy ra? (10–5000 ký tự)",
        "en": "What happened? (10–5000 characters)",
    },
    "seen_at": {"vi": "Thời điểm phát hiện", "en": "When you saw it"},
    "repeated_field": {
        "vi": "Trường này được gửi nhiều lần; vui lòng chỉ nhập một giá trị.",
        "en": "This field was sent more than once; please give one value.",
    },
    "seen_at_hint": {"vi": "Giờ Việt Nam (UTC+7).", "en": "Vietnam time (UTC+7)."},
    "province": {"vi": "Tỉnh/Thành phố", "en": "Province/City"},
    "district": {"vi": "Quận/Huyện", "en": "District"},
    "evidence_links": {
        "vi": "Đường dẫn bằng chứng (không bắt buộc)",
        "en": "Evidence links (optional)",
    },
    "evidence_links_hint": {
        "vi": "Mỗi dòng một đường dẫn, tối đa 10.",
        "en": "One link per line, at most 10.",
    },
    "reporter_kind": {"vi": "Bạn là", "en": "You are"},
    "anonymous": {"vi": "Gửi ẩn danh?", "en": "Report anonymously?"},
    "anonymous_yes": {
        "vi": "Có, tôi không để lại thông tin liên hệ",
        "en": "Yes, I leave no contact details",
    },
    "anonymous_no": {
        "vi": "Không, cơ quan xử lý có thể liên hệ với tôi",
        "en": "No, the agency may contact me",
    },
    "contact": {
        "vi": "Thông tin liên hệ (chỉ cơ quan xử lý được xem)",
        "en": "Contact (seen only by the agency handling it)",
    },
    "contact_name": {"vi": "Họ và tên", "en": "Name"},
    "contact_phone": {"vi": "Số điện thoại", "en": "Phone"},
    "contact_email": {"vi": "E-mail", "en": "E-mail"},
    "submit": {"vi": "Gửi phản ánh", "en": "Send report"},
    "fix_errors": {
        "vi": "Vui lòng sửa các mục được đánh dấu bên dưới.",
        "en": "Please correct the marked fields below.",
    },
    "thanks": {"vi": "Cảm ơn bạn đã gửi phản ánh", "en": "Thank you for your report"},
    "your_code": {"vi": "Mã theo dõi của bạn", "en": "Your tracking code"},
    "keep_code": {
        "vi": "Hãy lưu lại mã này. Bạn có thể tra cứu tình trạng xử lý bất cứ lúc nào tại:",
        "en": "Keep this code. You can look up the progress at any time at:",
    },
    "lookup": {"vi": "Tra cứu phản ánh", "en": "Look up a report"},
    "lookup_code": {"vi": "Mã theo dõi", "en": "Tracking code"},
    "lookup_button": {"vi": "Tra cứu", "en": "Look up"},
    "not_found": {
        "vi": "Không tìm thấy phản ánh với mã này.",
        "en": "No report has this tracking code.",
    },
    "status": {"vi": "Tình trạng", "en": "Status"},
    "agency": {"vi": "Cơ quan xử lý", "en": "Handled by"},
    "submitted_at": {"vi": "Ngày gửi", "en": "Submitted"},
    "updated_at": {"vi": "Cập nhật lần cuối", "en": "Last change"},
    "history": {"vi": "Quá trình xử lý", "en": "History"},
    "new_report": {"vi": "Gửi phản ánh mới", "en": "Send another report"},
    "other_language": {"vi": "English", "en": "Tiếng Việt"},
    "csrf": {
        "vi": "Phiên làm việc đã hết hạn. Vui lòng gửi lại biểu mẫu.",
        "en": "Your session expired. Please send the form again.",
    },
    "required": {"vi": "bắt buộc", "en": "required"},
}

ERRORS: dict[str, dict[Language, str]] = {
    "missing": {"vi": "Vui lòng điền mục này.", "en": "This field is required."},
    "url": {
        "vi": "Đường dẫn không hợp lệ (phải bắt đầu bằng http:// hoặc https://).",
        "en": "Not a valid link (it must start with http:// or https://).",
    },
    "string_too_short": {
        "vi": "Quá ngắn: cần ít nhất {min_length} ký tự.",
        "en": "Too short: at least {min_length} characters.",
    },
    "string_too_long": {
        "vi": "Quá dài: tối đa {max_length} ký tự.",
        "en": "Too long: at most {max_length} characters.",
    },
    "too_long": {
        "vi": "Quá nhiều mục: tối đa {max_length}.",
        "en": "Too many entries: at most {max_length}.",
    },
    "too_short": {
        "vi": "Cần ít nhất {min_length} mục.",
        "en": "At least {min_length} entry needed.",
    },
    "enum": {
        "vi": "Vui lòng chọn một mục trong danh sách.",
        "en": "Please choose one of the options.",
    },
    "string_pattern_mismatch": {
        "vi": "Số điện thoại không hợp lệ.",
        "en": "Not a valid phone number.",
    },
    "email": {"vi": "Địa chỉ e-mail không hợp lệ.", "en": "Not a valid e-mail address."},
    "datetime": {"vi": "Thời điểm không hợp lệ.", "en": "Not a valid date and time."},
    "seen_at_range": {
        "vi": "Thời điểm phát hiện phải sau năm {earliest}.",
        "en": "The time seen must be after {earliest}.",
    },
    "seen_at_future": {
        "vi": "Thời điểm phát hiện không thể ở tương lai.",
        "en": "The time seen cannot be in the future.",
    },
    "contact_required": {
        "vi": "Nếu không ẩn danh, vui lòng để lại số điện thoại hoặc e-mail.",
        "en": "If you are not anonymous, please leave a phone number or an e-mail.",
    },
    "contact_not_allowed": {
        "vi": "Phản ánh ẩn danh không kèm thông tin liên hệ: hãy xóa các mục liên hệ hoặc chọn không ẩn danh.",
        "en": "An anonymous report has no contact details: clear them or choose not anonymous.",
    },
}


def error_message(error: dict[str, Any], lang: Language) -> str:
    """A reporter-friendly message for one pydantic error."""
    kind = error["type"]
    if kind.startswith("url"):
        kind = "url"
    elif kind.startswith("datetime") or kind.startswith("timezone"):
        kind = "datetime"
    elif kind == "value_error" and "email" in str(error.get("msg", "")).lower():
        kind = "email"
    template = ERRORS.get(kind, {}).get(lang)
    if template is None:
        return str(error["msg"])
    return template.format(**(error.get("ctx") or {}))
