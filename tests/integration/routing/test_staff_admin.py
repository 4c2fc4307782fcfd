"""`incidents-admin accounts` against routing's database: an account it makes signs in with the
password and TOTP secret it printed; bad arguments exit 2 naming them; disabling ends the
account's sessions."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.routing.settings import RoutingSettings
from tests.helpers import console_sign_in
from tests.integration.admin.support import Run, admin

pytestmark = pytest.mark.integration
Client = TestClient[Any, Any]


@pytest.fixture
def accounts_command(routing_settings: RoutingSettings) -> Any:
    """Run `incidents-admin accounts ...` against the test's routing database."""

    async def run(*argv: str) -> Run:
        database = ["--mongo-url", routing_settings.mongo_url]
        database += ["--database", routing_settings.mongo_db]
        return await admin("accounts", *argv, *database)

    return run


async def test_an_account_made_by_the_command_signs_in_and_is_disabled_by_it(
    routing: Client, accounts_command: Any
) -> None:
    made = await accounts_command(
        "create", "--login", "nva", "--name", "Nguyễn Văn An", "--role", "officer",
        "--agency", "police", "--json",
    )  # fmt: skip
    assert made.code == 0, made.err
    shown = made.json()
    assert shown["account_id"] == "police/nva" and len(shown["password"]) >= 12
    assert (
        shown["totp_uri"].startswith("otpauth://totp/")
        and shown["totp_secret"] in shown["totp_uri"]
    )
    signed = await console_sign_in(routing, "nva", shown["totp_secret"], password=shown["password"])
    assert signed.status == 303
    listed = await accounts_command("list", "--json")
    assert [a["account_id"] for a in listed.json()] == ["police/nva"]
    assert shown["password"] not in listed.out and shown["totp_secret"] not in listed.out
    assert (await routing.get("/console/cases", allow_redirects=False)).status == 200
    disabled = await accounts_command("disable", "nva")
    assert disabled.code == 0 and "police/nva" in disabled.out
    assert (await routing.get("/console/cases", allow_redirects=False)).status == 303
    assert (await accounts_command("enable", "police/nva")).code == 0
    reset = await accounts_command("reset-totp", "nva")
    assert reset.code == 0 and "otpauth://" in reset.out and shown["totp_secret"] not in reset.out


@pytest.mark.parametrize(
    ("argv", "argument"),
    [
        (["--role", "officer"], "--agency"),  # an officer works for an agency
        (["--role", "officer", "--agency", "nowhere"], "--agency"),
        (["--role", "chief"], "--role"),
        (["--role", "supervisor", "--scope-province", "99"], "--scope-province"),
        (["--role", "auditor", "--agency", "police"], "--agency"),
    ],
)
async def test_bad_arguments_exit_2_naming_them(
    accounts_command: Any, argv: list[str], argument: str
) -> None:
    run = await accounts_command("create", "--login", "x1", "--name", "X", *argv)
    assert run.code == 2 and argument in run.err, run.err


async def test_a_login_taken_exits_2_naming_it(accounts_command: Any) -> None:
    first = ["create", "--login", "giam-sat", "--name", "Giám sát", "--role", "supervisor"]
    assert (await accounts_command(*first)).code == 0
    again = await accounts_command(*first)
    assert again.code == 2 and "--login" in again.err and "taken" in again.err
