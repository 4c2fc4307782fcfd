"""What reporters read: category, platform, status and agency labels in Vietnamese and English."""

from __future__ import annotations

from typing import Literal

from services.common.contracts import Category, Platform, ReporterKind

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")

CATEGORIES: dict[Category, dict[Language, tuple[str, str]]] = {
    Category.HIJACKED_ACCOUNT: {
        "vi": (
            "Tài khoản bị chiếm đoạt",
            "Tài khoản mạng xã hội, e-mail hoặc ngân hàng bị người khác chiếm quyền.",
        ),
        "en": (
            "Hijacked account",
            "A social media, e-mail or bank account taken over by someone else.",
        ),
    },
    Category.IMPERSONATION: {
        "vi": ("Giả mạo", "Trang hoặc tài khoản mạo danh cán bộ, cơ quan nhà nước hoặc cá nhân."),
        "en": (
            "Impersonation",
            "A page or account pretending to be an official, an agency or a person.",
        ),
    },
    Category.SCAM_FRAUD: {
        "vi": (
            "Lừa đảo",
            "Lừa đảo chiếm đoạt tiền hoặc thông tin: trúng thưởng, đầu tư, việc làm giả.",
        ),
        "en": ("Scam or fraud", "Schemes to take money or data: fake prizes, investments or jobs."),
    },
    Category.FALSE_INFORMATION: {
        "vi": (
            "Thông tin sai sự thật",
            "Tin giả, thông tin bịa đặt hoặc xuyên tạc gây hoang mang.",
        ),
        "en": ("False information", "Fabricated or distorted news that misleads the public."),
    },
    Category.HARMFUL_CONTENT: {
        "vi": ("Nội dung độc hại", "Nội dung đồi trụy, bạo lực hoặc vi phạm pháp luật."),
        "en": ("Harmful content", "Obscene, violent or otherwise unlawful content."),
    },
    Category.CONFIDENTIAL_LEAK: {
        "vi": ("Lộ lọt tài liệu mật", "Tài liệu, thông tin bí mật nhà nước bị đăng tải công khai."),
        "en": ("Confidential leak", "Classified documents or information published online."),
    },
    Category.MEMBER_MISCONDUCT: {
        "vi": (
            "Vi phạm của đảng viên",
            "Phát ngôn, hành vi trên mạng của đảng viên trái quy định.",
        ),
        "en": (
            "Party member misconduct",
            "Online statements or conduct of a party member against the rules.",
        ),
    },
}

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
