"""Names shown to people, in Vietnamese and English: categories with a one-line explanation."""

from __future__ import annotations

from services.common.contracts import Category, Platform
from services.common.i18n import N_, Language, localised

__all__ = ["CATEGORIES", "PLATFORMS", "Language", "category_name", "platform_name"]

# Each category's short name and explanation (English msgids; the catalogs translate them).
CATEGORY_TEXTS: dict[Category, tuple[str, str]] = {
    Category.HIJACKED_ACCOUNT: (
        N_("Hijacked account"),
        N_("A social media, e-mail or bank account taken over by someone else."),
    ),
    Category.IMPERSONATION: (
        N_("Impersonation"),
        N_("A page or account pretending to be an official, an agency or a person."),
    ),
    Category.SCAM_FRAUD: (
        N_("Scam or fraud"),
        N_("Schemes to take money or data: fake prizes, investments or jobs."),
    ),
    Category.FALSE_INFORMATION: (
        N_("False information"),
        N_("Fabricated or distorted news that misleads the public."),
    ),
    Category.HARMFUL_CONTENT: (
        N_("Harmful content"),
        N_("Obscene, violent or otherwise unlawful content."),
    ),
    Category.CONFIDENTIAL_LEAK: (
        N_("Confidential leak"),
        N_("Classified documents or information published online."),
    ),
    Category.MEMBER_MISCONDUCT: (
        N_("Party member misconduct"),
        N_("Online statements or conduct of a party member against the rules."),
    ),
}


def _both(name: str, explanation: str) -> dict[Language, tuple[str, str]]:
    names, explanations = localised(name), localised(explanation)
    return {lang: (names[lang], explanations[lang]) for lang in names}


CATEGORIES: dict[Category, dict[Language, tuple[str, str]]] = {
    category: _both(*texts) for category, texts in CATEGORY_TEXTS.items()
}


def category_name(category: str, lang: Language) -> str:
    """The category's short name in `lang` (the raw value if unknown)."""
    try:
        return CATEGORIES[Category(category)][lang][0]
    except ValueError:
        return category


PLATFORMS: dict[Platform, dict[Language, str]] = {
    Platform.FACEBOOK: localised("Facebook"),
    Platform.ZALO: localised("Zalo"),
    Platform.TIKTOK: localised("TikTok"),
    Platform.YOUTUBE: localised("YouTube"),
    Platform.OTHER: localised("Other platform"),
}


def platform_name(platform: str, lang: Language) -> str:
    """A platform's name in `lang` (the raw value if unknown)."""
    try:
        return PLATFORMS[Platform(platform)][lang]
    except ValueError:
        return platform
