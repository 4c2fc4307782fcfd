"""A notifier with a bad configuration refuses to start and says why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def start_notify(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFY_")}
    return subprocess.run(
        [sys.executable, "-m", "services.notify"],
        env={**inherited, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_bad_escalation_policy_stops_the_service_naming_the_problem(tmp_path: Path) -> None:
    policy = tmp_path / "escalation.toml"
    policy.write_text(
        'version = "x"\n[[levels]]\nlevel = 1\nafter = "soon"\nroles = ["sup"]\n'
        '[[targets]]\nid = "t"\nrole = "sup"\n'
    )
    result = start_notify({"NOTIFY_POLICY_PATH": str(policy)})
    assert result.returncode == 1
    assert "notify: cannot start:" in result.stderr
    assert "levels[0], field after: Value error, bad duration 'soon'" in result.stderr


def test_webhook_targets_without_a_signing_secret_stop_the_service(tmp_path: Path) -> None:
    policy = tmp_path / "escalation.toml"
    policy.write_text(
        'version = "x"\n[[levels]]\nlevel = 1\nafter = "0s"\nroles = ["sup"]\n'
        '[[targets]]\nid = "t"\nrole = "sup"\nwebhook = "https://hooks.example.org/x"\n'
    )
    result = start_notify({"NOTIFY_POLICY_PATH": str(policy)})
    assert result.returncode == 1
    assert "neither NOTIFY_WEBHOOK_SECRETS nor NOTIFY_WEBHOOK_SECRET is set" in result.stderr


def test_a_malformed_webhook_secret_stops_the_service_naming_it() -> None:
    result = start_notify({"NOTIFY_WEBHOOK_SECRETS": '["whsec_c2hvcnQ="]'})
    assert result.returncode == 1
    assert "NOTIFY_WEBHOOK_SECRETS[0]: the key is 5 bytes" in result.stderr


def test_a_bad_calendars_file_stops_the_service_naming_the_line(tmp_path: Path) -> None:
    calendars = tmp_path / "calendars.toml"
    calendars.write_text(
        '[[calendars]]\nid = "default"\n\n[[calendars]]\nid = "office"\nperiods = ["17:00-07:30"]\n'
    )
    result = start_notify({"CALENDARS_FILE": str(calendars)})
    assert result.returncode == 1
    assert "notify: cannot start:" in result.stderr
    assert "calendar 'office' (line 5), field periods" in result.stderr
    assert "must start before it ends" in result.stderr
