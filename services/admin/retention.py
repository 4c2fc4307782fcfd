"""`incidents-admin retention`: remove what is done and no longer needed, counted per
collection; `--dry-run` only counts.

What goes, and why it is safe:
- quarantined outbox entries (`outbox_quarantine`) older than the retention: logged and
  counted when quarantined, kept this long for an operator to look at (`outboxes`);
- notify's alert records older than the retention with no delivery left to attempt;
- notify's closed deadlines (resolved or rejected, nothing due, nothing to publish, not
  poisoned) older than the retention are compacted, not deleted: the case's id, version and
  revision stay, so a late or replayed older event about the case is still recognised as older
  and cannot open a deadline again and escalate a closed case;
- intake's idempotency keys (and the request hash compared with them) on reports older than
  `--idempotency-older-than`: a client retries a submission within minutes, not days. The
  reports themselves stay;
- reporters' contact details (name, phone, e-mail) `--contact-older-than` days after their
  case closed, in intake's reports and in routing's cases (every report a case holds): what
  the form's privacy notice promises. The reports and cases stay, without the contact. Each
  report erased in intake gets a `report.contact_erased` event (reason `retention`) in its
  outbox in the same write, so routing also erases it in the cases that hold the report;
- the free text people wrote (descriptions, appeal reasons, notes, explanations, evidence file
  names) `--anonymise-older-than` days after the case closed (default $RETENTION_ANONYMISE_DAYS
  or 1095, at least `--contact-older-than`), in intake and routing, marked `anonymised_at`.
Nothing of a case under a legal hold in force (PUT /api/v1/cases/{id}/legal-hold) goes: its
contacts and texts stay, and so do those of its reports in intake.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import PyMongoError

from services.admin.anonymise import ANONYMISE_DAYS_ENV, DEFAULT_ANONYMISE_DAYS, read_holds
from services.admin.databases import (
    DatabaseError,
    database_options,
    databases,
    service_databases,
)
from services.admin.retention_steps import DEFAULT_CONTACT_DAYS, Cutoffs, steps

DEFAULT_DAYS = 90
DEFAULT_IDEMPOTENCY_DAYS = 7


def register(commands: Any) -> None:
    """Add `retention`."""
    parser = commands.add_parser(
        "retention",
        parents=[database_options()],
        help="remove what is done and no longer needed (--dry-run counts only)",
        description=(__doc__ or "").split("\n\n", 1)[-1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dry-run", action="store_true", help="count only; change nothing")
    parser.add_argument(
        "--older-than",
        type=_days,
        default=DEFAULT_DAYS,
        metavar="DAYS",
        help=f"retention of quarantined entries, alerts and closed deadlines ({DEFAULT_DAYS})",
    )
    parser.add_argument(
        "--idempotency-older-than",
        type=_days,
        default=DEFAULT_IDEMPOTENCY_DAYS,
        metavar="DAYS",
        help=f"how long intake keeps idempotency keys ({DEFAULT_IDEMPOTENCY_DAYS})",
    )
    parser.add_argument(
        "--contact-older-than",
        type=_days,
        default=DEFAULT_CONTACT_DAYS,
        metavar="DAYS",
        help=f"erase reporters' contact this long after their case closed ({DEFAULT_CONTACT_DAYS})",
    )
    parser.add_argument(
        "--anonymise-older-than",
        type=_days,
        default=os.environ.get(ANONYMISE_DAYS_ENV, str(DEFAULT_ANONYMISE_DAYS)),
        metavar="DAYS",
        help="empty the free text of cases closed this long ago, at least --contact-older-than "
        f"(${ANONYMISE_DAYS_ENV} or {DEFAULT_ANONYMISE_DAYS})",
    )
    parser.set_defaults(handler=retention_command)


def _days(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 36500:
        raise argparse.ArgumentTypeError(f"must be a whole number of days from 1, not {text!r}")
    return int(text)


@dataclass(frozen=True)
class Outcome:
    """One step's count: what it removed (or would remove) from a collection."""

    service: str
    database: str
    collection: str
    what: str
    count: int


async def retention_command(args: argparse.Namespace) -> int:
    """Run (or count) every step for the chosen services."""
    if args.anonymise_older_than < args.contact_older_than:
        print(
            "incidents-admin retention: --anonymise-older-than must be at least "
            f"--contact-older-than ({args.contact_older_than})",
            file=sys.stderr,
        )
        return 2
    now = datetime.now(UTC)
    outcomes = []
    try:
        chosen = service_databases(args)
        needed = sorted({"routing", *(service.service for service in chosen)})  # holds: routing
        async with databases(args, needed) as found:
            cutoffs = Cutoffs.of(
                now,
                days=args.older_than,
                idempotency_days=args.idempotency_older_than,
                contact_days=args.contact_older_than,
                anonymise_days=args.anonymise_older_than,
                held=await read_holds(found["routing"], now),
            )
            for service in chosen:
                db = found[service.service]
                for collection, what, step in steps(service):
                    count = await step(db, cutoffs, now, args.dry_run)
                    outcomes.append(
                        Outcome(service.service, service.database, collection, what, count)
                    )
    except (DatabaseError, PyMongoError) as exc:
        print(f"incidents-admin retention: {exc}", file=sys.stderr)
        return 1
    if args.json:
        rows = [asdict(outcome) for outcome in outcomes]
        print(json.dumps({"dry_run": args.dry_run, "removed": rows}, ensure_ascii=False))
    else:
        print(render(outcomes, dry_run=args.dry_run, cutoffs=cutoffs))
    return 0


def render(outcomes: list[Outcome], *, dry_run: bool, cutoffs: Cutoffs) -> str:
    """One line per collection and step, then what the run was."""
    width = max((len(f"{o.database}.{o.collection}") for o in outcomes), default=0)
    lines = [
        f"{o.service:<8} {o.database + '.' + o.collection:<{width}}  {o.count:>7} {o.what}"
        for o in outcomes
    ]
    lines.append(
        f"before {cutoffs.kept:%Y-%m-%d %H:%M}Z (idempotency keys: "
        f"{cutoffs.idempotency:%Y-%m-%d %H:%M}Z, contacts: {cutoffs.contact:%Y-%m-%d %H:%M}Z, "
        f"free text: {cutoffs.anonymise:%Y-%m-%d %H:%M}Z)"
    )
    if cutoffs.held.cases:
        lines.append(f"{len(cutoffs.held.cases)} case(s) under a legal hold kept as they are")
    if dry_run:
        lines.append("dry run: these are counts of what would go; nothing was changed")
    return "\n".join(lines)
