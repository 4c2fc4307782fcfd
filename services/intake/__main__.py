"""Run intake: `python -m services.intake`."""

from services.common.log import configure_logging
from services.common.service import serve
from services.intake.app import create_app
from services.intake.settings import IntakeSettings


def main() -> None:
    """Read settings from the environment and serve until SIGTERM/SIGINT."""
    settings = IntakeSettings()
    configure_logging(settings.log_level, service="intake")
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
