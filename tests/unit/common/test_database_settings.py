"""Each service's database server: its own `<SERVICE>_MONGO_URL`, else the shared `MONGO_URL`."""

import pytest
from pydantic_settings import BaseSettings

from services.admin.databases import database_options, server_url
from services.common.settings import DEFAULT_MONGO_URL
from services.intake.settings import IntakeSettings
from services.notify.settings import NotifySettings
from services.routing.settings import RoutingSettings

pytestmark = pytest.mark.unit

SETTINGS: dict[str, type[BaseSettings]] = {
    "intake": IntakeSettings,
    "routing": RoutingSettings,
    "notify": NotifySettings,
}


@pytest.fixture(autouse=True)
def no_database_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MONGO_URL", *(f"{service.upper()}_MONGO_URL" for service in SETTINGS)):
        monkeypatch.delenv(name, raising=False)


def test_every_service_uses_the_shared_server_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert {s().mongo_url for s in SETTINGS.values()} == {DEFAULT_MONGO_URL}  # type: ignore[attr-defined]
    monkeypatch.setenv("MONGO_URL", "mongodb://shared:27017/")
    assert {s().mongo_url for s in SETTINGS.values()} == {"mongodb://shared:27017/"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_a_service_of_its_own_server_leaves_the_others_on_the_shared_one(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONGO_URL", "mongodb://shared:27017/")
    monkeypatch.setenv(f"{service.upper()}_MONGO_URL", "mongodb://own:27017/")
    urls = {name: settings().mongo_url for name, settings in SETTINGS.items()}  # type: ignore[attr-defined]
    assert urls == {
        name: "mongodb://own:27017/" if name == service else "mongodb://shared:27017/"
        for name in SETTINGS
    }


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_an_empty_variable_is_unset_for_the_service_and_the_admin_tools_alike(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{service.upper()}_MONGO_URL", "")  # as `INTAKE_MONGO_URL=` leaves it
    monkeypatch.setenv("MONGO_URL", "mongodb://shared:27017/")
    args = database_options().parse_args([])
    assert SETTINGS[service]().mongo_url == "mongodb://shared:27017/"  # type: ignore[attr-defined]
    assert server_url(args, service) == "mongodb://shared:27017/"
    monkeypatch.setenv("MONGO_URL", "")
    args = database_options().parse_args([])
    assert SETTINGS[service]().mongo_url == DEFAULT_MONGO_URL  # type: ignore[attr-defined]
    assert server_url(args, service) == DEFAULT_MONGO_URL
