"""`incidents-admin contact-keys`: the keys sealing reporters' contacts (CONTACT_KEYS).

  new      print a fresh `id:key` entry for CONTACT_KEYS
  status   count the stored contacts per key id in intake's and routing's databases (`clear`:
           stored before contacts were sealed)
  rekey    seal every stored contact under the current key (the first of CONTACT_KEYS), in
           batches, printing progress; contacts stored in clear are sealed too. Run it again
           at will: what is under the current key is left alone.

Rotation: put the new key first in CONTACT_KEYS and keep the old one after it, on intake,
routing and here; restart intake and routing (they seal with the new key and open both); run
`rekey`; when `status` shows no contact under the old key, remove it and restart again.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from pymongo.errors import PyMongoError

from services.admin.databases import (
    DatabaseError,
    database_options,
    databases,
    service_databases,
)
from services.common.resealing import ContactHolder, Progress, count_by_key, reseal
from services.common.sealing import ContactKeySettings, KeyRing, new_key_line
from services.intake.repository import REPORT_CONTACTS
from services.routing.contacts import CASE_CONTACTS

HOLDERS = {"intake": REPORT_CONTACTS, "routing": CASE_CONTACTS}
PROG = "incidents-admin contact-keys"


def register(commands: Any) -> None:
    """Add `contact-keys new|status|rekey`."""
    parser = commands.add_parser(
        "contact-keys",
        help="keys sealing reporters' contacts: new key, status per key, re-seal (rotation)",
        description=(__doc__ or "").split("\n\n", 1)[-1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="print a fresh id:key entry for CONTACT_KEYS")
    new.add_argument(
        "--id", dest="key_id", default=None, help="the key's id (default: k<yyyymmdd>)"
    )
    new.set_defaults(handler=new_command)
    status = actions.add_parser(
        "status", parents=[database_options()], help="count stored contacts per key id"
    )
    status.set_defaults(handler=status_command)
    rekey = actions.add_parser(
        "rekey",
        parents=[database_options()],
        help="seal every stored contact under the current key (resumable)",
    )
    rekey.add_argument("--batch", type=int, default=200, help="documents per write (200)")
    rekey.set_defaults(handler=rekey_command)


def new_command(args: argparse.Namespace) -> int:
    """Print `id:key`; the id names the key in every value it seals."""
    key_id = args.key_id or f"k{datetime.now(UTC):%Y%m%d}"
    try:
        print(new_key_line(key_id))
    except ValueError as exc:
        print(f"{PROG} new: {exc}", file=sys.stderr)
        return 2
    return 0


def _holders(args: argparse.Namespace) -> list[ContactHolder]:
    """The chosen services that hold contacts (notify holds none)."""
    return [HOLDERS[db.service] for db in service_databases(args) if db.service in HOLDERS]


async def status_command(args: argparse.Namespace) -> int:
    """Count contacts per key id, per service."""
    counts: dict[str, Counter[str]] = {}
    try:
        holders = _holders(args)
        async with databases(args, [holder.service for holder in holders]) as found:
            for holder in holders:
                counts[holder.service] = await count_by_key(found[holder.service], holder)
    except (DatabaseError, PyMongoError) as exc:
        print(f"{PROG} status: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({service: dict(by_key) for service, by_key in counts.items()}))
        return 0
    for service, by_key in counts.items():
        keys = ", ".join(f"{key}: {n}" for key, n in sorted(by_key.items())) or "no contacts"
        print(f"{service:<8} {keys}")
    return 0


def key_ring() -> KeyRing:
    """The ring CONTACT_KEYS gives (as intake and routing read it); ValueError when malformed
    or unset (re-sealing under the public development key would protect nothing)."""
    settings = ContactKeySettings()
    if settings.contact_keys is None:
        raise ValueError("CONTACT_KEYS is not set: set it as on intake and routing")
    return settings.contact_key_ring()


async def rekey_command(args: argparse.Namespace) -> int:
    """Re-seal under the current key; exit 1 when a contact could not be opened."""
    try:
        ring = key_ring()
    except (ValueError, ValidationError) as exc:
        print(f"{PROG} rekey: {exc}", file=sys.stderr)
        return 2
    if args.batch < 1:
        print(f"{PROG} rekey: --batch must be at least 1", file=sys.stderr)
        return 2
    failed = 0
    try:
        holders = _holders(args)
        async with databases(args, [holder.service for holder in holders]) as found:
            for holder in holders:
                done = await reseal(
                    found[holder.service], holder, ring, batch=args.batch, report=_printer(holder)
                )
                failed += done.failed
                _summary(holder, ring, done)
    except (DatabaseError, PyMongoError) as exc:
        print(f"{PROG} rekey: {exc} (run it again: it goes on where it stopped)", file=sys.stderr)
        return 1
    return 1 if failed else 0


def _printer(holder: ContactHolder) -> Any:
    def progress(done: Progress) -> None:
        print(f"{holder.service}: {done.documents} documents read, {done.resealed} re-sealed")

    return progress


def _summary(holder: ContactHolder, ring: KeyRing, done: Progress) -> None:
    print(
        f"{holder.service}: done, {done.resealed} documents re-sealed under key "
        f"{ring.current_id!r}, {done.failed} contacts could not be opened"
    )
    for error in done.errors[:20]:
        print(f"  {error}", file=sys.stderr)
