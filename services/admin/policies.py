"""`incidents-admin policy`: check a routing or escalation policy file as the services load it,
and export the JSON Schema editors use to check policy files as people type.

`validate` runs the services' own loaders, so a file it passes is one the service starts with,
and a file it refuses is refused with the same message (entry, line, problem). `schema` writes
the JSON Schema of the file's shape (fields, types, enums, durations); what only the loader can
check (unknown agencies in rules, duplicate ids, levels in order) `validate` checks. TOML
editors (taplo, VS Code's Even Better TOML) pick the schema up from a first line such as
`#:schema ./routing-policy.schema.json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from services.common.policyfile import PolicyError, load_toml
from services.notify import escalation
from services.routing import policy as routing_policy

ROUTING, ESCALATION = "routing", "escalation"
KINDS = (ROUTING, ESCALATION)
# What only each kind of file has at its top level.
MARKERS = {ROUTING: {"agencies", "rules"}, ESCALATION: {"levels", "targets", "overrides"}}
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
# The durations of services.common.policyfile: 30s, 90m, 24h, 7d, 1h30m (at least one part).
DURATION_PATTERN = r"^\s*(\d+d(\d+h)?(\d+m)?(\d+s)?|\d+h(\d+m)?(\d+s)?|\d+m(\d+s)?|\d+s)\s*$"
TITLES = {ROUTING: "Routing policy", ESCALATION: "Escalation policy"}


def register(commands: Any) -> None:
    """Add `policy validate|schema`."""
    policy = commands.add_parser(
        "policy",
        help="policy files: validate, export their JSON Schema",
        description="Check routing and escalation policy files as the services load them.",
    )
    actions = policy.add_subparsers(dest="policy_action", metavar="ACTION", required=True)
    validate = actions.add_parser("validate", help="check a policy file; exit 1 if invalid")
    validate.add_argument("file", metavar="FILE", type=Path)
    validate.add_argument(
        "--kind", choices=KINDS, help="routing or escalation (guessed from the content)"
    )
    validate.set_defaults(handler=validate_command)
    schema = actions.add_parser("schema", help="the JSON Schema of a kind of policy file")
    schema.add_argument("--kind", choices=KINDS, required=True)
    schema.add_argument("-o", "--output", type=Path, help="write it here (default: stdout)")
    schema.set_defaults(handler=schema_command)


def guess_kind(text: str, name: str) -> str:
    """The kind of policy a file holds, from the tables it has; PolicyError when unclear."""
    keys = set(load_toml(text, name))
    found = [kind for kind in KINDS if keys & MARKERS[kind]]
    if len(found) != 1:
        raise PolicyError(
            f"{name}: cannot tell whether this is a routing policy (agencies, rules) or an "
            "escalation policy (levels, targets); give --kind"
        )
    return found[0]


def summary(kind: str, text: str, name: str) -> str:
    """Load `text` as the service does; one line about the valid policy, or PolicyError."""
    if kind == ROUTING:
        loaded = routing_policy.parse_policy(text, name)
        return (
            f"{name}: valid routing policy {loaded.version}: {len(loaded.agencies)} agencies, "
            f"{len(loaded.rules)} rules"
        )
    policy = escalation.parse_escalation_policy(text, name)
    line = (
        f"{name}: valid escalation policy {policy.version}: {len(policy.levels)} levels, "
        f"{len(policy.targets)} targets, {len(policy.by_priority)} priority overrides"
    )
    if any(target.webhook for target in policy.targets):
        line += " (webhook targets: notify needs NOTIFY_WEBHOOK_SECRET)"
    return line


def validate_command(args: argparse.Namespace) -> int:
    """Print what the policy holds, or its problems (exit 1)."""
    path: Path = args.file
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read the policy file: {exc}", file=sys.stderr)
        return 1
    try:
        print(summary(args.kind or guess_kind(text, str(path)), text, str(path)))
    except PolicyError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


class PolicySchema(GenerateJsonSchema):
    """JSON Schema as policy files are written: durations as text, no nulls (TOML has none)."""

    def timedelta_schema(self, schema: core_schema.TimedeltaSchema) -> JsonSchemaValue:
        """A duration is written `24h`, `90m`, `1h30m` ..."""
        return {"type": "string", "pattern": DURATION_PATTERN, "examples": ["24h", "1h30m"]}

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        """An optional field is left out, never null."""
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        """No `default: null` for fields that are simply left out."""
        value = super().default_schema(schema)
        if value.get("default", ...) is None:
            value.pop("default")
        return value


def file_model(kind: str) -> type[BaseModel]:
    """The pydantic model the service validates a file of `kind` with."""
    return routing_policy._PolicyFile if kind == ROUTING else escalation._PolicyFile


def policy_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a policy file of `kind`."""
    schema = file_model(kind).model_json_schema(schema_generator=PolicySchema)
    schema["title"] = TITLES[kind]
    schema["description"] = (
        f"A {kind} policy file of the incident reporting services. Checks the shape; "
        "`incidents-admin policy validate` also checks references between entries."
    )
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def schema_command(args: argparse.Namespace) -> int:
    """Print or write the JSON Schema."""
    text = json.dumps(policy_schema(args.kind), indent=2, ensure_ascii=False) + "\n"
    write: Callable[[str], Any] = sys.stdout.write
    if args.output is not None:
        try:
            args.output.write_text(text, "utf-8")
        except OSError as exc:
            print(f"cannot write {args.output}: {exc}", file=sys.stderr)
            return 1
        print(f"wrote {args.output}", file=sys.stderr)
        return 0
    write(text)
    return 0
