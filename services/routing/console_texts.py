"""Words of the agency console, Vietnamese first, English second."""

from __future__ import annotations

from services.common.labels import Language

UI: dict[str, dict[Language, str]] = {
    "title": {"vi": "Bàn xử lý vụ việc", "en": "Case console"},
    "skip": {"vi": "Bỏ qua, đến nội dung chính", "en": "Skip to main content"},
    "sign_in": {"vi": "Đăng nhập", "en": "Sign in"},
    "sign_out": {"vi": "Đăng xuất", "en": "Sign out"},
    "token": {"vi": "Mã truy cập của cơ quan", "en": "Agency access token"},
    "token_help": {
        "vi": "Mã do quản trị hệ thống cấp cho cơ quan hoặc giám sát viên.",
        "en": "The token your administrator issued to your agency or to supervisors.",
    },
    "bad_token": {"vi": "Mã truy cập không đúng.", "en": "That token is not valid."},
    "expired_form": {
        "vi": "Biểu mẫu đã hết hạn; vui lòng thử lại.",
        "en": "The form expired; please try again.",
    },
    "signed_in_as": {"vi": "Đăng nhập với tư cách", "en": "Signed in as"},
    "cases": {"vi": "Vụ việc", "en": "Cases"},
    "overview": {"vi": "Tổng quan giám sát", "en": "Supervisor overview"},
    "filters": {"vi": "Lọc", "en": "Filter"},
    "status": {"vi": "Trạng thái", "en": "Status"},
    "category": {"vi": "Loại vụ việc", "en": "Category"},
    "agency": {"vi": "Cơ quan", "en": "Agency"},
    "any": {"vi": "Tất cả", "en": "Any"},
    "overdue": {"vi": "Quá hạn", "en": "Overdue"},
    "only_overdue": {"vi": "Chỉ vụ quá hạn", "en": "Overdue only"},
    "apply": {"vi": "Áp dụng", "en": "Apply"},
    "tracking_code": {"vi": "Mã theo dõi", "en": "Tracking code"},
    "priority": {"vi": "Mức ưu tiên", "en": "Priority"},
    "deadline": {"vi": "Hạn xử lý", "en": "Deadline"},
    "received": {"vi": "Tiếp nhận", "en": "Received"},
    "no_cases": {"vi": "Không có vụ việc nào.", "en": "No cases."},
    "next_page": {"vi": "Trang sau", "en": "Next page"},
    "no_such_case": {
        "vi": "Không có vụ việc này trong phạm vi của bạn.",
        "en": "There is no such case in your scope.",
    },
    "problem": {"vi": "Không thể hiển thị trang này", "en": "This page cannot be shown"},
    "back_to_cases": {"vi": "Về danh sách vụ việc", "en": "Back to the case list"},
    "live": {
        "vi": "Danh sách tự cập nhật khi có vụ việc mới.",
        "en": "The list updates itself when a case arrives.",
    },
    "new_cases": {"vi": "Có vụ việc mới.", "en": "New cases arrived."},
    "report": {"vi": "Nội dung phản ánh", "en": "The report"},
    "content_urls": {"vi": "Đường dẫn nội dung", "en": "Content URLs"},
    "evidence": {"vi": "Bằng chứng", "en": "Evidence"},
    "links_note": {
        "vi": "Các đường dẫn chỉ hiển thị dưới dạng văn bản, không được tải về.",
        "en": "Links are shown as text and never fetched.",
    },
    "platform": {"vi": "Nền tảng", "en": "Platform"},
    "description": {"vi": "Mô tả", "en": "Description"},
    "seen_at": {"vi": "Thời điểm phát hiện", "en": "Seen at"},
    "place": {"vi": "Địa bàn", "en": "Place"},
    "reporter": {"vi": "Người phản ánh", "en": "Reporter"},
    "anonymous": {"vi": "Ẩn danh", "en": "Anonymous"},
    "contact_hidden": {
        "vi": "Thông tin liên hệ chỉ hiển thị cho cơ quan đang giữ vụ việc.",
        "en": "Contact details are shown only to the agency holding the case.",
    },
    "audit": {"vi": "Nhật ký xử lý", "en": "Audit log"},
    "time": {"vi": "Thời gian", "en": "Time"},
    "actor": {"vi": "Người thực hiện", "en": "Actor"},
    "action": {"vi": "Thao tác", "en": "Action"},
    "change": {"vi": "Thay đổi", "en": "Change"},
    "note": {"vi": "Ghi chú", "en": "Note"},
    "notes": {"vi": "Ghi chú nội bộ", "en": "Internal notes"},
    "actions": {"vi": "Xử lý", "en": "Actions"},
    "no_actions": {"vi": "Vụ việc đã đóng.", "en": "The case is closed."},
    "outcome": {"vi": "Kết quả", "en": "Outcome"},
    "reason": {"vi": "Lý do", "en": "Reason"},
    "target_agency": {"vi": "Chuyển đến cơ quan", "en": "Reassign to"},
    "done": {"vi": "Đã thực hiện", "en": "Done"},
    "back": {"vi": "Quay lại danh sách", "en": "Back to the list"},
    "triage": {"vi": "Vụ việc chờ phân loại", "en": "Triage queue"},
    "assign": {"vi": "Giao", "en": "Assign"},
    "overdue_by_level": {
        "vi": "Vụ quá hạn theo cơ quan và mức cảnh báo",
        "en": "Overdue cases by agency and escalation level",
    },
    "level": {"vi": "Mức", "en": "Level"},
    "none_yet": {"vi": "chưa cảnh báo", "en": "not yet escalated"},
    "alerts": {"vi": "Nhật ký cảnh báo", "en": "Alert log"},
    "targets": {"vi": "Người nhận", "en": "Targets"},
    "dashboard": {"vi": "Thống kê", "en": "Dashboard"},
    "period_from": {"vi": "Từ ngày", "en": "From"},
    "period_to": {"vi": "Đến ngày", "en": "To"},
    "by_category": {"vi": "Theo loại vụ việc", "en": "By category"},
    "by_agency": {"vi": "Theo cơ quan", "en": "By agency"},
    "count": {"vi": "Số vụ", "en": "Cases"},
    "median_ack": {"vi": "Thời gian tiếp nhận (trung vị)", "en": "Median time to acknowledge"},
    "median_resolve": {"vi": "Thời gian giải quyết (trung vị)", "en": "Median time to resolve"},
    "within_deadline": {
        "vi": "Tỷ lệ giải quyết đúng hạn",
        "en": "Share resolved within deadline",
    },
    "total": {"vi": "Tổng số vụ", "en": "Total cases"},
    "left": {"vi": "còn", "en": "left"},
    "late": {"vi": "quá hạn", "en": "overdue"},
    "no_deadline": {"vi": "không có hạn", "en": "no deadline"},
}

