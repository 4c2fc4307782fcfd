"""Demo staff accounts for `./scripts/run`: made once in routing's database, their passwords and
TOTP secrets kept in var/demo-accounts.json (readable by you only) and printed at start.

`python scripts/demo/accounts.py LOGIN` prints the account's current six-digit code, for
signing in without an authenticator app (an app reads the printed `otpauth://` URI).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

import pyotp

from services.common.clock import utcnow
from services.common.mongo import mongo_database
from services.routing.accounts import Accounts
from services.routing.people import Person, Role

VAR = Path(__file__).resolve().parents[2] / "var"
# login, display name, role, agency
DEMO_ACCOUNTS = (
    ("police-officer", "Nguyễn Văn An", Role.OFFICER, "police"),
    ("police-lead", "Trần Thị Bình", Role.LEAD, "police"),
    ("culture-officer", "Lê Văn Cường", Role.OFFICER, "culture_office"),
    ("party-officer", "Phạm Thu Hà", Role.OFFICER, "party_committee"),
    ("supervisor", "Hoàng Minh Đức", Role.SUPERVISOR, None),
    ("auditor", "Đỗ Thị Lan", Role.AUDITOR, None),
    ("admin", "Quản trị hệ thống", Role.ADMIN, None),
)


def demo_accounts(mongo_url: str, database: str, path: Path) -> dict[str, Any]:
    """The demo accounts of `database` (made once): login -> {password, totp_secret,
    totp_uri, role}. An account of a demo login that this file does not list was made by
    someone else: it is left as it is (and not listed)."""
    saved: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    known = saved.setdefault(database, {})
    asyncio.run(_ensure(mongo_url, database, known))
    _write_private(path, json.dumps(saved, indent=2, ensure_ascii=False))
    return dict(known)


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by its owner only from the start."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a file made earlier with a wider mode
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


async def _ensure(mongo_url: str, database: str, known: dict[str, Any]) -> None:
    """Make the demo accounts that do not exist yet, recording their secrets in `known`."""
    async with mongo_database(mongo_url, database, timeout_ms=5000) as db:
        accounts = Accounts(db, clock=utcnow)
        await accounts.ensure_indexes()
        for login, name, role, agency in DEMO_ACCOUNTS:
            if await accounts.by_login(login) is not None:
                continue  # made by this script (and listed) or by someone else: never reset
            known.pop(login, None)
            password = secrets.token_urlsafe(12)
            person = Person(account_id="", name=name, role=role, agency=agency)
            secret = (await accounts.create(person, login, password)).totp_secret
            uri = pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name="Incidents demo")
            known[login] = {"password": password, "totp_secret": secret, "totp_uri": uri}
            known[login]["role"] = role.value


def banner_lines(accounts: dict[str, Any]) -> list[str]:
    """What the start banner says about signing in to the console."""
    lines = ["Console accounts (kept in var/demo-accounts.json; login, role, password):"]
    lines += [f"  {login:<16} {a['role']:<10} {a['password']}" for login, a in accounts.items()]
    lines.append(
        "  the six-digit code: an authenticator app with the account's totp_uri, or "
        "`.venv/bin/python scripts/demo/accounts.py police-officer`"
    )
    return lines


def main() -> int:
    """Print the current TOTP code of a demo account."""
    if len(sys.argv) != 2:
        print("usage: scripts/demo/accounts.py LOGIN", file=sys.stderr)
        return 2
    path = VAR / "demo-accounts.json"
    if not path.exists():
        print(f"no {path}: start the system once with ./scripts/run", file=sys.stderr)
        return 1
    saved = json.loads(path.read_text())
    for accounts in saved.values():
        if sys.argv[1] in accounts:
            print(pyotp.TOTP(accounts[sys.argv[1]]["totp_secret"]).now())
            return 0
    print(f"no demo account {sys.argv[1]!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
