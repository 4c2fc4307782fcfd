"""How long routing takes to prepare its cases collection at start, by how many cases it holds.

    python -m bench.startup [--cases 20000]

Starts a fresh on-disk SecantusDB (journaled writes, as the services run it), prepares the
cases collection as routing's start does (`CaseRepository.ensure_indexes`), stores `--cases`
cases (routing's own documents, in batches of 1,000), then times that preparation twice: as
every later start runs it (its migrations recorded as run clean) and as the first start of a
new version over a database from before runs it (no migration recorded: each reads every
case). Routing answers `/readyz` only after it, so this is how much later a restart is ready.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import embedded_database, measured, run_bench
from services.common.contracts import ReportSubmitted
from services.common.migrations import MIGRATIONS
from services.routing.cases import CaseRepository
from services.routing.planning import plan_new_case
from services.routing.policy import load_policy

BATCH = 1000


def stored_cases(count: int, now: datetime) -> list[dict[str, Any]]:
    """`count` cases of one agency as routing stores them, due over two months around `now`."""
    policy = load_policy()
    docs = []
    for n in range(count):
        report = ReportSubmitted(
            event_id=f"event-{n}",
            occurred_at=now - timedelta(minutes=n % 86_400),
            report_id=f"report-{n}",
            tracking_code=f"TC{n:06d}-BNCH",
            category="scam_fraud",
            content_urls=[f"https://www.facebook.com/startup{n}"],
            platform="facebook",
            description="Benchmark: a page promising prizes for a fee.",
            province="Hà Nội",
            reporter_kind="citizen",
            anonymous=True,
        )
        case, _ = plan_new_case(report, policy, report.occurred_at, case_id=f"case-{n}")
        docs.append(case.to_document())
    return docs


async def main(args: argparse.Namespace) -> None:
    """One line per way of starting."""
    now = datetime.now(UTC)
    async with embedded_database() as (client, pid):
        db = client.routing
        repository = CaseRepository(db)
        await repository.ensure_indexes(now)
        docs = stored_cases(args.cases, now)
        for first in range(0, len(docs), BATCH):
            await db.cases.insert_many(docs[first : first + BATCH])
        for label, recorded in (("later starts", True), ("first start of a version", False)):
            if not recorded:
                await db[MIGRATIONS].delete_many({})
            _, wall, cpu = await measured(pid, repository.ensure_indexes(now))
            print(
                f"{label:25} {wall:8.0f} ms ({cpu:.0f} ms database CPU) with {args.cases:,} cases",
                flush=True,
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    run_bench(main(parser.parse_args()))
