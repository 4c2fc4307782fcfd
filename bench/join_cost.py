"""What one more report joining a case costs routing's database, by how many the case holds.

    python -m bench.join_cost [--sizes 100 1000 3000 6000] [--joins 40] [--batch 1]

Starts a fresh on-disk SecantusDB (journaled writes, as the services run it) with routing's
`cases` collection and its indexes, then for each size stores one case of a page holding that
many reports (routing's own documents: the first report opens it, the rest join it in one
write) and routes `--joins` more reports of the page through routing's own `Router`, `--batch`
at a time (a consumer batch: the reports of one content in it join in one write). Then the
same again without the index of reports by id (`reports.report_id`), to see how much of a
join's cost is that index's. Prints the case's size and the database CPU and wall
milliseconds per report joined.
"""

from __future__ import annotations

import argparse
import secrets
from datetime import UTC, datetime

import bson

from bench.common import embedded_database, measured, run_bench
from services.common.clock import utcnow
from services.common.contracts import Category, Platform, ReporterKind, ReportSubmitted
from services.common.mongo import MongoDatabase
from services.routing.cases import CaseRepository
from services.routing.policy import load_policy
from services.routing.router import Router

PAGE = "https://www.facebook.com/trang.gia.mao.ngan.hang"
REPORTS_INDEX = "reports.report_id_1"


def reported(n: int) -> ReportSubmitted:
    """Report `n` of the page, from a reporter of its own."""
    return ReportSubmitted(
        event_id=secrets.token_hex(16),
        occurred_at=datetime.now(UTC),
        report_id=secrets.token_hex(16),
        tracking_code=f"BJ{n:06d}",
        category=Category.SCAM_FRAUD,
        content_urls=[PAGE],
        platform=Platform.FACEBOOK,
        description="Trang giả mạo ngân hàng, đòi mã OTP để nhận quà tri ân khách hàng.",
        province="Hà Nội",
        reporter_kind=ReporterKind.CITIZEN,
        reporter_id=secrets.token_hex(16),
        anonymous=True,
    )


async def case_of(db: MongoDatabase, router: Router, size: int) -> int:
    """A case of the page holding `size` reports; its document's bytes."""
    await db.cases.delete_many({})
    await router.on_reports([reported(0)])
    await router.on_reports([reported(n) for n in range(1, size)])
    stored = await db.cases.find_one({})
    assert stored is not None and len(stored["reports"]) == size, "the case was not built"
    return len(bson.encode(stored))


async def joins(
    db: MongoDatabase, router: Router, pid: int, size: int, count: int, batch: int
) -> tuple[int, float, float]:
    """Route `count` more reports of the page into a case of `size`, `batch` at a time; the
    case's bytes before, and the database CPU and wall ms per report joined."""
    stored_bytes = await case_of(db, router, size)
    cpu = wall = 0.0
    for first in range(size, size + count, batch):
        events = [reported(n) for n in range(first, min(first + batch, size + count))]
        outcomes, took, used = await measured(pid, router.on_reports(events))
        assert outcomes == [None] * len(events), outcomes
        wall, cpu = wall + took, cpu + used
    return stored_bytes, cpu / count, wall / count


async def main(args: argparse.Namespace) -> None:
    """One line per case size, with routing's indexes and without the index of reports."""
    async with embedded_database() as (client, pid):
        db = client.routing
        repository = CaseRepository(db)
        await repository.ensure_indexes(utcnow())
        router = Router(repository, load_policy(), utcnow, lambda: None, reports_budget=2**40)

        async def each_size(label: str) -> None:
            for size in args.sizes:
                stored, cpu, wall = await joins(db, router, pid, size, args.joins, args.batch)
                print(
                    f"{label:30} case of {size:>6,} reports ({stored / 1024**2:5.2f} MB): "
                    f"{cpu:6.1f} ms database CPU, {wall:6.1f} ms wall per report joined"
                    f" ({args.batch} per batch)",
                    flush=True,
                )

        await each_size("routing's indexes")
        await db.cases.drop_index(REPORTS_INDEX)
        await each_size(f"without {REPORTS_INDEX}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 3000, 6000])
    parser.add_argument("--joins", type=int, default=40)
    parser.add_argument("--batch", type=int, default=1)
    run_bench(main(parser.parse_args()))
