"""`incidents-admin keys`: the agency API's keys in routing's database.

`create` prints a key once (only its SHA-256 is stored), `list` shows every key without
secrets, `rotate` makes a successor with the same agency and scopes and lets the old key work
until its grace period ends, `revoke` ends a key at once (every routing replica refuses it
within ROUTING_API_KEY_CACHE_SECONDS, 5 s by default). `legacy-token` makes a bootstrap token
for ROUTING_TOKENS, as `python -m services.routing token` does.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pymongo.errors import PyMongoError

from services.admin.databases import mongo_error_summary, routing_database
from services.common.auth import hash_token, new_token
from services.common.clock import utcnow
from services.common.policyfile import PolicyError
from services.routing.actions import SUPERVISOR
from services.routing.apikeys import ApiKey, ApiKeyStore, IssuedKey, KeyProblem, Scope
from services.routing.policy import load_policy
from services.routing.settings import RoutingSettings

DEFAULT_GRACE_HOURS = 24.0
MAX_GRACE_HOURS = 24.0 * 90


def register(commands: Any) -> None:
    """Add `keys create|list|rotate|revoke|legacy-token`."""
    keys = commands.add_parser(
        "keys",
        help="agency API keys: create, list, rotate, revoke",
        description="Manage the agency API's keys (stored hashed in routing's database).",
    )
    actions = keys.add_subparsers(dest="keys_action", metavar="ACTION", required=True)
    database = _database_options()
    create = actions.add_parser("create", parents=[database], help="make a key; printed once")
    create.add_argument("agency", metavar="AGENCY", help="an agency of the policy, or supervisor")
    create.add_argument(
        "--scope",
        dest="scopes",
        action="extend",
        type=_scopes,
        required=True,
        metavar="SCOPE[,SCOPE]",
        help=f"repeatable or comma-separated: {', '.join(Scope)}",
    )
    create.add_argument("--note", help="what the key is for (shown by `list`)")
    create.add_argument(
        "--policy",
        type=Path,
        default=None,
        help="routing policy naming the agencies (default: $ROUTING_POLICY_PATH or packaged)",
    )
    create.set_defaults(handler=create_command)
    listing = actions.add_parser("list", parents=[database], help="every key, no secrets")
    listing.add_argument("--agency", help="only this agency's keys")
    listing.set_defaults(handler=list_command)
    rotate = actions.add_parser(
        "rotate", parents=[database], help="a successor key; the old one ends after a grace"
    )
    rotate.add_argument("key_id", metavar="KEY_ID")
    rotate.add_argument(
        "--grace-hours",
        type=_grace_hours,
        default=DEFAULT_GRACE_HOURS,
        help=f"how long the old key keeps working (default {DEFAULT_GRACE_HOURS:g})",
    )
    rotate.set_defaults(handler=rotate_command)
    revoke = actions.add_parser("revoke", parents=[database], help="end a key at once")
    revoke.add_argument("key_id", metavar="KEY_ID")
    revoke.set_defaults(handler=revoke_command)
    legacy = actions.add_parser(
        "legacy-token", help="a bootstrap bearer token and its ROUTING_TOKENS entry"
    )
    legacy.add_argument("principal", metavar="PRINCIPAL", help="an agency id or supervisor")
    legacy.set_defaults(handler=legacy_token_command)


def _database_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--mongo-url",
        help="routing's MongoDB (default: $ROUTING_MONGO_URL, else $MONGO_URL or the services' "
        "default)",
    )
    options.add_argument(
        "--database", help="routing's database (default: $ROUTING_MONGO_DB or routing)"
    )
    options.add_argument(
        "--by", default=None, help="who is acting, recorded on the key (default: your login)"
    )
    options.add_argument("--json", action="store_true", help="print JSON for scripts")
    return options


def _scopes(text: str) -> list[Scope]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in set(Scope)]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown scope {', '.join(unknown) or text!r}; known: {', '.join(Scope)}"
        )
    return [Scope(name) for name in names]


def _grace_hours(text: str) -> float:
    try:
        hours = float(text)
    except ValueError:
        hours = -1.0
    if not 0 <= hours <= MAX_GRACE_HOURS:
        raise argparse.ArgumentTypeError(
            f"must be a number of hours from 0 to {MAX_GRACE_HOURS:g}, not {text!r}"
        )
    return hours


@asynccontextmanager
async def key_store(args: argparse.Namespace) -> AsyncIterator[ApiKeyStore]:
    """Routing's key store in the database the options (or routing's settings) name."""
    async with routing_database(args.mongo_url, args.database) as db:
        yield ApiKeyStore(db, clock=utcnow)


def _actor(args: argparse.Namespace) -> str:
    if args.by:
        return str(args.by)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or "unknown"


def known_principals(policy_path: Path | None) -> set[str]:
    """The agencies a key can be for: the routing policy's and supervisor."""
    return {*load_policy(policy_path).agencies, SUPERVISOR}


