"""Run intake: `python -m services.intake`."""

from aiohttp import web

from services.common.log import configure_logging
from services.intake.app import create_app
from services.intake.settings import IntakeSettings


def main() -> None:
    """Read settings from the environment and serve until SIGTERM/SIGINT."""
    settings = IntakeSettings()
    configure_logging(settings.log_level, service="intake")
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)


if __name__ == "__main__":
    main()
