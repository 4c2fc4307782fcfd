"""Phone numbers in E.164 by the `phonenumbers` package (Vietnamese numbers by default)."""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "VN"


def e164(text: str, region: str = DEFAULT_REGION) -> str | None:
    """`text` as an E.164 number (0912 345 678 → +84912345678), or None when not a valid one;
    a number without + or a leading 0 is also tried as international (84912345678)."""
    candidates = [text] if text.lstrip().startswith("+") else [text, "+" + text.strip()]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None
