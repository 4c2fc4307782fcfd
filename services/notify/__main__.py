"""Run notify: `python -m services.notify`."""

from __future__ import annotations

import sys

from services.common.log import configure_logging
from services.common.policyfile import PolicyError
from services.common.service import serve
from services.notify.app import create_app
from services.notify.settings import NotifySettings


def main(argv: list[str]) -> int:
    """Serve until SIGTERM/SIGINT."""
    if argv:
        print("usage: python -m services.notify", file=sys.stderr)
        return 2
    settings = NotifySettings()
    configure_logging(settings.log_level, service="notify")
    try:
        app = create_app(settings)
    except (PolicyError, ValueError) as exc:
        print(f"notify: cannot start: {exc}", file=sys.stderr)
        return 1
    serve(app, settings)
    return 0


def run() -> None:
    """The `incidents-notify` command."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    run()
