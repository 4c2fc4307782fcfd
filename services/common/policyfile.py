"""What every policy file shares: TOML loading, durations, and errors that name entry and line."""

from __future__ import annotations

import re
import tomllib
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ValidationError

DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class PolicyError(ValueError):
    """A policy file is invalid; the message names the entry, the line and the problem."""


def parse_offset(value: Any) -> timedelta:
    """`0s`, `90m`, `24h`, `7d`, `1h30m` -> timedelta (zero allowed)."""
    if isinstance(value, timedelta):
        return value
    match = DURATION.match(value.strip()) if isinstance(value, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"bad duration {value!r}: use e.g. 30s, 90m, 24h, 7d, 1h30m")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def parse_duration(value: Any) -> timedelta:
    """Like `parse_offset`, but the duration must be positive."""
    duration = parse_offset(value)
    if duration <= timedelta(0):
        raise ValueError(f"duration {value!r} must be positive")
    return duration


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Offset = Annotated[timedelta, BeforeValidator(parse_offset)]


def read_policy_text(path: Path | None, package: str, default_name: str) -> tuple[str, str]:
    """The policy text and a name for messages: the file at `path`, or the packaged default."""
    if path is None:
        return resources.files(package).joinpath(default_name).read_text("utf-8"), default_name
    try:
        return path.read_text("utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc}") from exc


def load_toml(text: str, name: str) -> dict[str, Any]:
    """Parse TOML, or raise PolicyError saying where it is malformed."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{name}: not valid TOML: {exc}") from exc


ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_model(text: str, name: str, model: type[ModelT], kinds: dict[str, str]) -> ModelT:
    """TOML text validated into `model`; PolicyError naming each bad entry (of `kinds`) and line."""
    raw = load_toml(text, name)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(describe_errors(exc, raw, text, name, kinds)) from exc


def describe_errors(
    exc: ValidationError, raw: dict[str, Any], text: str, name: str, kinds: dict[str, str]
) -> str:
    """One line per problem, naming the entry (by its `id` and line) of the lists in `kinds`."""
    problems = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] in kinds and isinstance(loc[1], int):
            entry = (raw.get(str(loc[0])) or [{}])[loc[1]]
            ident = entry.get("id") if isinstance(entry, dict) else None
            where = f"{kinds[str(loc[0])]} {ident!r}" if ident else f"{loc[0]}[{loc[1]}]"
            where += f"{line_of(text, ident)}, field {'.'.join(str(p) for p in loc[2:]) or '-'}"
        problems.append(f"{where}: {error['msg']}")
    return invalid(name, problems)


def invalid(name: str, problems: list[str]) -> str:
    """The message for a policy with these problems."""
    return f"{name}: invalid policy:\n  " + "\n  ".join(problems)


def line_of(text: str, ident: object) -> str:
    """` (line N)` for the entry whose `id = "ident"`, or "" when it cannot be found."""
    if not isinstance(ident, str):
        return ""
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf'^\s*id\s*=\s*"{re.escape(ident)}"', line):
            return f" (line {number})"
    return ""
