"""The deployment files agree with the code: every service's Deployment probes `/readyz` on the
admin listener the settings give it, takes the secrets the service refuses to start without,
and every manifest is applied; compose and Kubernetes run the same pinned images."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.intake.settings import IntakeSettings
from services.notify.settings import NotifySettings
from services.routing.settings import RoutingSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
KUBERNETES = ROOT / "deploy" / "kubernetes"
SETTINGS = {"intake": IntakeSettings, "routing": RoutingSettings, "notify": NotifySettings}
REQUIRED_SECRETS = {
    "intake": {"INTAKE_CSRF_SECRET", "EVIDENCE_LINK_SECRET", "CONTACT_KEYS", "AMQP_URL"},
    "routing": {"ROUTING_SESSION_SECRET", "EVIDENCE_LINK_SECRET", "CONTACT_KEYS", "AMQP_URL"},
    "notify": {"AMQP_URL"},
}


def _documents(name: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((KUBERNETES / name).read_text()) if d]


def _container(service: str) -> dict[str, Any]:
    deployment = next(d for d in _documents(f"{service}.yaml") if d["kind"] == "Deployment")
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    return containers[0]


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_readiness_is_probed_on_the_admin_listener(service: str) -> None:
    container = _container(service)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    settings = SETTINGS[service]()
    assert ports == {"http": settings.port, "admin": settings.admin_listener_port}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "admin"}
    assert container["command"] == [f"incidents-{service}"]


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_each_service_gets_the_secrets_it_needs(service: str) -> None:
    names = {e["name"] for e in _container(service)["env"] if "secretKeyRef" in e["valueFrom"]}
    assert REQUIRED_SECRETS[service] <= names


def test_every_manifest_is_applied() -> None:
    listed = set(yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())["resources"])
    present = {p.name for p in KUBERNETES.glob("*.yaml")}
    assert listed == present - {"kustomization.yaml", "secrets.example.yaml"}


def test_compose_and_kubernetes_run_the_same_pinned_images() -> None:
    pinned = re.compile(r"(?:rabbitmq|mongo):[\w.-]+@sha256:[0-9a-f]{64}")
    compose = set(pinned.findall((ROOT / "docker-compose.yml").read_text()))
    kubernetes = {m for p in KUBERNETES.glob("*.yaml") for m in pinned.findall(p.read_text())}
    assert compose == kubernetes and len(compose) == 2
