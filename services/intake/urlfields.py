"""The link fields of a report: content URLs kept canonical, evidence links completed."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from services.common.content import MAX_URL_LENGTH, URL_PATTERN, ContentUrlError, canonicalize
from services.common.weburl import complete_url

# What both link fields accept, as the OpenAPI documents publish it.
LINK_SCHEMA: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_URL_LENGTH,
    "pattern": URL_PATTERN,
    "description": (
        "An http(s) link; without a scheme (facebook.com/name) it is completed with https. "
        "Host names typed in Unicode are accepted too. At most "
        f"{MAX_URL_LENGTH} characters as sent."
    ),
}
CONTENT_URL_SCHEMA: dict[str, Any] = LINK_SCHEMA | {
    "description": LINK_SCHEMA["description"]
    + " Stored and announced in canonical form (https, no tracking parameters, one form per "
    "platform id), e.g. m.facebook.com/Name?fbclid=... becomes https://www.facebook.com/name. "
    "A platform's home page alone (facebook.com) is refused: it is not content.",
}


def refused(error: ContentUrlError) -> PydanticCustomError:
    """The validation error for a refused link; its type names the reason (`content_url_*`)."""
    context = {"max_length": MAX_URL_LENGTH} if error.reason == "too_long" else None
    return PydanticCustomError(f"content_url_{error.reason}", str(error), context)


def _canonical_content_url(raw: str) -> str:
    try:
        return canonicalize(raw).url
    except ContentUrlError as error:
        raise refused(error) from None


def _completed_link(raw: str) -> str:
    try:
        return complete_url(raw)
    except ContentUrlError as error:
        raise refused(error) from None


def _distinct(urls: list[str]) -> list[str]:
    """Each canonical URL once, in the order given (two forms of one link are one link)."""
    return list(dict.fromkeys(urls))


ContentUrl = Annotated[
    str, AfterValidator(_canonical_content_url), WithJsonSchema(CONTENT_URL_SCHEMA)
]
ContentUrls = Annotated[list[ContentUrl], AfterValidator(_distinct)]
EvidenceLink = Annotated[str, AfterValidator(_completed_link), WithJsonSchema(LINK_SCHEMA)]
