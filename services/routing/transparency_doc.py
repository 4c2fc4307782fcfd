"""The transparency report's HTTP shape: the JSON response model and its OpenAPI operation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.common.openapi import Operation

Figures = dict[str, float | int | None]
PATH = "/api/v1/transparency"
DESCRIPTION = (
    "Figures of a period `[from, to)` in whole Asia/Ho_Chi_Minh days (`to` is the first day "
    "not covered; at most 366 days; default: this month so far). Every figure counts what "
    "happened in the period, whenever the case was opened: `reports_received`, `reporters` "
    "(distinct, of those reports), `cases` (opened), `acknowledged`, `decisions` and "
    "`decisions.<outcome>`, `first_decisions`, `median_acknowledge_s` and `median_decide_s` "
    "(from the case's opening), `internal.<early|on_time|late|no_deadline>` and "
    "`legal.<…>` with `…_share` (of the decisions that had a deadline on that clock: early = "
    "taken on a local day before the deadline's, on time = on its day and not after it, late = "
    "after it; each decision against the deadline in force when it was taken), `appeals` "
    "(lodged), `appeals_reviewed`, `appeals_upheld`, `appeals_reversed`, and of the takedown "
    "requests sent in the period `takedowns.requests`, `takedowns.<awaiting|done|partial|"
    "refused|no_answer>`, `takedowns.due` (answered, or past the legal deadline), "
    "`takedowns.complied` (answered — done, partial or refused with a reason — by the legal "
    "deadline), `takedowns.compliance_share`, `takedowns.median_answer_s`, "
    "`takedowns.median_takedown_s` (sent to done), and per platform "
    "`platform.<id>.<requests|due|complied|compliance_share|median_answer_s>`. Shares are 0 to "
    "1; times in seconds; null when there is nothing to compute.\n\n"
    "A supervisor gets every agency's cases; an agency its own only. `format=csv` answers RFC "
    "4180 CSV (UTF-8, CRLF, a header row) with one row per figure: "
    "`period_from,period_to,agency,province_code,category,metric,value`, `*` in a dimension "
    "meaning all of it (the totals are `*,*,*`), an empty province code a report that named "
    "none, an empty value nothing to compute. The public page `/transparency` (and "
    "`/transparency.json`) publishes national figures of whole months with counts under 5 "
    "suppressed."
)


def _named_from(schema: dict[str, Any]) -> None:
    """The schema names `from_` as the answer does: `from` (a keyword in Python)."""
    properties = schema.get("properties", {})
    if "from_" in properties:
        properties["from"] = properties.pop("from_")
        schema["required"] = ["from" if r == "from_" else r for r in schema.get("required", [])]


class ReportPeriod(BaseModel):
    """The days the report covers."""

    model_config = ConfigDict(
        populate_by_name=True, serialize_by_alias=True, json_schema_extra=_named_from
    )

    from_: date = Field(alias="from", description="The first day covered.")
    to: date = Field(description="The first day NOT covered.")
    to_included: bool = False
    zone: str = "Asia/Ho_Chi_Minh"


class AgencyFigures(BaseModel):
    """The figures of one agency's cases."""

    agency: str
    figures: Figures


class ProvinceFigures(BaseModel):
    """The figures of the cases whose first report named one province (null: none)."""

    province_code: str | None
    figures: Figures


class CategoryFigures(BaseModel):
    """The figures of one category's cases."""

    category: str
    figures: Figures


class RowFigures(BaseModel):
    """The figures of one (agency, province, category) combination."""

    agency: str
    province_code: str = Field(description='"" when the report named no province.')
    category: str
    figures: Figures


class TransparencyBody(BaseModel):
    """The transparency report of a period."""

    period: ReportPeriod
    scope: str = Field(description='"all", or the agency whose cases these are.')
    generated_at: datetime
    totals: Figures
    by_agency: list[AgencyFigures]
    by_province: list[ProvinceFigures]
    by_category: list[CategoryFigures]
    rows: list[RowFigures]


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def transparency_operation(database_down: tuple[str, type[BaseModel] | None]) -> Operation:
    """GET /api/v1/transparency, documented."""
    day = {"type": "string", "format": "date", "pattern": "^2[0-9]{3}-[0-9]{2}-[0-9]{2}$"}
    return Operation(
        "GET",
        PATH,
        "The transparency report of a period, as JSON or CSV",
        {
            200: ("The report", TransparencyBody),
            403: ("The API key lacks cases:read (named in `missing_scope`)", None),
            422: ("A bad `from`, `to` or `format`, each named", None),
            503: database_down,
        },
        "getTransparencyReport",
        parameters=[
            _query("from", "The first day (YYYY-MM-DD, Asia/Ho_Chi_Minh)", day),
            _query("to", "The first day not covered (YYYY-MM-DD)", day),
            _query("format", "json (default) or csv", {"enum": ["json", "csv"]}),
        ],
        secured=True,
        tags=("transparency",),
    )


def document_transparency(document: dict[str, Any]) -> None:
    """Add the operation's description and its CSV answer to a built OpenAPI document."""
    operation = document["paths"][PATH]["get"]
    operation["description"] = DESCRIPTION
    operation["responses"]["200"]["content"]["text/csv"] = {
        "schema": {"type": "string", "description": "RFC 4180 CSV, one row per figure"}
    }
