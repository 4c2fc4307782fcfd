"""One content reported by thousands: how routing and intake keep up as its case grows.

    python -m bench.one_content [--reports 3000] [--concurrency 16] [--every 5]

Starts the system as `bench.throughput` does (a database server per service, journaled
writes) and submits `--reports` reports of one page, each its own reporter, as fast as
`--concurrency` clients go (`--description-chars` pads their descriptions). Every `--every` seconds it prints how many reports the page's case
holds in routing and how many of them intake has linked to it (the reporters who can see the
case's status), each stage's rate and its database server's CPU per report in that interval,
and the size of the case's document. It stops when intake has linked every report, or when
neither has moved for `--stall` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from bench.common import core_note, cpu_seconds, drive, run_bench, sample_report
from bench.system import RunningSystem, running_system
from services.admin.databases import SETTINGS, database_name

PAGE = "https://www.facebook.com/bench-one-page-reported-by-thousands"


def reports_of_the_page(description_chars: int) -> Callable[[int], dict[str, Any]]:
    """The `n`th report of the one page, its description padded to `description_chars`."""

    def report(n: int) -> dict[str, Any]:
        body = {**sample_report(n), "category": "scam_fraud", "content_urls": [PAGE]}
        body["description"] = body["description"].ljust(description_chars, ".")
        return body

    return report


@dataclass
class Progress:
    """Where the two stages stand at one moment."""

    at: float
    held: int  # reports the page's case holds in routing
    linked: int  # reports intake has linked to a case
    routing_cpu: float  # routing's database server, seconds
    intake_cpu: float  # intake's database server, seconds
    case_kib: float

    def line(self, last: Progress) -> str:
        """This interval against the last."""
        seconds = self.at - last.at
        held, linked = self.held - last.held, self.linked - last.linked
        return (
            f"{self.at:6.1f} s  case holds {self.held:6d} ({held / seconds:5.0f}/s, "
            f"database {per_report(self.routing_cpu - last.routing_cpu, held)} ms/report)  "
            f"intake linked {self.linked:6d} ({linked / seconds:5.0f}/s, "
            f"database {per_report(self.intake_cpu - last.intake_cpu, linked)} ms/report)  "
            f"case document {self.case_kib:6.0f} KiB"
        )


def per_report(cpu_seconds: float, reports: int) -> str:
    """CPU milliseconds per report, or a dash for none."""
    return f"{cpu_seconds / reports * 1000:5.1f}" if reports else "    -"


async def progress(system: RunningSystem, started: float) -> Progress:
    """Count both stages' reports and read both servers' CPU."""
    routing: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(system.mongo_urls["routing"])
    intake: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(system.mongo_urls["intake"])
    try:
        cases = routing[database_name(SETTINGS["routing"])].cases
        reports = intake[database_name(SETTINGS["intake"])].reports
        # The run's one case: its size and its reports counted by the server, not sent here.
        shape = {"held": {"$size": "$reports"}, "bytes": {"$bsonSize": "$$ROOT"}}
        found = await (await cases.aggregate([{"$project": shape}])).to_list()
        case = found[0] if found else {"held": 0, "bytes": 0}
        linked = await reports.count_documents({"case.case_id": {"$exists": True}})
    finally:
        await routing.close()
        await intake.close()
    pids = system.pids
    return Progress(
        at=time.monotonic() - started,
        held=case["held"],
        linked=linked,
        routing_cpu=cpu_seconds(pids["database-routing"]),
        intake_cpu=cpu_seconds(pids["database-intake"]),
        case_kib=case["bytes"] / 1024,
    )


async def main(args: argparse.Namespace) -> None:
    """Start the system, submit, follow both stages until done or stalled."""
    print(core_note())
    async with running_system(keep_logs=args.keep_logs) as system:
        started = time.monotonic()
        submitting = asyncio.create_task(
            drive(
                system.url,
                args.reports,
                concurrency=args.concurrency,
                report=reports_of_the_page(args.description_chars),
            )
        )
        last = moved = await progress(system, started)
        while True:
            await asyncio.sleep(args.every)
            now = await progress(system, started)
            print(now.line(last), flush=True)
            if (now.held, now.linked) != (moved.held, moved.linked):
                moved = now
            if now.linked >= args.reports and now.held >= args.reports:
                break
            if submitting.done() and now.at - moved.at > args.stall:
                print(f"stalled: nothing moved for {args.stall:.0f} s")
                break
            last = now
        latencies, elapsed, errors = await submitting
        print(
            f"submitted {len(latencies)} in {elapsed:.1f} s ({errors} refused); "
            f"every report held and linked after {now.at:.1f} s"
            if now.linked >= args.reports
            else f"submitted {len(latencies)} in {elapsed:.1f} s ({errors} refused)"
        )


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--description-chars",
        type=int,
        default=0,
        help="pad each description to this length (intake takes up to 5,000 characters)",
    )
    parser.add_argument("--every", type=float, default=5.0, help="seconds between lines")
    parser.add_argument("--keep-logs", type=Path, help="copy the services' logs here at the end")
    parser.add_argument("--stall", type=float, default=60.0, help="give up after this still")
    return parser


if __name__ == "__main__":
    run_bench(main(arguments().parse_args()))
