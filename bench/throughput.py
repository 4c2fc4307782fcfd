"""The whole system's throughput at a ladder of concurrencies, then unsaturated at half its peak;
or the same at one and at two replicas side by side; or a long run at a fixed rate (aging).

    python -m bench.throughput [--concurrency 1 16 64] [--seconds 20] [--half-seconds 20]
                               [--replicas N | --compare-replicas]
    python -m bench.throughput --minutes 30 [--rate R] [--profile-seconds S] [--replicas N]

Starts the embedded database as `./scripts/run` does, a SecantusDB server per service
(journaled writes; `--shared-database`: one server for all three, the earlier default), and N
processes each of intake, routing and notify (own ports, own log files: intake.log, or
intake-1.log, intake-2.log, ...), as bench.system does
(deadlines of a few seconds, one escalation level), and drives intake over HTTP from this
process, round-robin over the intake replicas.

Ladder (the default): first 5 s with nothing to do (the database commands/s and CPU the
system's loops cost it while idle, which every step's per-report figures include for each
second it waits), then each concurrency for about `--seconds` (the count is sized from the
previous step's rate), then at a fixed offered rate of half the highest routed rate (cases
assigned per second from the step's start to its last case). Each step prints accepted and
routed reports/s, intake latency (POST -> 201) p50/p99, report -> `case.assigned`
delivered p50/p99, escalation lateness p99 (due -> `case.escalated` delivered), lost (accepted,
no `case.assigned` within `--settle` seconds) and doubled (`case.assigned` with two case ids or
two event ids for one report) reports, both 0 in a healthy run, database commands per accepted
report, and CPU milliseconds per report of each service (summed over its replicas, each
replica's share in brackets), of the database (each server's share in brackets), of the broker
(when RabbitMQ runs on this machine) and of this benchmark itself (`load`). Bounded: each step
is a fixed number of reports, and waits at most `--settle` seconds for its cases. Each line
also splits report -> `case.assigned` into its stages, p50/p99 in ms: intake's relay (201 -> `report.submitted` delivered), routing (-> the
case stored: the event's `occurred_at`) and routing's relay (-> `case.assigned` delivered).
`--compare-replicas` runs the ladder on a fresh system with one replica, then on another with
two, and prints the rates side by side.

After the ladder, the floor on the same servers (bench.floor `report_floor`; skipped with
`--floor-reports 0`): a report's eleven writes and three confirmed publishes done directly, on
copies of the system's collections (its indexes, documents cloned from its own), first one
report at a time (16 workers), then `--floor-batch` reports per command (4 workers), then the
same batched without the three outbox clears (what the relays leave when they read change
streams, as they do on the embedded servers started here, which keep an oplog); each with
its rate and the database's CPU per report, and the system's highest routed rate as a share
of each.

Long run (`--minutes`, implemented in bench.aging): a fixed offered rate (`--rate`, default
half the routed rate of a ~10 s step at concurrency 64) in one-minute chunks; one line per
minute (offered and accepted rate, intake and report -> `case.assigned` p50/p99, lost,
doubled, database CPU ms per report, RSS of each process, database files on disk, reports
stored), then the first five minutes against the last five, within 15 % or not.
`--profile-seconds S` samples each database server with py-spy in the second and the last
minute and prints its top 15 functions by own samples.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.aging import age
from bench.common import core_note, load_note, run_bench
from bench.floor import Floor, report_floor
from bench.steps import Step, idle_line, step
from bench.system import RunningSystem, running_system


async def ladder(system: RunningSystem, args: argparse.Namespace) -> list[Step]:
    """Each concurrency, then half the peak rate; one line each."""
    rate, steps = 20.0, []
    for concurrency in args.concurrency:
        count = max(50, int(rate * args.seconds))
        done = await step(
            system, f"concurrency {concurrency}", count, concurrency, None, args.settle
        )
        print(done.line(), flush=True)
        steps.append(done)
        rate = max(rate, done.rate)
    # Half of what the whole system turned into cases, not of what intake accepted: intake
    # alone can accept faster than routing and notify keep up.
    half = max(s.routed_rate for s in steps) / 2
    count = max(50, int(half * args.half_seconds))
    title = f"rate {half:.0f}/s (half)"
    done = await step(system, title, count, max(args.concurrency), half, args.settle)
    print(done.line(), flush=True)
    return [*steps, done]


async def run_ladder(args: argparse.Namespace, replicas: int) -> list[Step]:
    """A fresh system with `replicas` of each service, the ladder on it."""
    async with running_system(
        replicas, keep_logs=args.keep_logs, shared_database=args.shared_database
    ) as system:
        started = time.monotonic()
        print(
            f"{replicas} replica(s) of each service; before: {load_note()}; {core_note()}",
            flush=True,
        )
        print(await idle_line(system), flush=True)
        steps = await ladder(system, args)
        if args.floor_reports:
            await floors(system, args, max(s.routed_rate for s in steps))
        print(f"after: {load_note()}; whole run {time.monotonic() - started:.0f} s", flush=True)
        return steps


async def floors(system: RunningSystem, args: argparse.Namespace, routed: float) -> None:
    """The floor one report at a time and batched, on the system's servers; the system's
    highest routed rate against each."""
    print(
        f"floor: {args.floor_reports} reports' writes (6 inserts, 5 updates) and 3 confirmed"
        " publishes each, done directly on copies of the system's collections",
        flush=True,
    )
    measured: list[Floor] = []
    batched = f"{args.floor_batch} reports at a time, 4 workers"
    for workers, batch, clears, title in (
        (16, 1, True, "one report at a time, 16 workers"),
        (4, args.floor_batch, True, batched),
        (4, args.floor_batch, False, f"{batched}, no outbox clears"),
    ):
        floor = await report_floor(
            system.mongo_urls,
            system.database_pids,
            system.connection,
            system.topology,
            reports=args.floor_reports,
            concurrency=workers,
            batch=batch,
            clears=clears,
        )
        measured.append(floor)
        print(
            f"  {title:<52} {floor.rate:5.0f}/s, database {floor.database_cpu_ms:4.1f} ms CPU"
            " per report",
            flush=True,
        )
    one, batched_share, without_clears = (routed / floor.rate for floor in measured)
    print(
        f"highest routed rate {routed:.0f}/s: {one:.2f} of the floor one at a time,"
        f" {batched_share:.2f} of the batched floor, {without_clears:.2f} of the batched floor"
        " without clears (the writes the system makes where its database keeps an oplog)",
        flush=True,
    )


def comparison(one: list[Step], two: list[Step]) -> list[str]:
    """The two ladders' accepted rates side by side, with their ratio and correctness."""
    lines = [f"{'step':<16} {'1 replica (accepted, routed)':>36} {'2 replicas':>36}  routed 2/1"]
    for n, (a, b) in enumerate(zip(one, two, strict=True)):
        name = "half peak" if n == len(one) - 1 else a.title
        cells = [
            f"{s.rate:5.0f}/s {s.routed_rate:5.0f}/s lost {s.lost} dbl {s.doubled}" for s in (a, b)
        ]
        ratio = b.routed_rate / a.routed_rate
        lines.append(f"{name:<16} {cells[0]:>36} {cells[1]:>36}  {ratio:4.2f}")
    return lines


