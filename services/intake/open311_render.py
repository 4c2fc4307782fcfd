"""Open311 answers as JSON or as the spec's XML (built with xml.etree.ElementTree): the XML is
the JSON's programmatic mapping, each list item an element named after its list."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel

Format = Literal["json", "xml"]
CONTENT_TYPES: dict[Format, str] = {"json": "application/json", "xml": "text/xml"}
# The element of each item of a list, by the element holding the list.
ITEM_TAGS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
# Characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF).
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def format_of(path: str) -> Format:
    """The answer format a path asks for: XML for `.xml`, JSON otherwise."""
    return "xml" if path.endswith(".xml") else "json"


def to_json(value: Any) -> bytes:
    """JSON as the answer's body (UTF-8, non-ASCII kept as is)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")


def to_xml(root: str, value: Any) -> bytes:
    """The XML document of a JSON-ready value under `root`, after the declaration the spec
    asks for (encoding="UTF-8")."""
    return XML_DECLARATION + ET.tostring(_element(root, value), encoding="unicode").encode()


def _element(tag: str, value: Any) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, dict):
        element.extend(_element(key, item) for key, item in value.items())
    elif isinstance(value, list):
        element.extend(_element(ITEM_TAGS.get(tag, "item"), item) for item in value)
    elif value is not None:
        element.text = _text(value)
    return element


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return NOT_XML.sub("\ufffd", str(value))


def body(model: BaseModel, root: str, fmt: Format) -> bytes:
    """A model as the body of an answer in `fmt`."""
    value = model.model_dump(mode="json")
    return to_xml(root, value) if fmt == "xml" else to_json(value)


def respond(
    model: BaseModel,
    root: str,
    fmt: Format,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """The HTTP answer carrying `model` in `fmt` with its Content-Type."""
    return web.Response(
        body=body(model, root, fmt),
        status=status,
        headers=headers,
        content_type=CONTENT_TYPES[fmt],
        charset="utf-8",
    )
