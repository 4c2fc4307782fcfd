"""`incidents-admin keys` without a database: arguments, what it prints, the legacy token."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.admin.cli import build_parser, main
from services.admin.keys import key_summary, known_principals, render_issued, render_table
from services.common.auth import hash_token
from services.routing.apikeys import Scope, new_key

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_scopes_are_repeatable_or_comma_separated() -> None:
    args = build_parser().parse_args(
        ["keys", "create", "police", "--scope", "cases:read,cases:write", "--scope", "cases:read"]
    )
    assert args.scopes == [Scope.CASES_READ, Scope.CASES_WRITE, Scope.CASES_READ]


@pytest.mark.parametrize(
    "argv",
    [
        ["keys", "create", "police"],  # a key needs at least one scope
        ["keys", "create", "police", "--scope", "cases:delete"],
        ["keys", "create", "police", "--scope", ","],
        ["keys", "rotate", "abc", "--grace-hours", "-1"],
        ["keys", "rotate", "abc", "--grace-hours", "soon"],
        ["keys", "rotate", "abc", "--grace-hours", "100000"],
    ],
)
def test_bad_arguments_are_refused_naming_them(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    assert exit_.value.code == 2
    option = "--grace-hours" if "rotate" in argv else "--scope"
    assert option in capsys.readouterr().err


def test_keys_can_be_made_for_the_policys_agencies_and_supervisors() -> None:
    assert known_principals(None) == {"police", "culture_office", "party_committee", "supervisor"}


def test_a_new_key_is_shown_once_with_what_it_may_do() -> None:
    issued = new_key("police", [Scope.CASES_READ], now=NOW, created_by="ops")
    text = render_issued(issued, as_json=False)
    assert issued.key in text and issued.record.key_id in text and "cases:read" in text
    assert "cannot be shown again" in text
    as_json = json.loads(render_issued(issued, as_json=True))
    assert as_json["key"] == issued.key and "secret_sha256" not in as_json


def test_the_list_shows_state_and_last_use_never_a_secret() -> None:
    active = new_key("police", [Scope.CASES_READ], now=NOW, created_by="ops", note="CMS").record
    used = active.model_copy(update={"last_used_at": NOW + timedelta(minutes=5)})
    rotated = new_key("police", [Scope.CASES_WRITE], now=NOW, created_by="ops").record
    rotated = rotated.model_copy(update={"expires_at": NOW + timedelta(hours=24)})
    revoked = new_key("supervisor", list(Scope), now=NOW, created_by="ops").record
    revoked = revoked.model_copy(update={"revoked_at": NOW})
    table = render_table([used, rotated, revoked], NOW + timedelta(hours=1))
    lines = table.splitlines()
    assert lines[0].split() == [
        "KEY",
        "ID",
        "AGENCY",
        "SCOPES",
        "STATE",
        "CREATED",
        "LAST",
        "USED",
        "NOTE",
    ]
    assert "active" in lines[1] and "2026-11-30 08:05" in lines[1] and "CMS" in lines[1]
    assert "expiring 2026-12-01 08:00" in lines[2] and "never" in lines[2]
    assert "revoked" in lines[3]
    for record in (used, rotated, revoked):
        assert record.secret_sha256 not in table
        assert "secret_sha256" not in key_summary(record, NOW)
    assert render_table([], NOW) == "no keys"


def test_legacy_token_prints_a_token_and_its_routing_tokens_entry(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["keys", "legacy-token", "police"]) == 0
    lines = capsys.readouterr().out.splitlines()
    token = lines[0].removeprefix("token: ")
    entry = json.loads(lines[2].removeprefix("ROUTING_TOKENS entry: "))
    assert entry == {hash_token(token): "police"}
