"""`incidents-admin`: one entry point; each command group lives in its own module here.

A command module defines `register(commands)`, which adds its sub-parsers to `commands` (the
object `argparse.ArgumentParser.add_subparsers` returns) and sets `handler` on each of them
with `set_defaults(handler=...)`. A handler takes the parsed arguments and returns the process
exit code; it may be a coroutine function. Modules are found by name in `COMMAND_MODULES`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "policies",
    "keys",
    "dlq",
    "outboxes",
    "export",
    "retention",
    "deliveries",
    "brokerusers",
    "accounts",
    "contactkeys",
)


def build_parser() -> argparse.ArgumentParser:
    """The parser with every command module that is present registered."""
    parser = argparse.ArgumentParser(
        prog="incidents-admin",
        description="Operate the incident reporting services: policies, keys, dead letters, "
        "outboxes, exports, retention, webhook deliveries and broker users.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"{__package__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
            continue
        module.register(commands)
    return parser


def main(argv: Sequence[str]) -> int:
    """Parse `argv` and run the chosen command; its exit code."""
    args = build_parser().parse_args(argv)
    result = args.handler(args)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    return int(result)


def run() -> None:
    """The `incidents-admin` console script."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    run()
