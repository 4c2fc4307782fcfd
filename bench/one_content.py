"""One content reported by thousands: how the three services keep up as its case grows.

    python -m bench.one_content [--reports 3000] [--concurrency 16] [--every 5]
        [--description-chars N]

Starts the system as `bench.throughput` does (a database server per service, journaled
writes) and submits `--reports` reports of one page, each its own reporter, as fast as
`--concurrency` clients go. Every `--every` seconds it prints how many reports the page's
cases hold in routing (a case takes reports up to its budget, then the next ones open a new
case), how many of them intake has linked to a case (the reporters who can follow its
status), how far notify's deadlines have followed the cases' versions (one for each join),
each stage's rate and its database server's CPU per report (or version) in that stretch, and
the size of the largest case's document. It stops when every stage is done, or when none has
moved for `--stall` seconds.
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
    """Where the three stages stand at one moment."""

    at: float
    held: int  # reports the page's cases hold in routing
    linked: int  # reports intake has linked to a case
    cases: int  # the page's cases
    version: int  # the cases' versions in routing, summed (one more for each join)
    followed: int  # the versions notify's deadlines have followed them to, summed
    routing_cpu: float  # routing's database server, seconds
    intake_cpu: float  # intake's database server, seconds
    notify_cpu: float  # notify's database server, seconds
    case_kib: float

    def line(self, last: Progress) -> str:
        """This interval against the last."""
        seconds = self.at - last.at
        held, linked = self.held - last.held, self.linked - last.linked
        return (
            f"{self.at:6.1f} s  {self.cases} case(s) hold {self.held:6d} ({held / seconds:5.0f}/s, "
            f"database {per_report(self.routing_cpu - last.routing_cpu, held)} ms/report)  "
            f"intake linked {self.linked:6d} ({linked / seconds:5.0f}/s, "
            f"database {per_report(self.intake_cpu - last.intake_cpu, linked)} ms/report)  "
            f"notify at version {self.followed:6d} of {self.version:6d} (database "
            f"{per_report(self.notify_cpu - last.notify_cpu, self.followed - last.followed)} "
            f"ms/version)  largest case document {self.case_kib:6.0f} KiB"
        )


def per_report(seconds: float, reports: int) -> str:
    """CPU milliseconds per report, or a dash for none."""
    return f"{seconds / reports * 1000:5.1f}" if reports else "    -"


Client = AsyncMongoClient[dict[str, Any]]


def collection(clients: dict[str, Client], service: str, name: str) -> Any:
    """A collection of `service`'s database."""
    return clients[service][database_name(SETTINGS[service])][name]


async def progress(system: RunningSystem, clients: dict[str, Client], started: float) -> Progress:
    """Count each stage's reports or versions and read its database server's CPU."""
    # The page's cases (a case full of reports hands the later ones to a new case): their
    # sizes and reports counted by the server, not sent here.
    shape = {"held": {"$size": "$reports"}, "bytes": {"$bsonSize": "$$ROOT"}, "version": 1}
    found = await collection(clients, "routing", "cases").aggregate([{"$project": shape}])
    cases = await found.to_list()
    reports = collection(clients, "intake", "reports")
    linked = await reports.count_documents({"case.case_id": {"$exists": True}})
    ids = [case["_id"] for case in cases]
    deadlines = collection(clients, "notify", "deadlines")
    followed = await deadlines.find({"_id": {"$in": ids}}, {"version": 1}).to_list()
    pids = system.pids
    return Progress(
        at=time.monotonic() - started,
        held=sum(case["held"] for case in cases),
        linked=linked,
        cases=len(cases),
        version=sum(case.get("version", 0) for case in cases),
        followed=sum(deadline.get("version", 0) for deadline in followed),
        routing_cpu=cpu_seconds(pids["database-routing"]),
        intake_cpu=cpu_seconds(pids["database-intake"]),
        notify_cpu=cpu_seconds(pids["database-notify"]),
        case_kib=max((case["bytes"] for case in cases), default=0) / 1024,
    )


async def main(args: argparse.Namespace) -> None:
    """Start the system, submit, follow the three stages until done or stalled."""
    print(core_note())
    async with running_system(keep_logs=args.keep_logs) as system:
        clients = {name: Client(url) for name, url in system.mongo_urls.items()}
        try:
            await follow(args, system, clients)
        finally:
            for client in clients.values():
                await client.close()


async def follow(
    args: argparse.Namespace, system: RunningSystem, clients: dict[str, Client]
) -> None:
    """Submit, and print where the stages stand until done or stalled."""
    started = time.monotonic()
    submitting = asyncio.create_task(
        drive(
            system.url,
            args.reports,
            concurrency=args.concurrency,
            report=reports_of_the_page(args.description_chars),
        )
    )
    last = moved = await progress(system, clients, started)
    while True:
        await asyncio.sleep(args.every)
        now = await progress(system, clients, started)
        print(now.line(last), flush=True)
        if (now.held, now.linked, now.followed) != (moved.held, moved.linked, moved.followed):
            moved = now
        if min(now.linked, now.held) >= args.reports and now.followed == now.version:
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
