"""`incidents-admin accounts`: staff accounts of the console in routing's database.

`create` makes a built-in account and prints its password (generated, or read from stdin with
`--password-stdin`) and TOTP secret with its `otpauth://` URI, once; `list` shows every
account without secrets; `disable` ends the account's sessions at once; `enable`,
`reset-password`, `reset-totp` (prints the new secret once) and `unlock` (clears a lockout).
A bad argument (unknown role, agency or province, a login taken, an officer without agency)
exits with 2 and a message naming it.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pymongo.errors import PyMongoError

from services.admin.databases import mongo_error_summary, routing_database
from services.common.clock import utcnow
from services.common.geography import province
from services.common.policyfile import PolicyError
from services.routing.accounts import Account, AccountProblem, Accounts, NewAccount
from services.routing.people import Person, Role
from services.routing.policy import load_policy
from services.routing.sessions import person_document
from services.routing.settings import RoutingSettings

ARGUMENTS = {
    "scope": "--scope-agency",
    "account": "ACCOUNT",
    "password": "--password-stdin",
}  # AccountProblem field -> option


def register(commands: Any) -> None:
    """Add `accounts create|list|disable|enable|reset-password|reset-totp|unlock`."""
    accounts = commands.add_parser(
        "accounts",
        help="console staff accounts: create, list, disable, reset",
        description="Manage the console's staff accounts (routing's database).",
    )
    actions = accounts.add_subparsers(dest="accounts_action", metavar="ACTION", required=True)
    database = _database_options()
    create = actions.add_parser("create", parents=[database], help="make an account")
    create.add_argument("--login", required=True, help="what they sign in with")
    create.add_argument("--name", required=True, help="display name, shown in the audit log")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--agency", help="officer and lead: the agency they work for")
    create.add_argument("--scope-agency", dest="scope_agencies", action="append", default=[])
    create.add_argument("--scope-province", dest="scope_provinces", action="append", default=[])
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    create.add_argument("--policy", type=Path, default=None, help="routing policy (agencies)")
    create.set_defaults(handler=create_command)
    listing = actions.add_parser("list", parents=[database], help="every account, no secrets")
    listing.add_argument("--agency", help="only this agency's accounts")
    listing.set_defaults(handler=list_command)
    for name, text in (
        ("disable", "disable an account; its sessions end at once"),
        ("enable", "enable a disabled account"),
        ("reset-password", "a new password (printed once, or --password-stdin)"),
        ("reset-totp", "a new TOTP secret (printed once)"),
        ("unlock", "clear failed sign-ins and a lockout"),
    ):
        action = actions.add_parser(name, parents=[database], help=text)
        action.add_argument("account", metavar="ACCOUNT", help="account id or login")
        if name == "reset-password":
            action.add_argument("--password-stdin", action="store_true")
        action.set_defaults(handler=change_command, change=name)


def _database_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--mongo-url", help="routing's MongoDB (default: $ROUTING_MONGO_URL, else $MONGO_URL)"
    )
    options.add_argument("--database", help="routing's database (default: $ROUTING_MONGO_DB)")
    options.add_argument("--json", action="store_true", help="print JSON for scripts")
    return options


@asynccontextmanager
async def account_store(args: argparse.Namespace) -> AsyncIterator[Accounts]:
    """Routing's account store in the database the options (or routing's settings) name."""
    async with routing_database(args.mongo_url, args.database) as db:
        yield Accounts(db, clock=utcnow)


def person_of(args: argparse.Namespace) -> Person:
    """The person the `create` arguments describe; AccountProblem naming a bad province."""
    for code in args.scope_provinces:
        if province(code) is None:
            raise AccountProblem("scope-province", f"unknown province code {code!r}")
    return Person(
        account_id="",
        name=args.name,
        role=Role(args.role),
        agency=args.agency,
        scope_agencies=frozenset(args.scope_agencies),
        scope_provinces=frozenset(args.scope_provinces),
    )


async def create_command(args: argparse.Namespace) -> int:
    """Make an account; print its password and TOTP secret once."""
    try:
        agencies = set(load_policy(args.policy or RoutingSettings().policy_path).agencies)
    except PolicyError as exc:
        return _fail(f"cannot read the routing policy: {exc}")
    password = _password(args)
    try:
        person = person_of(args)
        async with account_store(args) as store:
            await store.ensure_indexes()
            made = await store.create(person, args.login, password, agencies=agencies)
    except AccountProblem as exc:
        return _bad_argument(exc)
    except PyMongoError as exc:
        return _fail(_database_problem(exc))
    print(render_new(made, as_json=args.json))
    return 0


async def list_command(args: argparse.Namespace) -> int:
    """Print every account (of an agency), never a secret."""
    try:
        async with account_store(args) as store:
            accounts = await store.every(args.agency)
    except PyMongoError as exc:
        return _fail(_database_problem(exc))
    if args.json:
        print(json.dumps([account_summary(a) for a in accounts], indent=2))
    else:
        print(render_table(accounts))
    return 0


async def change_command(args: argparse.Namespace) -> int:
    """disable, enable, reset-password, reset-totp or unlock one account."""
    password = _password(args) if args.change == "reset-password" else ""
    try:
        async with account_store(args) as store:
            found = await store.get(args.account) or await store.by_login(args.account)
            if found is None:
                raise AccountProblem("account", f"no account {args.account!r}")
            account_id, secret = found.account_id, None
            if args.change in ("disable", "enable"):
                await store.set_disabled(account_id, args.change == "disable")
            elif args.change == "reset-password":
                await store.set_password(account_id, password)
            elif args.change == "reset-totp":
                found, secret = await store.reset_totp(account_id)
            else:
                await store.unlock(account_id)
    except AccountProblem as exc:
        return _bad_argument(exc)
    except PyMongoError as exc:
        return _fail(_database_problem(exc))
    print(f"{args.change}: {account_id}")
    if args.change == "reset-password" and not args.password_stdin:
        print(f"password: {password}")
    if secret is not None:
        print(render_new(NewAccount(found, "", secret), as_json=args.json, password=False))
    return 0


def _password(args: argparse.Namespace) -> str:
    """The password from stdin (one line), or a generated one (20 characters)."""
    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\r\n")
    return secrets.token_urlsafe(15)


# ---- what the commands print (pure) ----


def account_summary(account: Account) -> dict[str, Any]:
    """What `list` says about an account: everything but the password hash and TOTP secret."""
    return {
        **person_document(account.person),
        "login": account.login,
        "disabled": account.disabled,
        "locked_until": account.locked_until.isoformat() if account.locked_until else None,
        "created_at": account.created_at.isoformat(),
    }


def render_new(made: NewAccount, *, as_json: bool, password: bool = True) -> str:
    """The one time a password and TOTP secret are shown."""
    fields = {"account_id": made.account.account_id, "login": made.account.login}
    secrets_shown = {
        **({"password": made.password} if password else {}),
        "totp_secret": made.totp_secret,
        "totp_uri": made.totp_uri,
    }
    if as_json:
        return json.dumps({**fields, **secrets_shown})
    lines = [f"account:     {made.account.account_id} ({made.account.person.name})"]
    lines += [f"{name + ':':<12} {value}" for name, value in secrets_shown.items()]
    lines.append("Shown once: hand them to the person over a safe channel.")
    return "\n".join(lines)


def render_table(accounts: list[Account]) -> str:
    """One line per account."""
    if not accounts:
        return "no accounts"
    rows = [("ACCOUNT", "NAME", "ROLE", "AGENCY/SCOPE", "STATE")]
    now = utcnow()
    for account in accounts:
        person = account.person
        scope = ",".join(sorted(person.scope_agencies | person.scope_provinces))
        locked = account.locked_until is not None and account.locked_until > now
        state = "disabled" if account.disabled else "locked" if locked else "active"
        where = person.agency or scope or "-"
        rows.append((account.account_id, person.name, person.role.value, where, state))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def _database_problem(exc: PyMongoError) -> str:
    return f"routing's database did not answer: {mongo_error_summary(exc)}"


def _bad_argument(exc: AccountProblem) -> int:
    name = ARGUMENTS.get(exc.field, f"--{exc.field}")
    print(f"incidents-admin accounts: argument {name}: {exc}", file=sys.stderr)
    return 2


def _fail(message: str) -> int:
    print(f"incidents-admin accounts: {message}", file=sys.stderr)
    return 1
