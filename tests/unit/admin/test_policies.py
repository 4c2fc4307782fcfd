"""`incidents-admin policy validate|schema`: the services' loaders, and a JSON Schema that
accepts the default policies and refuses what the loaders refuse in a file's shape."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs  # installed with schemathesis (dev); a JSON Schema validator in Rust
import pytest

from services.admin.cli import main
from services.admin.policies import file_model, policy_schema
from services.common.policyfile import parse_offset

pytestmark = pytest.mark.unit

DEFAULTS = {
    "routing": resources.files("services.routing").joinpath("default_policy.toml"),
    "escalation": resources.files("services.notify").joinpath("default_escalation.toml"),
}
BROKEN_ROUTING = """version = "x"

[[agencies]]
id = "police"
name_vi = "Công an"
name_en = "Police"
default_deadline = "24h"

[[rules]]
id = "scams"
category = "scam_fraud"
agency = "army"
deadline = "24h"

[[rules]]
id = "leaks"
category = "confidential_leak"
agency = "police"
deadline = "tomorrow"
"""
BROKEN_ESCALATION = """version = "x"

[[levels]]
level = 1
after = "0s"
roles = ["chief"]

[[targets]]
id = "chief-1"
role = "chief"
email = ["a@example.gov.vn"]

[[targets]]
id = "chief-1"
role = "chief"
email = ["b@example.gov.vn"]
"""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _default(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.toml"
    path.write_text(DEFAULTS[kind].read_text("utf-8"), "utf-8")
    return path


@pytest.mark.parametrize("kind", ["routing", "escalation"])
def test_the_default_policies_validate_with_or_without_their_kind(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _default(kind, tmp_path)
    code, out, err = _run(capsys, "policy", "validate", str(path))
    assert (code, err) == (0, "")
    assert f"valid {kind} policy" in out
    assert _run(capsys, "policy", "validate", str(path), "--kind", kind)[0] == 0


def test_a_broken_routing_policy_fails_naming_each_entry_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "routing.toml"
    path.write_text(BROKEN_ROUTING, "utf-8")
    code, out, err = _run(capsys, "policy", "validate", str(path))
    assert code == 1 and out == ""
    assert "rule 'leaks' (line 16), field deadline" in err
    assert "bad duration 'tomorrow'" in err


def test_the_loaders_second_pass_is_run_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "routing.toml"
    path.write_text(BROKEN_ROUTING.replace('"tomorrow"', '"12h"'), "utf-8")
    code, _, err = _run(capsys, "policy", "validate", str(path), "--kind", "routing")
    assert code == 1
    assert "rule 'scams' (line 10): unknown agency 'army'" in err


def test_a_broken_escalation_policy_fails_naming_the_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "escalation.toml"
    path.write_text(BROKEN_ESCALATION, "utf-8")
    code, _, err = _run(capsys, "policy", "validate", str(path))
    assert code == 1
    assert "target 'chief-1' (line 9): duplicate id" in err


def test_a_file_of_neither_kind_asks_for_the_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "what.toml"
    path.write_text('version = "1"\n', "utf-8")
    code, _, err = _run(capsys, "policy", "validate", str(path))
    assert code == 1 and "give --kind" in err
    path.write_text("version = \n", "utf-8")
    code, _, err = _run(capsys, "policy", "validate", str(path))
    assert code == 1 and "not valid TOML" in err
    code, _, err = _run(capsys, "policy", "validate", str(tmp_path / "missing.toml"))
    assert code == 1 and "cannot read" in err


@pytest.mark.parametrize("kind", ["routing", "escalation"])
def test_the_exported_schema_accepts_the_default_policy(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / f"{kind}.schema.json"
    assert _run(capsys, "policy", "schema", "--kind", kind, "-o", str(output))[0] == 0
    schema = json.loads(output.read_text("utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    raw = tomllib.loads(DEFAULTS[kind].read_text("utf-8"))
    errors = [e.message for e in jsonschema_rs.validator_for(schema).iter_errors(raw)]
    assert errors == []
    file_model(kind).model_validate(raw)  # the same document through the model the schema is of
    code, out, _ = _run(capsys, "policy", "schema", "--kind", kind)
    assert code == 0 and json.loads(out) == schema


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("routing", lambda raw: raw["rules"][0].update(deadline="tomorrow")),
        ("routing", lambda raw: raw["rules"][0].update(category="spam")),
        ("routing", lambda raw: raw["agencies"][0].update(colour="blue")),
        ("routing", lambda raw: raw.pop("version")),
        ("escalation", lambda raw: raw["levels"][0].update(after="soon")),
        ("escalation", lambda raw: raw["overrides"][0].update(priority="asap")),
        ("escalation", lambda raw: raw["targets"][0].update(email="not-a-list")),
    ],
)
def test_the_schema_refuses_a_misshapen_policy(kind: str, change: Any) -> None:
    raw = tomllib.loads(DEFAULTS[kind].read_text("utf-8"))
    change(raw)
    assert not jsonschema_rs.validator_for(policy_schema(kind)).is_valid(raw)


@pytest.mark.parametrize("text", ["30s", "90m", "24h", "7d", "1h30m", "2d12h", "0s", " 4h "])
def test_the_schema_accepts_every_duration_the_loader_reads(text: str) -> None:
    parse_offset(text)
    raw = tomllib.loads(DEFAULTS["escalation"].read_text("utf-8"))
    raw["repeat_every"] = text
    raw.pop("overrides")
    schema = policy_schema("escalation")
    assert jsonschema_rs.validator_for(schema).is_valid(raw)


@pytest.mark.parametrize("text", ["", "h", "24 h", "1.5h", "30m1h", "P1D"])
def test_the_schema_refuses_what_the_loader_refuses_as_a_duration(text: str) -> None:
    with pytest.raises(ValueError):
        parse_offset(text)
    raw = tomllib.loads(DEFAULTS["escalation"].read_text("utf-8"))
    raw["repeat_every"] = text
    assert not jsonschema_rs.validator_for(policy_schema("escalation")).is_valid(raw)
