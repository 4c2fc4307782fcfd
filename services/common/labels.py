"""Names shown to people, in Vietnamese and English: categories with a one-line explanation."""

from __future__ import annotations

from typing import Literal

from services.common.contracts import Category

Language = Literal["vi", "en"]

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


def category_name(category: str, lang: Language) -> str:
    """The category's short name in `lang` (the raw value if unknown)."""
    try:
        return CATEGORIES[Category(category)][lang][0]
    except ValueError:
        return category
