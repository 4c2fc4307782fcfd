"""Each service's database server: its own `<SERVICE>_MONGO_URL`, else the shared `MONGO_URL`."""

import pytest
from pydantic_settings import BaseSettings

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
