"""Run routing: `python -m services.routing`, or `python -m services.routing token AGENCY`.

`token` makes a bootstrap bearer token for ROUTING_TOKENS (every scope; also the console's
sign-in); agencies' systems get API keys from `incidents-admin keys create` instead.
"""

from __future__ import annotations

import json
import sys

from services.common.auth import hash_token, new_token
from services.common.log import configure_logging
from services.common.service import serve
from services.routing.app import create_app
from services.routing.policy import PolicyError
from services.routing.settings import RoutingSettings

USAGE = "usage: python -m services.routing [token PRINCIPAL]"


def print_token(principal: str) -> None:
    """Print a new bearer token for `principal` and the ROUTING_TOKENS entry that admits it."""
    token = new_token()
    print(f"token: {token}")
    print(f"hash:  {hash_token(token)}")
    print(f"ROUTING_TOKENS entry: {json.dumps({hash_token(token): principal})}")


def main(argv: list[str]) -> int:
    """Serve until SIGTERM/SIGINT, or run the `token` command."""
    if argv[:1] == ["token"]:
        if len(argv) != 2:
            print(USAGE, file=sys.stderr)
            return 2
        print_token(argv[1])
        return 0
    if argv:
        print(USAGE, file=sys.stderr)
        return 2
    settings = RoutingSettings()
    configure_logging(settings.log_level, service="routing")
    try:
        app = create_app(settings)
    except (PolicyError, ValueError) as exc:
        print(f"routing: cannot start: {exc}", file=sys.stderr)
        return 1
    serve(app, settings)
    return 0


def run() -> None:
    """The `incidents-routing` command."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    run()
