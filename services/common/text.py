"""Free text: the length bound applies to the text as sent, whitespace is trimmed after.

pydantic's `strip_whitespace` trims before it measures, so a text longer than the published
`maxLength` was accepted when its excess was whitespace: the schema and the service disagreed.
These validators run after the bound instead (`Annotated[str, StringConstraints(max_length=N),
Trimmed]`).
"""

from __future__ import annotations

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError


def _trimmed(text: str) -> str:
    return text.strip()


def _trimmed_not_blank(text: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise PydanticCustomError("blank", "must not be blank")
    return stripped


# Leading and trailing whitespace removed.
Trimmed = AfterValidator(_trimmed)
# The same, and a text of whitespace only refused.
TrimmedNotBlank = AfterValidator(_trimmed_not_blank)