async def create_command(args: argparse.Namespace) -> int:
    """Make a key and print it once."""
    try:
        known = known_principals(args.policy or RoutingSettings().policy_path)
    except PolicyError as exc:
        return _fail(f"cannot read the routing policy: {exc}")
    if args.agency not in known:
        return _fail(f"unknown agency {args.agency!r}; known: {', '.join(sorted(known))}")
    scopes: list[Scope] = args.scopes

    def make(store: ApiKeyStore) -> Awaitable[IssuedKey]:
        return store.create(args.agency, scopes, created_by=_actor(args), note=args.note)

    return await _stored(args, make)


async def rotate_command(args: argparse.Namespace) -> int:
    """Make a successor key; the old one ends after the grace period."""
    grace = timedelta(hours=args.grace_hours)

    def make(store: ApiKeyStore) -> Awaitable[IssuedKey]:
        return store.rotate(args.key_id, grace=grace, created_by=_actor(args))

    return await _stored(args, make)


async def _stored(
    args: argparse.Namespace, make: Callable[[ApiKeyStore], Awaitable[IssuedKey]]
) -> int:
    try:
        async with key_store(args) as store:
            issued = await make(store)
    except KeyProblem as exc:
        return _fail(str(exc))
    except PyMongoError as exc:
        return _fail(database_problem(exc))
    print(render_issued(issued, as_json=args.json))
    return 0


async def list_command(args: argparse.Namespace) -> int:
    """Print every key (of an agency) with its state and last use; never a secret."""
    try:
        async with key_store(args) as store:
            keys = await store.list(args.agency)
    except PyMongoError as exc:
        return _fail(database_problem(exc))
    now = utcnow()
    if args.json:
        print(json.dumps([key_summary(key, now) for key in keys], indent=2))
    else:
        print(render_table(keys, now))
    return 0


async def revoke_command(args: argparse.Namespace) -> int:
    """End a key at once."""
    try:
        async with key_store(args) as store:
            key = await store.revoke(args.key_id, by=_actor(args))
    except KeyProblem as exc:
        return _fail(str(exc))
    except PyMongoError as exc:
        return _fail(database_problem(exc))
    summary = key_summary(key, utcnow())
    print(json.dumps(summary) if args.json else f"revoked {key.key_id} ({key.agency})")
    return 0


def legacy_token_command(args: argparse.Namespace) -> int:
    """Print a bootstrap token and the ROUTING_TOKENS entry that admits it."""
    token = new_token()
    print(f"token: {token}")
    print(f"hash:  {hash_token(token)}")
    print(f"ROUTING_TOKENS entry: {json.dumps({hash_token(token): args.principal})}")
    return 0


# ---- what the commands print (pure) ----


def key_summary(key: ApiKey, now: datetime) -> dict[str, Any]:
    """What `list` says about a key: everything but the secret's hash."""
    fields = key.model_dump(mode="json", exclude={"secret_sha256"})
    return {**fields, "state": key.state(now).value}


def render_issued(issued: IssuedKey, *, as_json: bool) -> str:
    """The new key, shown this once, with its id and what it may do."""
    record = issued.record
    if as_json:
        return json.dumps({**key_summary(record, record.created_at), "key": issued.key})
    lines = [
        f"key id:  {record.key_id}",
        f"agency:  {record.agency}",
        f"scopes:  {' '.join(record.scopes)}",
        f"key:     {issued.key}",
        "Give the key to the agency now: it is not stored and cannot be shown again.",
    ]
    if record.rotated_from:
        lines.insert(1, f"replaces: {record.rotated_from}")
    return "\n".join(lines)


def render_table(keys: list[ApiKey], now: datetime) -> str:
    """One line per key."""
    if not keys:
        return "no keys"
    header = ("KEY ID", "AGENCY", "SCOPES", "STATE", "CREATED", "LAST USED", "NOTE")
    rows = [header] + [
        (
            key.key_id,
            key.agency,
            ",".join(key.scopes),
            _state_text(key, now),
            f"{key.created_at:%Y-%m-%d %H:%M} {key.created_by}",
            f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never",
            key.note or "",
        )
        for key in keys
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def _state_text(key: ApiKey, now: datetime) -> str:
    state = key.state(now).value
    if key.expires_at is not None and key.revoked_at is None:
        return f"{state} {key.expires_at:%Y-%m-%d %H:%M}"
    return state


def database_problem(exc: PyMongoError) -> str:
    """One line about a database failure (PyMongo appends its topology; the start suffices)."""
    return f"routing's database did not answer: {mongo_error_summary(exc)}"


def _fail(message: str) -> int:
    print(f"incidents-admin keys: {message}", file=sys.stderr)
    return 1
