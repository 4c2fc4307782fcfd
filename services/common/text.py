"""Free text: the length bounds apply to the text as sent, whitespace is trimmed after.

pydantic's `strip_whitespace` trims before it measures, so a text longer than the published
`maxLength` was accepted when its excess was whitespace: the schema and the service disagreed.
Declare the bounds first and trim after them, e.g. `Annotated[str,
StringConstraints(min_length=1, max_length=N), TrimmedNotBlank]`; a minimum is checked again
once trimmed, with pydantic's own error type, so a text of spaces is still too short.
"""

from __future__ import annotations

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

# Unicode's White_Space, what pydantic's `strip_whitespace` removes and what the published
# patterns call space; `str.strip()` would also remove the separators U+001C-U+001F.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def _trimmed(text: str) -> str:
    return text.strip(WHITE_SPACE)


def trimmed_at_least(min_length: int) -> AfterValidator:
    """Trim, then refuse what is shorter than `min_length` (as `string_too_short`)."""

    def check(text: str) -> str:
        stripped = text.strip(WHITE_SPACE)
        if len(stripped) < min_length:
            raise PydanticCustomError(
                "string_too_short",
                "String should have at least {min_length} characters",
                {"min_length": min_length},
            )
        return stripped

    return AfterValidator(check)


# Leading and trailing whitespace removed.
Trimmed = AfterValidator(_trimmed)
# The same, and a text of whitespace only refused.
TrimmedNotBlank = trimmed_at_least(1)
