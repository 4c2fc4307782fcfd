"""`incidents-admin outboxes` against a real MongoDB wire server: backlogs, leases,
quarantined entries and poisoned documents, per service and collection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from services.common.embedded import EmbeddedMongo
from services.common.mongo import Document, make_client
from services.common.outbox import QUARANTINE, RELAYS, ensure_outbox_index, outbox_fields
from tests.helpers import report_event
from tests.integration.admin.support import admin

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(mongo_url: str) -> AsyncIterator[AsyncMongoClient[Document]]:
    client = make_client(mongo_url, timeout_ms=5000)
    yield client
    await client.close()


def databases(mongo_url: str, db_name: str) -> list[str]:
    """The options naming the test's three service databases."""
    return [
        "--mongo-url",
        mongo_url,
        *("--intake-db", f"{db_name}_intake"),
        *("--routing-db", f"{db_name}_routing"),
        *("--notify-db", f"{db_name}_notify"),
    ]


async def test_backlog_lease_quarantine_and_poisoned_documents_per_collection(
    client: AsyncMongoClient[Document], mongo_url: str, db_name: str
) -> None:
    now = datetime.now(UTC)
    intake, notify = client[f"{db_name}_intake"], client[f"{db_name}_notify"]
    await ensure_outbox_index(intake.reports)
    await intake.reports.insert_many(
        [
            {"_id": "old", **outbox_fields([report_event(1)], now - timedelta(minutes=7))},
            {"_id": "new", **outbox_fields([report_event(2)], now)},
            {"_id": "sent", "status": "received"},
            {"_id": "bad", QUARANTINE: [{"entry": {}, "error": "x", "at": now}] * 2},
        ]
    )
    holder = "f00dfeed" * 4
    await intake[RELAYS].insert_one(
        {"_id": "reports", "holder": holder, "until": now + timedelta(seconds=10)}
    )
    await notify.deadlines.insert_many([{"_id": "c1", "poisoned": {"error": "e"}}, {"_id": "c2"}])
    await notify.alerts.insert_many(
        [{"_id": f"a{i}", "poisoned": {"error": "e"}} for i in range(3)]
    )

    run = await admin("outboxes", "--json", *databases(mongo_url, db_name))
    assert run.code == 0, run.err
    rows = {(row["service"], row["collection"]): row for row in run.json()}
    assert set(rows) == {
        ("intake", "reports"),
        ("routing", "cases"),
        ("notify", "deadlines"),
        ("notify", "alerts"),
    }
    reports = rows["intake", "reports"]
    assert reports["pending"] == 2
    assert 7 * 60 <= reports["oldest_pending_seconds"] < 7 * 60 + 60
    assert reports["lease"]["holder"] == holder and reports["lease"]["held"] is True
    assert (reports["quarantined_entries"], reports["quarantined_documents"]) == (2, 1)
    assert reports["poisoned"] is None
    assert rows["routing", "cases"]["pending"] == 0 and rows["routing", "cases"]["lease"] is None
    assert rows["notify", "deadlines"]["poisoned"] == 1
    assert rows["notify", "deadlines"]["pending"] == 0
    assert rows["notify", "alerts"]["poisoned"] == 3 and rows["notify", "alerts"]["pending"] is None

    text = await admin("outboxes", "--service", "intake", *databases(mongo_url, db_name))
    assert text.code == 0, text.err
    (line,) = [row for row in text.out.splitlines() if row.startswith("intake")]
    assert f"{db_name}_intake.reports" in line and "f00dfeed held until" in line
    assert "2 in 1 doc(s)" in line and " 7m" in line


async def test_an_unreachable_database_or_bad_option_fails_with_a_message(db_name: str) -> None:
    down = await admin("outboxes", "--mongo-url", "mongodb://127.0.0.1:1/", "--timeout-ms", "300")
    assert down.code == 1
    assert "cannot reach MongoDB at mongodb://127.0.0.1:1/" in down.err
    assert len(down.err.splitlines()) == 1

    unknown = await admin("outboxes", "--service", "billing")
    assert unknown.code == 2 and "invalid choice: 'billing'" in unknown.err


async def test_a_service_with_a_server_of_its_own_is_read_there(
    client: AsyncMongoClient[Document], mongo_url: str, db_name: str, own_database: EmbeddedMongo
) -> None:
    """`./scripts/run` gives each service its own server: `--intake-mongo-url` (or
    `$INTAKE_MONGO_URL`) reads intake's database there, the others on `--mongo-url`."""
    now = datetime.now(UTC)
    own = make_client(own_database.url, timeout_ms=5000)
    try:
        reports = own[f"{db_name}_intake"].reports
        await ensure_outbox_index(reports)  # as the services make it at start
        await reports.insert_one({"_id": "r", **outbox_fields([report_event(1)], now)})
    finally:
        await own.close()
    cases = client[f"{db_name}_routing"].cases
    await ensure_outbox_index(cases)
    await cases.insert_one({"_id": "c", **outbox_fields([report_event(2)], now)})
    options = [*databases(mongo_url, db_name), "--intake-mongo-url", own_database.url]
    run = await admin("outboxes", "--json", *options)
    assert run.code == 0, run.err
    pending = {row["collection"]: row["pending"] for row in run.json() if "pending" in row}
    assert pending == {"reports": 1, "cases": 1, "deadlines": 0, "alerts": None}

    shared_only = await admin("outboxes", "--json", *databases(mongo_url, db_name))
    rows = {row["collection"]: row["pending"] for row in shared_only.json()}
    assert rows["reports"] == 0  # intake's own server holds its report, not the shared one

    own_database.stop()
    down = await admin("outboxes", *options, "--timeout-ms", "300")
    assert down.code == 1
    assert f"cannot reach MongoDB at {own_database.url}" in down.err
