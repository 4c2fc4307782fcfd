"""Each service serves an AsyncAPI 3.0 document of its events, valid by the AsyncAPI parser,
and together they cover every event type in the contracts."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from services.common import contracts
from services.common.asyncapi import event_type
from services.common.processes import ROOT
from tests.e2e.conftest import System

pytestmark = pytest.mark.e2e

VALIDATOR = ROOT / "scripts" / "asyncapi"
HOW_TO_INSTALL = "npm ci --prefix scripts/asyncapi (./scripts/test does it)"


async def _documents(system: System) -> dict[str, dict[str, Any]]:
    documents = {}
    async with aiohttp.ClientSession() as session:
        for name in system.services:
            async with session.get(f"{system.url(name)}/api/v1/asyncapi.json") as response:
                assert response.status == 200
                documents[name] = await response.json()
    return documents


async def test_every_service_serves_a_valid_asyncapi_document(
    system: System, tmp_path: Path
) -> None:
    documents = await _documents(system)
    node = shutil.which("node")
    assert node is not None, "node is needed to validate the AsyncAPI documents"
    assert (VALIDATOR / "node_modules" / "@asyncapi" / "parser").is_dir(), HOW_TO_INSTALL
    paths = []
    for name, document in documents.items():
        path = tmp_path / f"{name}.asyncapi.json"
        path.write_text(json.dumps(document))
        paths.append(str(path))
    command = [node, str(VALIDATOR / "validate.mjs"), *paths]
    checked = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=120
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("valid AsyncAPI 3.0.0") == 3


def contract_event_types() -> set[str]:
    """Every event type the contracts define: each Event model with a `type` of its own."""
    models = [
        value
        for value in vars(contracts).values()
        if isinstance(value, type) and issubclass(value, contracts.Event)
    ]
    return {event_type(model) for model in models if "type" in model.model_fields}


async def test_the_documents_cover_every_event_with_an_example(system: System) -> None:
    documents = await _documents(system)
    messages = {
        message["name"]: message
        for document in documents.values()
        for message in document["components"]["messages"].values()
    }
    assert set(messages) == contract_event_types()
    assert all(message["examples"][0]["payload"] for message in messages.values())
    published = {
        name: [op["channel"]["$ref"] for op in doc["operations"].values() if op["action"] == "send"]
        for name, doc in documents.items()
    }
    assert {name: sorted(refs) for name, refs in published.items()} == {
        "intake": [
            "#/channels/ReportAppealed",
            "#/channels/ReportContactErased",
            "#/channels/ReportSubmitted",
        ],
        "routing": ["#/channels/CaseAssigned", "#/channels/CaseShared", "#/channels/CaseUpdated"],
        "notify": [
            "#/channels/CaseEscalated",
            "#/channels/CasePlatformOverdue",
            "#/channels/CaseWarning",
        ],
    }
    agency_queue = documents["routing"]["channels"]["agency.police.cases"]
    assert set(agency_queue["messages"]) == {
        "CaseAssigned",
        "CaseUpdated",
        "CaseShared",
        "CaseWarning",
        "CasePlatformOverdue",
    }
