"""What reporters read: category, platform, status and agency labels in Vietnamese and English."""

from __future__ import annotations

from services.common.contracts import Category, Platform, ReporterKind
from services.common.labels import CATEGORIES, Language

LANGUAGES: tuple[Language, ...] = ("vi", "en")


PLATFORMS: dict[Platform, str] = {
    Platform.FACEBOOK: "Facebook",
    Platform.ZALO: "Zalo",
    Platform.TIKTOK: "TikTok",
    Platform.YOUTUBE: "YouTube",
    Platform.OTHER: "Khác / Other",
}

REPORTER_KINDS: dict[ReporterKind, dict[Language, str]] = {
    ReporterKind.CITIZEN: {"vi": "Người dân", "en": "Citizen"},
    ReporterKind.OFFICIAL: {"vi": "Cán bộ, công chức", "en": "Official"},
}

STATUSES: dict[str, dict[Language, str]] = {
    "received": {"vi": "Đã tiếp nhận", "en": "Received"},
    "under_review": {"vi": "Đang phân loại", "en": "Being reviewed"},
    "assigned": {"vi": "Đã chuyển cơ quan xử lý", "en": "Assigned to an agency"},
    "acknowledged": {"vi": "Cơ quan đã tiếp nhận", "en": "Acknowledged by the agency"},
    "in_progress": {"vi": "Đang xử lý", "en": "In progress"},
    "resolved": {"vi": "Đã xử lý xong", "en": "Resolved"},
    "rejected": {"vi": "Không xử lý", "en": "Closed without action"},
}

AGENCIES: dict[str, dict[Language, str]] = {
    "police": {"vi": "Công an (An ninh mạng)", "en": "Police (cyber security unit)"},
    "culture_office": {"vi": "Sở Văn hóa và Thông tin", "en": "Culture and information office"},
    "party_committee": {"vi": "Ủy ban Kiểm tra Đảng ủy", "en": "Party committee"},
}


def category_label(category: Category, lang: Language) -> str:
    """The short name of a category."""
    return CATEGORIES[category][lang][0]


def agency_label(agency: str | None, lang: Language) -> str | None:
    """An agency's display name (its id when it is not one we know)."""
    if agency is None:
        return None
    return AGENCIES.get(agency, {}).get(lang, agency)


def status_label(status: str, lang: Language) -> str:
    """A reporter-visible status in words."""
    return STATUSES.get(status, {}).get(lang, status)
