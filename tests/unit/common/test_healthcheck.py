"""The image's HEALTHCHECK finds the running service's admin port from its command line."""

import pytest

from services.healthcheck import service_port

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("command_line", "port"),
    [
        ("/usr/local/bin/python /usr/local/bin/incidents-intake ", 9080),
        ("python -m services.routing ", 9081),
        ("/usr/local/bin/python /usr/local/bin/incidents-notify ", 9082),
    ],
)
def test_admin_port_of_the_service_on_the_command_line(command_line: str, port: int) -> None:
    assert service_port(command_line) == port


def test_the_admin_port_follows_the_public_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTING_PORT", "9181")
    assert service_port("incidents-routing") == 10181


def test_the_admin_port_can_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_ADMIN_PORT", "7002")
    assert service_port("incidents-notify") == 7002


def test_another_command_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of intake, routing, notify"):
        service_port("python -m http.server")
