"""The image's HEALTHCHECK finds the running service's port from its command line."""

import pytest

from services.healthcheck import service_port
from services.intake.settings import IntakeSettings
from services.notify.settings import NotifySettings
from services.routing.settings import RoutingSettings

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("command_line", "port"),
    [
        ("/usr/local/bin/python /usr/local/bin/incidents-intake ", IntakeSettings().port),
        ("python -m services.routing ", RoutingSettings().port),
        ("/usr/local/bin/python /usr/local/bin/incidents-notify ", NotifySettings().port),
    ],
)
def test_port_of_the_service_on_the_command_line(command_line: str, port: int) -> None:
    assert service_port(command_line) == port


def test_the_port_follows_the_service_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTING_PORT", "9181")
    assert service_port("incidents-routing") == 9181


def test_another_command_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of intake, routing, notify"):
        service_port("python -m http.server")
