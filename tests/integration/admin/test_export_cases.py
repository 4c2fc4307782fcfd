"""`incidents-admin export cases`: cases stored in the test's database, exported as CSV and
XLSX and read back (csv module, openpyxl), filters, no contact data, formula-like text inert."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from services.admin import export as export_module
from services.admin.cli import main as admin
from services.admin.export import HEADERS, LOCAL
from services.common.contracts import CaseStatus, Category
from services.common.mongo import MongoDatabase, mongo_database
from services.routing.planning import plan_new_case
from tests.unit.routing.factory import POLICY, report

pytestmark = pytest.mark.integration

CONTACT = {"name": "Trần Thị B", "phone": "0905123456", "email": "tranthib@example.vn"}
FORMULA = '=HYPERLINK("http://evil.example","bấm")'
# (case id, category, created at in Hanoi time, province, status)
CASES = [
    ("case-1", Category.SCAM_FRAUD, datetime(2026, 11, 20, 10, 0), "Hà Nội", None),
    ("case-2", Category.FALSE_INFORMATION, datetime(2026, 11, 21, 9, 0), FORMULA, "resolved"),
    ("case-3", Category.HIJACKED_ACCOUNT, datetime(2026, 11, 22, 23, 30), "Huế", None),
    ("case-4", Category.SCAM_FRAUD, datetime(2026, 11, 23, 0, 10), "Đà Nẵng", None),
]


@pytest.fixture
async def database(mongo_url: str, db_name: str) -> AsyncIterator[MongoDatabase]:
    async with mongo_database(mongo_url, db_name, timeout_ms=5000) as db:
        for n, (case_id, category, local, province, status) in enumerate(CASES, start=1):
            created = local.replace(tzinfo=LOCAL).astimezone(UTC)
            event = report(
                category,
                report_id=f"report-{n}",
                tracking_code=f"TC{n:04d}-AAAA-BBBB",
                province=province,
                contact=CONTACT,
            )
            case, _ = plan_new_case(event, POLICY, created, case_id=case_id)
            if status:
                case = case.model_copy(update={"status": CaseStatus(status), "outcome": "removed"})
            await db.cases.insert_one(case.to_document())
        await db.cases.insert_one({"_id": "case-broken", "agency": "police"})
        yield db


@pytest.fixture
def export(mongo_url: str, db_name: str, capsys: pytest.CaptureFixture[str]) -> Callable[..., Any]:
    """Run `incidents-admin export cases ...` against the test's database; (code, stderr)."""

    async def run(*argv: str) -> tuple[int, str]:
        capsys.readouterr()
        database = ["--mongo-url", mongo_url, "--database", db_name]
        code = await asyncio.to_thread(admin, ["export", "cases", *argv, *database])
        return code, capsys.readouterr().err

    return run


def _rows(path: Path, encoding: str = "utf-8") -> list[list[str]]:
    with path.open(encoding=encoding, newline="") as file:
        return list(csv.reader(file))


async def test_csv_holds_every_case_oldest_first_without_contact_data(
    database: MongoDatabase, export: Any, tmp_path: Path
) -> None:
    path = tmp_path / "cases.csv"
    code, err = await export("--format", "csv", "-o", str(path))
    assert code == 0, err
    assert "skipped case case-broken" in err and "exported 4 cases" in err
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == 5 and b"\n" not in raw.replace(b"\r\n", b"")
    text = raw.decode("utf-8")
    for secret in CONTACT.values():
        assert secret not in text
    assert "Trang giả mạo" not in text  # the description is free text: not exported
    rows = _rows(path)
    assert rows[0] == HEADERS
    by_column = [dict(zip(HEADERS, row, strict=True)) for row in rows[1:]]
    assert [r["case_id"] for r in by_column] == ["case-1", "case-2", "case-3", "case-4"]
    first = by_column[0]
    assert first["created_at"] == "2026-11-20T10:00:00+07:00"
    assert (first["agency"], first["category"], first["province"]) == (
        "police",
        "scam_fraud",
        "Hà Nội",
    )
    assert first["anonymous"] == "no" and first["closed_at"] == ""
    assert by_column[1]["province"] == "'" + FORMULA
    assert by_column[1]["status"] == "resolved"


async def test_csv_filters_by_agency_status_and_local_days(
    database: MongoDatabase, export: Any, tmp_path: Path
) -> None:
    path = tmp_path / "police.csv"
    args = ("--format", "csv", "-o", str(path), "--agency", "police")
    code, _ = await export(*args, "--from", "2026-11-21", "--to", "2026-11-22", "--excel-bom")
    assert code == 0
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = _rows(path, "utf-8-sig")
    assert rows[0] == HEADERS
    assert [row[0] for row in rows[1:]] == ["case-3"]  # 23:30 on the 22nd in Hà Nội: included
    code, _ = await export("--format", "csv", "-o", str(path), "--status", "resolved")
    assert code == 0
    assert [row[0] for row in _rows(path)[1:]] == ["case-2"]


async def test_xlsx_has_a_bold_frozen_header_real_dates_and_widths(
    database: MongoDatabase, export: Any, tmp_path: Path
) -> None:
    path = tmp_path / "cases.xlsx"
    code, err = await export("--format", "xlsx", "-o", str(path))
    assert code == 0, err
    assert not path.with_name("cases.xlsx.partial").exists()
    sheet = load_workbook(path)["Cases"]
    assert sheet.freeze_panes == "A2"
    header = next(sheet.iter_rows(max_row=1))
    assert [cell.value for cell in header] == HEADERS
    assert all(cell.font.bold for cell in header)
    assert sheet.column_dimensions["A"].width == 26
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert [row[0] for row in rows] == ["case-1", "case-2", "case-3", "case-4"]
    created = sheet.cell(row=2, column=HEADERS.index("created_at") + 1)
    assert created.value == datetime(2026, 11, 20, 10, 0)
    assert created.is_date and "yyyy" in created.number_format
    province = sheet.cell(row=3, column=HEADERS.index("province") + 1)
    assert (province.value, province.data_type) == (FORMULA, "s")
    overdue = HEADERS.index("overdue")
    assert isinstance(rows[0][overdue], bool) and rows[1][overdue] is False  # case-2 is closed
    every_value = " ".join(str(v) for row in rows for v in row)
    for secret in CONTACT.values():
        assert secret not in every_value


async def test_progress_is_printed_for_large_exports(
    database: MongoDatabase, export: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module, "PROGRESS_EVERY", 2)
    code, err = await export("--format", "csv", "-o", str(tmp_path / "cases.csv"))
    assert code == 0
    assert "exporting 5 cases" in err
    assert "2 of about 5 cases" in err and "4 of about 5 cases" in err


async def test_bad_arguments_and_an_unwritable_file_fail_cleanly(
    database: MongoDatabase, export: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cases.csv"
    code, err = await export(
        "--format", "csv", "-o", str(path), "--from", "2026-11-22", "--to", "2026-11-21"
    )
    assert code == 1 and "--from must come before --to" in err
    code, err = await export("--format", "csv", "-o", str(tmp_path / "missing" / "cases.csv"))
    assert code == 1 and not (tmp_path / "missing").exists()
    with pytest.raises(SystemExit):
        await asyncio.to_thread(
            admin, ["export", "cases", "--format", "csv", "-o", str(path), "--from", "tomorrow"]
        )
    assert "a date (2026-11-30)" in capsys.readouterr().err
    assert not path.exists()
