"""The evidence parts of intake's OpenAPI document: multipart reports and the signed download."""

from __future__ import annotations

from typing import Any

from services.common.openapi import Operation
from services.common.signedlinks import MAX_LINK_SECONDS
from services.intake.evidence import FIELD, MAX_FILE_BYTES, MAX_FILES, PILLOW_FORMATS
from services.intake.evidence_views import REPORT_PART

CREATE_REPORT = "createReport"
FILE_TYPES = [*PILLOW_FORMATS.values(), "application/pdf"]
ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}
MULTIPART_REPORT: dict[str, Any] = {
    "schema": {
        "type": "object",
        "required": [REPORT_PART],
        "additionalProperties": False,
        "properties": {
            REPORT_PART: {"$ref": "#/components/schemas/ReportIn"},
            FIELD: {
                "type": "array",
                "maxItems": MAX_FILES,
                "description": "JPEG, PNG or WebP images or PDFs, judged by their content; "
                f"at most {MAX_FILE_BYTES} bytes each. Images are stored re-encoded without "
                "metadata (EXIF and GPS, XMP, comments), PDFs as received.",
                "items": {"type": "string", "format": "binary", "maxLength": MAX_FILE_BYTES},
            },
        },
    },
    "encoding": {
        REPORT_PART: {"contentType": "application/json"},
        FIELD: {"contentType": ", ".join(FILE_TYPES)},
    },
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": True,
        "schema": schema,
        "description": description,
    }


EVIDENCE_OPERATION = Operation(
    "GET",
    "/evidence/{file_id}",
    "An evidence file, through a short-lived link routing signed for the agency holding the case",
    {
        200: ("The file, with its stored Content-Type", None),
        403: ("The link is not valid, has expired, or no longer matches the case and agency", None),
    },
    "getEvidenceFile",
    parameters=[
        {"name": "file_id", "in": "path", "required": True, "schema": ID},
        _query("case", ID, "The case the link was signed for."),
        _query("agency", ID, "The agency the link was signed for."),
        _query(
            "expires",
            {"type": "string", "pattern": "^[0-9]{1,12}$"},
            f"Unix seconds; a link lives at most {MAX_LINK_SECONDS} seconds.",
        ),
        _query("sig", {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"}, "HMAC-SHA256."),
    ],
    tags=("evidence",),
)


def add_evidence_media(document: dict[str, Any]) -> dict[str, Any]:
    """The multipart form of createReport, and the download's real media types."""
    for item in document["paths"].values():
        for operation in item.values():
            if operation.get("operationId") == CREATE_REPORT:
                operation["requestBody"]["content"]["multipart/form-data"] = MULTIPART_REPORT
            if operation.get("operationId") == EVIDENCE_OPERATION.operation_id:
                files = {t: {"schema": {"type": "string", "format": "binary"}} for t in FILE_TYPES}
                operation["responses"]["200"]["content"] = files
    return document
