"""The citizen form's fields: form to API body, errors to fields, the place selects, the
submission token that makes a repeated POST of one form return its first report."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from multidict import MultiDictProxy
from pydantic import ValidationError

from services.common import geography
from services.common.geography import Commune, PlaceError, Province
from services.intake.labels import Language
from services.intake.texts import error_message

VIETNAM_OFFSET = "+07:00"
# What the privacy notice promises (DESIGN "Personal data": contact erased 180 days after close).
CONTACT_KEPT_DAYS = 180
FORM_TOKEN = "form_token"
FORM_TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
# Form fields that hold one value; a form sending one twice is refused rather than guessed at.
SINGLE_VALUED = (
    "category",
    "platform",
    "description",
    "seen_at",
    "province",
    "commune",
    "reporter_kind",
    "anonymous",
    "contact_name",
    "contact_phone",
    "contact_email",
    "content_urls",
    "evidence_links",
    FORM_TOKEN,
    "action",
)
# Fields never echoed back into a re-rendered page.
NOT_ECHOED = frozenset({"csrf_token", "action"})


def new_form_token() -> str:
    """A fresh submission token for one filled-in form (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def submission_key(token: str) -> str | None:
    """The idempotency key of a form submission, or None when the form carried no usable token."""
    return f"form:{token}" if FORM_TOKEN_PATTERN.match(token) else None


def form_values(form: MultiDictProxy[Any]) -> dict[str, str]:
    """The text fields to echo back into a re-rendered form (files and secrets left out)."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k not in NOT_ECHOED}


def text(form: MultiDictProxy[Any], name: str) -> str:
    """A field's value without surrounding spaces ('' when absent or a file)."""
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def form_data(form: MultiDictProxy[Any], lang: Language) -> dict[str, Any]:
    """Form fields as an API body: empty fields left out (so they are 'missing'), lists split."""
    data: dict[str, Any] = {"language": lang}
    for name in ("category", "platform", "description", "province", "commune", "reporter_kind"):
        if value := text(form, name):
            data[name] = value
    for name in ("content_urls", "evidence_links"):
        if items := _lines(text(form, name)):
            data[name] = items
    if seen_at := text(form, "seen_at"):
        data["seen_at"] = seen_at + (VIETNAM_OFFSET if len(seen_at) == 16 else "")
    if (anonymous := text(form, "anonymous")) in ("yes", "no"):
        data["anonymous"] = anonymous == "yes"
    contact = {k: v for k in ("name", "phone", "email") if (v := text(form, f"contact_{k}"))}
    if contact:
        data["contact"] = contact
    return data


def form_errors(exc: ValidationError, lang: Language) -> dict[str, list[str]]:
    """Each error under the form field it belongs to (a contact sub-field, or the contact group)."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        field = "anonymous" if not loc else str(loc[0])
        if field == "contact" and len(loc) > 1:
            field = f"contact_{loc[1]}"
        message = error_message(dict(error), lang)
        if len(loc) > 1 and isinstance(loc[1], int):
            message = f"#{loc[1] + 1}: {message}"
        errors.setdefault(field, []).append(message)
    return errors


@dataclass(frozen=True)
class PlaceChoices:
    """The province and commune selects: every province, the chosen one's communes."""

    provinces: list[Province]
    province: str  # the selected province's code, or ''
    communes: list[Commune]
    commune: str  # the selected commune's code, or ''


def place_choices(values: dict[str, str]) -> PlaceChoices:
    """The selects for the values a form was sent with (codes or names; unknown ones unselected)."""
    province = _province_code(values.get("province", ""))
    communes = geography.communes(province) if province else []
    chosen = values.get("commune", "").strip()
    commune = next((c.code for c in communes if chosen in (c.code, c.name)), "")
    return PlaceChoices(geography.provinces(), province, communes, commune)


def _province_code(value: str) -> str:
    if geography.is_blank(value):
        return ""
    try:
        return geography.resolve_province(value)[0].code
    except PlaceError:
        return ""
