"""What each report costs the database, per service: commands and documents written.

    python -m bench.writes [--reports 300] [--concurrency 16] [--shapes]

Starts the whole system as bench.throughput does (one escalation per case, a few seconds after
its assignment), turns on the database profiler (level 2: every command) in the three
services' databases, drives `--reports` reports, waits for their cases and escalations, and
reads the profiles back. Prints, per collection and operation, commands per report, documents
written per report (one per inserted document or update statement, or per `_id` that an
`update_many` names: the relays' clears, intake's links) and the milliseconds the
database says it spent on them per report, then the totals per service. The profiler adds its
own cost and a command's milliseconds include its waits for locks and the disk, so the
milliseconds rank where the database's time goes; they are not its CPU. With `--shapes`,
updates are told apart by the fields their filter names and the operators and fields they
write (a relay's clear, a status link, a claim), each with its statements per report, and reads
by the fields their filter names and their sort (a relay's read, a scanner's, a look-up by id).
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from typing import Any

from pymongo import AsyncMongoClient

from bench.common import drive, run_bench, settle
from bench.system import running_system

DATABASES = ("intake", "routing", "notify")
WRITES = ("insert", "update", "remove")


def shape(entry: dict[str, Any]) -> str:
    """An update's filter fields and what it writes, e.g. `{_id, rev} $set[rev, sent]`; a
    read's filter fields and sort, e.g. `{next_due_at} sort[next_due_at]`."""
    command = entry.get("command") or {}
    if entry.get("op") == "query":
        order = command.get("sort") or {}
        sort = f" sort[{', '.join(order)}]" if order else ""
        return f"{{{', '.join(sorted(command.get('filter') or {}))}}}{sort}"
    statements = command.get("updates") or []
    if entry.get("op") != "update" or not statements:
        return ""
    first = statements[0]
    writes = first.get("u")
    if isinstance(writes, dict):
        what = " ".join(
            f"{op}[{', '.join(sorted(fields))}]" if isinstance(fields, dict) else op
            for op, fields in sorted(writes.items())
        )
    else:
        what = "pipeline"
    return f"{{{', '.join(sorted(first.get('q') or {}))}}} {what}"


def written(entry: dict[str, Any]) -> int:
    """Documents one profiled command wrote: one per statement, or as many as the `_id`s an
    `update_many` names (SecantusDB's profile entries do not say how many documents it matched;
    the relays' clears and intake's links write each document they name, but for a relay's
    rare second clear of the same documents, which this counts again)."""
    if entry.get("op") not in WRITES:
        return 0
    command = entry.get("command") or {}
    updates = command.get("updates")
    if updates:
        return sum(_named(statement) for statement in updates)
    return len(command.get("documents") or command.get("deletes") or [])


def _named(update: dict[str, Any]) -> int:
    """The documents one update statement writes, by the `_id`s a multi-document one names."""
    ids = (update.get("q") or {}).get("_id")
    if update.get("multi") and isinstance(ids, dict) and isinstance(ids.get("$in"), list):
        return len(ids["$in"])
    return 1


Profile = tuple[Counter[Any], Counter[Any], Counter[Any]]


async def profiled(
    clients: dict[str, AsyncMongoClient[dict[str, Any]]], *, shapes: bool = False
) -> Profile:
    """Commands, documents written and milliseconds per (namespace, operation), from the
    profiles (each database on its service's server); with `shapes`, per update's or read's
    shape too."""
    commands: Counter[Any] = Counter()
    documents: Counter[Any] = Counter()
    millis: Counter[Any] = Counter()
    for name, client in clients.items():
        async for entry in client[name]["system.profile"].find({}):
            key = (entry.get("ns", "?"), entry.get("op", "?"), shape(entry) if shapes else "")
            commands[key] += 1
            documents[key] += written(entry)
            millis[key] += entry.get("millis") or 0
    return commands, documents, millis


def table(profile: Profile, reports: int) -> list[str]:
    """One line per namespace and operation, most milliseconds first, then per service."""
    commands, documents, millis = profile
    lines = [
        f"{'collection':<28} {'op':<8} {'commands/report':>16} {'documents/report':>17}"
        f" {'ms/report':>10}"
    ]
    for key, count in sorted(commands.items(), key=lambda kv: (-millis[kv[0]], -kv[1])):
        ns, op, form = key
        per = [count / reports, documents[key] / reports, millis[key] / reports]
        line = f"{ns:<28} {op:<8} {per[0]:16.2f} {per[1]:17.2f} {per[2]:10.2f}"
        lines.append(f"{line}  {form}".rstrip())
    for service in DATABASES:
        mine = [k for k in commands if k[0].startswith(f"{service}.")]
        per = [sum(counter[k] for k in mine) / reports for counter in profile]
        lines.append(f"{service + ' (all)':<37} {per[0]:16.2f} {per[1]:17.2f} {per[2]:10.2f}")
    return lines


async def main(args: argparse.Namespace) -> None:
    """Profile one run and print the table."""
    async with running_system() as system:
        clients: dict[str, AsyncMongoClient[dict[str, Any]]] = {
            name: AsyncMongoClient(system.mongo_urls[name]) for name in DATABASES
        }
        try:
            for name, client in clients.items():
                await client[name].command("profile", 2)
            observer = system.observer
            latencies, _, _ = await drive(
                system.urls,
                args.reports,
                concurrency=args.concurrency,
                on_accepted=observer.on_accepted,
            )
            codes = list(observer.accepted)
            await settle(lambda: len(observer.routed(codes)) >= len(codes), timeout=120)
            await settle(lambda: len(observer.lateness) >= len(codes), timeout=120)
            await asyncio.sleep(2)  # the last relays' rounds
            for name, client in clients.items():
                await client[name].command("profile", 0)
            profile = await profiled(clients, shapes=args.shapes)
        finally:
            for client in clients.values():
                await client.close()
    reports = max(len(latencies), 1)
    print(
        f"{reports} reports, {len(observer.routed(codes))} cases assigned, {len(observer.lateness)} escalations"
    )
    print("\n".join(table(profile, reports)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument(
        "--shapes",
        action="store_true",
        help="updates by their filter and what they write, reads by their filter and sort",
    )
    run_bench(main(parser.parse_args()))
