"""The container image's HEALTHCHECK: `python -m services.healthcheck`.

One image runs any of the three services; the process with id 1 is the service, so its command
line says which one, and that service's own settings (the same environment) give its admin
listener's port. Exit 0 when `/readyz` answers 200 within three seconds, 1 otherwise, as Docker
expects.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

SERVICES = ("intake", "routing", "notify")


def service_port(command_line: str) -> int:
    """The admin port of the service that `command_line` runs, from its settings."""
    if "intake" in command_line:
        from services.intake.settings import IntakeSettings

        return IntakeSettings().admin_listener_port
    if "routing" in command_line:
        from services.routing.settings import RoutingSettings

        return RoutingSettings().admin_listener_port
    if "notify" in command_line:
        from services.notify.settings import NotifySettings

        return NotifySettings().admin_listener_port
    raise ValueError(f"not one of {', '.join(SERVICES)}: {command_line!r}")


def main() -> int:
    """Probe the running service's readiness."""
    command_line = Path("/proc/1/cmdline").read_bytes().replace(b"\0", b" ").decode()
    port = service_port(command_line)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=3) as reply:
            return 0 if reply.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"not ready: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