async def main(args: argparse.Namespace) -> None:
    """Run the chosen mode."""
    if args.minutes:
        await age(args)
    elif args.compare_replicas:
        one = await run_ladder(args, 1)
        two = await run_ladder(args, 2)
        print("\n" + "\n".join(comparison(one, two)))
    else:
        await run_ladder(args, args.replicas)


def arguments() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--seconds", type=float, default=20.0, help="about how long each step")
    parser.add_argument("--half-seconds", type=float, default=20.0)
    parser.add_argument(
        "--settle", type=float, default=60.0, help="longest wait for a step's cases"
    )
    parser.add_argument("--replicas", type=int, default=1, help="processes of each service")
    parser.add_argument(
        "--compare-replicas", action="store_true", help="the ladder at 1, then 2 replicas"
    )
    parser.add_argument("--minutes", type=int, default=0, help="a long run at a fixed rate")
    parser.add_argument(
        "--rate", type=float, help="the long run's rate (default: half the routed rate at c64)"
    )
    parser.add_argument(
        "--profile-seconds",
        type=float,
        default=0.0,
        help="py-spy the database this long in the long run's second and last minute",
    )
    parser.add_argument(
        "--shared-database",
        action="store_true",
        help="one database server for the three services (default: one each, as ./scripts/run)",
    )
    parser.add_argument(
        "--floor-reports", type=int, default=1500, help="the floor's reports (0: no floor)"
    )
    parser.add_argument(
        "--floor-batch", type=int, default=32, help="reports per command in the batched floor"
    )
    parser.add_argument("--keep-logs", type=Path, help="copy the services' logs here at the end")
    return parser


if __name__ == "__main__":
    run_bench(main(arguments().parse_args()))
