"""`incidents-admin export cases`: routing's cases as CSV or XLSX, streamed, no contact data.

One column set, the same in both formats (`COLUMNS`): the case, its assignment and clocks, and
the report's category, platform and place, never the reporter's name, phone or e-mail (the
query does not even read them) and no free text (the report's description, notes), which may
name people. Times are in Asia/Ho_Chi_Minh: ISO 8601 with `+07:00` in CSV, real date-times in XLSX.
Rows are written as the database cursor yields them (CSV as they come; XLSX through openpyxl's
write-only mode), so memory does not grow with the number of cases. The file appears under its
name only once complete. A text cell that a spreadsheet would run as a formula (starting with
`=`, `+`, `-`, `@`) is written as text: prefixed with `'` in CSV, typed as a string in XLSX.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any, Protocol
from zoneinfo import ZoneInfo

# openpyxl ships no type hints (types-openpyxl is not a dependency).
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell as SheetCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from pydantic import ValidationError
from pymongo import ASCENDING
from pymongo.errors import PyMongoError

from services.admin.databases import mongo_error_summary, routing_database
from services.common.clock import utcnow
from services.common.contracts import CaseStatus
from services.common.geography import province_code_of
from services.common.mongo import Document, MongoDatabase
from services.routing.case import Case
from services.routing.escalations import EscalationLog

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
PROGRESS_EVERY = 5000
BATCH = 1000
# Never read: the reporter's contact, and what the export leaves out anyway.
PROJECTION = {
    "report.contact_sealed": 0,
    "reports.contact_sealed": 0,
    "report.contact": 0,
    "reports.contact": 0,
    "notes": 0,
    "outbox": 0,
}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"

Cell = str | int | bool | datetime | None


@dataclass(frozen=True)
class Column:
    """One exported column: its header, XLSX width, and its value for a case."""

    header: str
    width: int
    value: Callable[[Case, datetime], Cell]


def _local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(LOCAL) if moment is not None else None


COLUMNS: tuple[Column, ...] = (
    Column("case_id", 26, lambda c, _: c.case_id),
    Column("tracking_code", 16, lambda c, _: c.tracking_code),
    Column("agency", 16, lambda c, _: c.agency),
    Column("category", 18, lambda c, _: c.category.value),
    Column("priority", 9, lambda c, _: c.priority.value),
    Column("status", 13, lambda c, _: c.status.value),
    Column("overdue", 8, lambda c, now: c.is_overdue(now)),
    Column("escalation_level", 9, lambda c, _: c.escalation_level),
    Column("created_at", 20, lambda c, _: _local(c.created_at)),
    Column("reported_at", 20, lambda c, _: _local(c.reported_at)),
    Column("due_at", 20, lambda c, _: _local(c.due_at)),
    Column("acknowledged_at", 20, lambda c, _: _local(c.acknowledged_at)),
    Column("closed_at", 20, lambda c, _: _local(c.closed_at)),
    Column("outcome", 16, lambda c, _: c.outcome),
    Column("platform", 10, lambda c, _: c.report.platform.value),
    Column("province", 18, lambda c, _: c.report.province),
    Column(
        "province_code",
        8,
        lambda c, _: province_code_of(c.report.province_code, c.report.province),
    ),
    Column("commune", 22, lambda c, _: c.report.commune),
    Column("commune_code", 8, lambda c, _: c.report.commune_code),
    Column("district", 18, lambda c, _: c.report.district),
    Column("reporter_kind", 10, lambda c, _: c.report.reporter_kind.value),
    Column("anonymous", 10, lambda c, _: c.report.anonymous),
    Column("content_urls", 50, lambda c, _: " ".join(c.report.content_urls)),
    Column("policy_version", 14, lambda c, _: c.policy_version),
    Column("rule_id", 20, lambda c, _: c.rule_id),
)
HEADERS = [column.header for column in COLUMNS]


def case_row(case: Case, now: datetime) -> list[Cell]:
    """The exported values of one case, in `COLUMNS` order."""
    return [column.value(case, now) for column in COLUMNS]


def is_formula_like(value: Cell) -> bool:
    """Whether a spreadsheet would take this text for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_text(value: Cell) -> str:
    """A value as CSV text: ISO 8601 times, yes/no, formula-like text made inert."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    text = str(value)
    return "'" + text if is_formula_like(text) else text


class Sink(Protocol):
    """Where rows go."""

    def write(self, row: Sequence[Cell]) -> None:
        """Write one row."""

    def close(self) -> None:
        """Finish the file."""


class CsvSink:
    """RFC 4180: comma-separated, CRLF line ends, quoted where needed; UTF-8, BOM on demand."""

    def __init__(self, path: Path, *, bom: bool) -> None:
        self.file: IO[str] = path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="")
        self.writer = csv.writer(self.file, lineterminator="\r\n")
        self.writer.writerow(HEADERS)

    def write(self, row: Sequence[Cell]) -> None:
        """One CSV record."""
        self.writer.writerow([csv_text(value) for value in row])

    def close(self) -> None:
        """Flush and close."""
        self.file.close()


class XlsxSink:
    """One sheet, `Cases`, in openpyxl's write-only mode: bold frozen header, widths, dates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.workbook = Workbook(write_only=True)
        self.sheet: WriteOnlyWorksheet = self.workbook.create_sheet("Cases")
        self.sheet.freeze_panes = "A2"
        for index, column in enumerate(COLUMNS, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = column.width
        bold = Font(bold=True)
        self.sheet.append([self._cell(header, font=bold) for header in HEADERS])

    def _cell(self, value: Cell, *, font: Font | None = None) -> SheetCell:
        if isinstance(value, datetime):
            value = value.astimezone(LOCAL).replace(tzinfo=None)  # Excel has no time zones
        cell = WriteOnlyCell(self.sheet, value=value)
        if is_formula_like(value):
            cell.data_type = "s"  # text, never run as a formula
        if isinstance(value, datetime):
            cell.number_format = DATE_FORMAT
        if font is not None:
            cell.font = font
        return cell

    def write(self, row: Sequence[Cell]) -> None:
        """One row."""
        self.sheet.append([self._cell(value) for value in row])

    def close(self) -> None:
        """Write the workbook out."""
        self.workbook.save(self.path)


@dataclass(frozen=True)
class CaseFilter:
    """Which cases to export; times bound `created_at` (from inclusive, to exclusive)."""

    agency: str | None = None
    status: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None

    def query(self) -> Document:
        """The MongoDB filter."""
        query: Document = {}
        if self.agency:
            query["agency"] = self.agency
        if self.status:
            query["status"] = self.status
        created = {
            op: bound
            for op, bound in (("$gte", self.created_from), ("$lt", self.created_to))
            if bound is not None
        }
        if created:
            query["created_at"] = created
        return query


def parse_bound(text: str, *, end: bool) -> datetime:
    """A date (a whole day in Asia/Ho_Chi_Minh; `end` takes the day after it) or an ISO 8601
    time with a zone."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        if len(text) == 10:
            start = datetime.combine(day, time(), tzinfo=LOCAL)
            return (start + timedelta(days=1) if end else start).astimezone(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r}: a date (2026-11-30) or a time with a zone (2026-11-30T08:00:00+07:00)"
        )
    return moment.astimezone(UTC)


async def stored_cases(db: MongoDatabase, cases: CaseFilter) -> AsyncIterator[Case | Document]:
    """The cases, oldest first, with their escalations, read `BATCH` at a time; a document that
    does not read as a case is yielded as it is, for the caller to report."""
    escalations = EscalationLog(db)
    cursor = db.cases.find(cases.query(), PROJECTION, batch_size=BATCH)
    batch: list[Case | Document] = []
    async for document in cursor.sort([("created_at", ASCENDING), ("_id", ASCENDING)]):
        try:
            batch.append(Case.from_document(document))
        except ValidationError:
            batch.append(document)
        if len(batch) == BATCH:
            for case in await _with_escalations(escalations, batch):
                yield case
            batch = []
    for case in await _with_escalations(escalations, batch):
        yield case


async def _with_escalations(
    escalations: EscalationLog, batch: list[Case | Document]
) -> list[Case | Document]:
    """The batch in its order, each case with its escalations (one look-up)."""
    merged = iter(await escalations.with_escalations([c for c in batch if isinstance(c, Case)]))
    return [next(merged) if isinstance(c, Case) else c for c in batch]


async def export(db: MongoDatabase, cases: CaseFilter, sink: Sink, *, now: datetime) -> int:
    """Write every matching case to `sink`; the number written. Progress goes to stderr."""
    total = await db.cases.count_documents(cases.query())
    if total >= PROGRESS_EVERY:
        print(f"exporting {total} cases", file=sys.stderr)
    written = skipped = 0
    async for case in stored_cases(db, cases):
        if not isinstance(case, Case):
            skipped += 1
            print(f"skipped case {case.get('_id')}: stored incomplete", file=sys.stderr)
            continue
        sink.write(case_row(case, now))
        written += 1
        if written % PROGRESS_EVERY == 0:
            print(f"  {written} of about {total} cases", file=sys.stderr)
    return written


def register(commands: Any) -> None:
    """Add `export cases`."""
    exporting = commands.add_parser("export", help="export data: cases as CSV or XLSX")
    what = exporting.add_subparsers(dest="export_what", metavar="WHAT", required=True)
    cases = what.add_parser(
        "cases",
        help="routing's cases (no contact data)",
        description="Export routing's cases, oldest first. Columns: " + ", ".join(HEADERS),
    )
    cases.add_argument("--format", choices=("csv", "xlsx"), required=True)
    cases.add_argument("-o", "--output", type=Path, required=True, help="the file to write")
    cases.add_argument("--agency", help="only this agency's cases")
    cases.add_argument("--status", choices=[s.value for s in CaseStatus])
    cases.add_argument(
        "--from", dest="created_from", type=lambda t: parse_bound(t, end=False),
        help="created on or after this date (Asia/Ho_Chi_Minh) or time",
    )  # fmt: skip
    cases.add_argument(
        "--to", dest="created_to", type=lambda t: parse_bound(t, end=True),
        help="created on or before this date (the whole day), or before this time",
    )  # fmt: skip
    cases.add_argument(
        "--excel-bom", action="store_true", help="CSV: start with a UTF-8 BOM (Excel)"
    )
    cases.add_argument(
        "--mongo-url", help="routing's MongoDB (default: $ROUTING_MONGO_URL, else $MONGO_URL)"
    )
    cases.add_argument("--database", help="routing's database (default: $ROUTING_MONGO_DB)")
    cases.set_defaults(handler=export_cases_command)


def open_sink(fmt: str, path: Path, *, bom: bool) -> Sink:
    """The writer of `fmt` into `path`."""
    return CsvSink(path, bom=bom) if fmt == "csv" else XlsxSink(path)


async def export_cases_command(args: argparse.Namespace) -> int:
    """Export into a temporary file beside the output, renamed into place once complete."""
    cases = CaseFilter(args.agency, args.status, args.created_from, args.created_to)
    if cases.created_from and cases.created_to and cases.created_from >= cases.created_to:
        print("incidents-admin export: --from must come before --to", file=sys.stderr)
        return 1
    output: Path = args.output
    partial = output.with_name(output.name + ".partial")
    try:
        sink = open_sink(args.format, partial, bom=args.excel_bom)
        async with routing_database(args.mongo_url, args.database) as db:
            try:
                written = await export(db, cases, sink, now=utcnow())
            finally:
                sink.close()
        os.replace(partial, output)
    except (OSError, PyMongoError) as exc:
        partial.unlink(missing_ok=True)
        print(f"incidents-admin export: {mongo_error_summary(exc)}", file=sys.stderr)
        return 1
    print(f"exported {written} cases to {output}", file=sys.stderr)
    return 0
