"""What the command modules share: the one-line failure they report, and argument types."""

from __future__ import annotations

import argparse


class CommandError(Exception):
    """A failure to report to the operator in one line (exit code 1)."""


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1, in ASCII digits."""
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)
