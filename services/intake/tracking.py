"""Tracking codes as people type them: any case, spaces, dots or no dashes, full-width digits."""

from __future__ import annotations

import re
import unicodedata

CODE_LENGTH = 12
GROUP = 4
# Codes are letters and digits (new ones avoid look-alikes, see repository.TRACKING_ALPHABET).
CODE_CHARS = re.compile(r"^[A-Z0-9]{12}$")
# What people put between the groups: spaces (also non-breaking), dashes of any kind, dots.
SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212._/]+")


def normalise_tracking_code(text: str | None) -> str | None:
    """`text` as a stored tracking code (`K7QX-3MPA-WZ9D`), or None when it cannot be one."""
    if not text or len(text) > 64:
        return None
    compact = SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()
    if not CODE_CHARS.match(compact):
        return None
    return "-".join(compact[i : i + GROUP] for i in range(0, CODE_LENGTH, GROUP))
