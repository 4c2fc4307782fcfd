"""The transparency report's period, reading and formats, shared by the API and the pages.

The period is `[from, to)` in whole Asia/Ho_Chi_Minh days (`to` is the first day not covered),
at most 366 days. The CSV (RFC 4180, UTF-8, CRLF line ends, a header row) has one row per
figure: `period_from,period_to,agency,province_code,category,metric,value`, where `*` in a
dimension means "all" (the totals are the row `*,*,*`), an empty province code means the report
named none, and an empty value means there is nothing to compute (a median of no case).
"""

from __future__ import annotations

import csv
import io
import logging
from datetime import date, datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from services.common import params
from services.common.mongo import Document
from services.routing.actions import SUPERVISOR
from services.routing.api import RoutingContext
from services.routing.transparency import (
    LOCAL,
    LONGEST_PERIOD,
    Period,
    ReportBuilder,
    TransparencyReport,
)
from services.routing.transparency_doc import (
    AgencyFigures,
    CategoryFigures,
    ProvinceFigures,
    ReportPeriod,
    RowFigures,
    TransparencyBody,
)
from services.routing.transparency_facts import ALL, PROJECTION, CaseFacts

log = logging.getLogger(__name__)

CSV_COLUMNS = ("period_from", "period_to", "agency", "province_code", "category", "metric", "value")
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)


class PeriodError(Exception):
    """The period's parameters are unusable; each problem names its parameter."""

    def __init__(self, problems: list[params.ParamError]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def parse_period(query: Any, default: Period, *, blank_is_default: bool = True) -> Period:
    """`from` and `to` (YYYY-MM-DD, `to` not included) of a query; `default` for missing ones
    (and for blank ones, as a page's form sends them, unless `blank_is_default` is False)."""
    problems: list[params.ParamError] = []
    raw_first, raw_end = query.get("from"), query.get("to")
    if blank_is_default:
        raw_first, raw_end = raw_first or None, raw_end or None
    first = _day(raw_first, "from", problems) or default.first
    end = _day(raw_end, "to", problems) or default.end
    if not problems and end <= first:
        problems.append(params.ParamError("to", "a day after `from` (`to` is not included)"))
    if not problems and end - first > LONGEST_PERIOD:
        problems.append(params.ParamError("to", f"at most {LONGEST_PERIOD.days} days after `from`"))
    if problems:
        raise PeriodError(problems)
    return Period(first, end)


def _day(raw: str | None, name: str, problems: list[params.ParamError]) -> date | None:
    """A YYYY-MM-DD parameter; None when absent, a problem noted when malformed (or blank)."""
    if raw is None:
        return None
    try:
        day = date.fromisoformat(raw) if len(raw) == 10 and raw.isascii() else None
    except ValueError:
        day = None
    if day is None or not EARLIEST <= day <= LATEST:
        problems.append(params.ParamError(name, "a day as YYYY-MM-DD (2000 to 2999)"))
        return None
    return day


def today(now: datetime) -> date:
    """The local day of `now`."""
    return now.astimezone(LOCAL).date()


def this_month(now: datetime) -> Period:
    """From the first of this (local) month up to and including today."""
    day = today(now)
    return Period(day.replace(day=1), day + timedelta(days=1))


async def load_report(
    ctx: RoutingContext,
    period: Period,
    agency: str | None,
    *,
    sensitive_detail: bool,
    also: tuple[Document, ...] = (),
) -> TransparencyReport:
    """The report of `period`, over one agency's cases or all of them (read as a stream), and
    only those meeting `also` (a supervisor's scope); sensitive cases broken down below their
    category only with `sensitive_detail`."""
    builder = ReportBuilder(period, ctx.clock(), sensitive_detail=sensitive_detail)
    documents = ctx.repository.touched_between(
        period.start_at, period.end_at, PROJECTION, agency=agency, also=also
    )
    async for document in documents:
        try:
            builder.add(CaseFacts.model_validate(document))
        except ValidationError as exc:
            log.warning("case left out of the transparency report", extra={"error": str(exc)})
    return builder.report()


def report_json(report: TransparencyReport, scope: str) -> dict[str, Any]:
    """The report as JSON: totals, one breakdown per dimension, and every combination."""
    body = TransparencyBody(
        period=ReportPeriod(from_=report.period.first, to=report.period.end, zone=str(LOCAL)),
        scope=scope,
        generated_at=report.generated_at,
        totals=report.totals,
        by_agency=[AgencyFigures(agency=a, figures=f) for a, f in report.breakdown("agency")],
        by_province=[
            ProvinceFigures(province_code=p or None, figures=f)
            for p, f in report.breakdown("province_code")
        ],
        by_category=[
            CategoryFigures(category=c, figures=f) for c, f in report.breakdown("category")
        ],
        rows=[
            RowFigures(agency=a, province_code=p, category=c, figures=f)
            for (a, p, c), f in sorted(report.rows.items())
            if ALL not in (a, p, c)
        ],
    )
    return body.model_dump(mode="json", by_alias=True)


def report_csv(report: TransparencyReport) -> str:
    """The report as RFC 4180 CSV: a header row, then one row per figure, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    period = (report.period.first.isoformat(), report.period.end.isoformat())
    rows = sorted(report.rows.items(), key=lambda item: (item[0] != (ALL, ALL, ALL), item[0]))
    for (agency, province, category), figures in rows:
        for metric, value in figures.items():
            writer.writerow((*period, agency, province, category, metric, _csv_value(value)))
    return out.getvalue()


def _csv_value(value: float | int | None) -> str:
    return "" if value is None else str(value)


def scope_of(principal: str) -> str | None:
    """Whose cases a principal's report covers: every agency's (None) or its own."""
    return None if principal == SUPERVISOR else principal


def download(report: TransparencyReport, scope: str, as_csv: bool) -> web.Response:
    """The report as a JSON or CSV response."""
    if not as_csv:
        return web.json_response(report_json(report, scope))
    name = f"transparency-{report.period.first}-{report.period.end}.csv"
    response = web.Response(text=report_csv(report), content_type="text/csv", charset="utf-8")
    response.headers["Content-Type"] = "text/csv; charset=utf-8; header=present"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
