"""`incidents-admin contact-keys`: a fresh key, contacts counted per key, and `rekey` moving
every stored contact of intake and routing (sealed under an old key, or left in clear) to the
current key in batches, so the old key can then be removed."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.common.contracts import Contact
from services.common.mongo import MongoDatabase, mongo_database
from services.common.sealing import KeyRing, new_key_line, parse_key_ring
from tests.integration.admin.support import Run, admin
from tests.integration.admin.test_outboxes import databases

pytestmark = pytest.mark.integration

OLD, NEW, GONE = new_key_line("old"), new_key_line("new"), new_key_line("gone")
REPORTS = 23


def contact(n: int) -> Contact:
    return Contact(name=f"Người {n}", phone=f"+8490000{n:04d}", email=f"nguoi{n}@example.vn")


@pytest.fixture
async def intake_db(mongo_url: str, db_name: str) -> AsyncIterator[MongoDatabase]:
    async with mongo_database(mongo_url, f"{db_name}_intake", timeout_ms=5000) as db:
        yield db


@pytest.fixture
async def routing_db(mongo_url: str, db_name: str) -> AsyncIterator[MongoDatabase]:
    async with mongo_database(mongo_url, f"{db_name}_routing", timeout_ms=5000) as db:
        yield db


async def _seed(intake: MongoDatabase, routing: MongoDatabase, old: KeyRing) -> None:
    """Reports sealed under the old key, two left in clear, one anonymous; cases holding them
    (a first report, joined ones, one of them in clear)."""
    reports = []
    for n in range(REPORTS):
        sealed = old.seal_contact(contact(n), f"r{n}")
        stored: dict[str, Any] = (
            {"contact": contact(n).model_dump()} if n < 2 else {"contact_sealed": sealed}
        )
        reports.append({"_id": f"r{n}", "report": {"category": "scam_fraud", **stored}})
    reports.append({"_id": "anonymous", "report": {"category": "scam_fraud", "anonymous": True}})
    await intake.reports.insert_many(reports)
    cases = []
    for first in range(0, REPORTS, 3):
        ids = range(first, min(first + 3, REPORTS))
        entries: list[dict[str, Any]] = [
            {"report_id": f"r{n}", "contact_sealed": old.seal_contact(contact(n), f"r{n}")}
            for n in ids
        ]
        if first == 3:
            entries[1] = {"report_id": "r4", "contact": contact(4).model_dump()}
        report = {"contact_sealed": entries[0]["contact_sealed"]}
        cases.append(
            {
                "_id": f"c{first}",
                "report_id": f"r{first}",
                "report": report,
                "reports": entries,
                "version": 1,
            }
        )
    await routing.cases.insert_many(cases)


def _env(keys: str) -> dict[str, str]:
    return {**os.environ, "CONTACT_KEYS": keys}


async def _status(mongo_url: str, db_name: str) -> dict[str, dict[str, int]]:
    run = await admin("contact-keys", "status", *databases(mongo_url, db_name), "--json")
    assert run.code == 0, run.err
    result: dict[str, dict[str, int]] = run.json()
    return result


async def _rekey(mongo_url: str, db_name: str, keys: str) -> Run:
    options = ["--service", "intake", "--service", "routing", "--batch", "4"]
    return await admin(
        "contact-keys", "rekey", *databases(mongo_url, db_name), *options, env=_env(keys)
    )


async def test_rekey_moves_every_contact_to_the_new_key_and_the_old_key_can_go(
    intake_db: MongoDatabase, routing_db: MongoDatabase, mongo_url: str, db_name: str
) -> None:
    await _seed(intake_db, routing_db, parse_key_ring(OLD))
    before = await _status(mongo_url, db_name)
    assert before["intake"] == {"old": REPORTS - 2, "clear": 2}
    assert before["routing"] == {"old": REPORTS + 8 - 1, "clear": 1}  # 8 firsts, 1 in clear

    run = await _rekey(mongo_url, db_name, f"{NEW},{OLD}")
    assert run.code == 0, run.err
    assert (
        "intake: 20 documents read" in run.out and f"intake: done, {REPORTS} documents" in run.out
    )
    assert "routing: done, 8 documents re-sealed under key 'new'" in run.out
    after = await _status(mongo_url, db_name)
    assert after == {"intake": {"new": REPORTS}, "routing": {"new": REPORTS + 8}}

    again = await _rekey(mongo_url, db_name, f"{NEW},{OLD}")
    assert again.code == 0 and "intake: done, 0 documents re-sealed" in again.out

    only_new = parse_key_ring(NEW)  # the old key removed
    async for doc in intake_db.reports.find({"_id": {"$ne": "anonymous"}}):
        assert "contact" not in doc["report"]
        n = int(doc["_id"][1:])
        assert only_new.open_contact(doc["report"]["contact_sealed"], doc["_id"]) == contact(n)
    async for case in routing_db.cases.find({}):
        assert case["version"] == 2  # a write planned on the version read before cannot land
        first = only_new.open_contact(case["report"]["contact_sealed"], case["report_id"])
        assert first == contact(int(case["report_id"][1:]))
        for entry in case["reports"]:
            assert "contact" not in entry
            opened = only_new.open_contact(entry["contact_sealed"], entry["report_id"])
            assert opened == contact(int(entry["report_id"][1:]))


async def test_a_contact_under_a_key_the_ring_lacks_is_reported_and_the_rest_moves(
    intake_db: MongoDatabase, routing_db: MongoDatabase, mongo_url: str, db_name: str
) -> None:
    await _seed(intake_db, routing_db, parse_key_ring(OLD))
    lost = parse_key_ring(GONE).seal_contact(contact(99), "r99")
    await intake_db.reports.insert_one({"_id": "r99", "report": {"contact_sealed": lost}})

    secret = "Số nhà bí mật của chị Lê Thị D, 12 phố Huế"  # too long for a phone: malformed
    await intake_db.reports.insert_one({"_id": "r98", "report": {"contact": {"phone": secret}}})

    run = await _rekey(mongo_url, db_name, f"{NEW},{OLD}")
    assert run.code == 1 and "intake report r99" in run.err and "'gone'" in run.err
    assert "intake report r98: report.contact: ValidationError at phone" in run.err
    assert "bí mật" not in run.err + run.out  # never what the reporter wrote
    assert (await _status(mongo_url, db_name))["intake"] == {"new": REPORTS, "gone": 1, "clear": 1}

    without = {k: v for k, v in os.environ.items() if k != "CONTACT_KEYS"}
    unset = await admin("contact-keys", "rekey", *databases(mongo_url, db_name), env=without)
    assert unset.code == 2 and "CONTACT_KEYS" in unset.err
    malformed = await _rekey(mongo_url, db_name, "new:short")
    assert malformed.code == 2 and "CONTACT_KEYS entry 1" in malformed.err
    assert "short" not in malformed.err


async def test_a_new_key_line_is_an_id_and_32_random_bytes() -> None:
    first, second = (
        await admin("contact-keys", "new"),
        await admin("contact-keys", "new", "--id", "k2"),
    )
    assert first.code == 0 and second.code == 0
    ring = parse_key_ring(f"{second.out.strip()},{first.out.strip()}")
    assert ring.current_id == "k2" and len(ring.keys) == 2
    assert (await admin("contact-keys", "new", "--id", "a.b")).code == 2