STATUS: dict[str, dict[Language, str]] = {
    "triage": {"vi": "Chờ phân loại", "en": "Triage"},
    "assigned": {"vi": "Đã giao", "en": "Assigned"},
    "acknowledged": {"vi": "Đã tiếp nhận", "en": "Acknowledged"},
    "in_progress": {"vi": "Đang xử lý", "en": "In progress"},
    "resolved": {"vi": "Đã giải quyết", "en": "Resolved"},
    "rejected": {"vi": "Từ chối", "en": "Rejected"},
}

ACTIONS: dict[str, dict[Language, str]] = {
    "acknowledge": {"vi": "Tiếp nhận", "en": "Acknowledge"},
    "start": {"vi": "Bắt đầu xử lý", "en": "Start work"},
    "resolve": {"vi": "Giải quyết xong", "en": "Resolve"},
    "reject": {"vi": "Từ chối", "en": "Reject"},
    "reassign": {"vi": "Chuyển cơ quan khác", "en": "Reassign"},
    "notes": {"vi": "Thêm ghi chú", "en": "Add a note"},
    "note": {"vi": "Thêm ghi chú", "en": "Add a note"},
    "assign": {"vi": "Giao vụ việc", "en": "Assigned"},
    "escalated": {"vi": "Cảnh báo quá hạn", "en": "Escalated"},
}

OUTCOMES: dict[str, dict[Language, str]] = {
    "removed": {"vi": "Đã gỡ bỏ nội dung", "en": "Content removed"},
    "account_restored": {"vi": "Đã khôi phục tài khoản", "en": "Account restored"},
    "no_violation": {"vi": "Không vi phạm", "en": "No violation"},
    "referred": {"vi": "Đã chuyển cơ quan chức năng", "en": "Referred"},
    "other": {"vi": "Khác", "en": "Other"},
}

PRIORITY: dict[str, dict[Language, str]] = {
    "low": {"vi": "Thấp", "en": "Low"},
    "normal": {"vi": "Bình thường", "en": "Normal"},
    "high": {"vi": "Cao", "en": "High"},
    "urgent": {"vi": "Khẩn", "en": "Urgent"},
}


def words(table: dict[str, dict[Language, str]], lang: Language) -> dict[str, str]:
    """One language's column of a table."""
    return {key: texts[lang] for key, texts in table.items()}
