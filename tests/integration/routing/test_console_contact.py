"""The console's reveal: the case page says a contact exists; an officer of the holding agency
opens it with a CSRF-protected form, the audit log names the person; auditors never can."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.mongo import MongoDatabase
from services.routing.people import Role
from tests.helpers import sign_in_as, staff_person
from tests.integration.routing.conftest import Reporter, case_of

pytestmark = pytest.mark.integration
Client = TestClient[Any, Any]
PHONE = "0905123456"  # the contact every test report leaves (tests.helpers.REPORTER_CONTACT)


def _reveals(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [line for line in case["audit"] if line["action"] == "contact_revealed"]


async def _reveal(routing: Client, case_id: str, csrf: str, report_id: str) -> Any:
    form = {"csrf_token": csrf, "report_id": report_id}
    return await routing.post(f"/console/cases/{case_id}/contact", data=form)


async def test_an_officer_reveals_the_contact_and_the_audit_log_names_them(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    report = await reporter.submit()
    case_id = str((await case_of(routing_db, report))["_id"])
    officer = staff_person(Role.OFFICER, "police", name="Nguyễn Văn An")
    csrf, made = await sign_in_as(routing, officer)

    page = await (await routing.get(f"/console/cases/{case_id}")).text()
    assert PHONE not in page and f'data-reveal="{report.report_id}"' in page

    forged = await _reveal(routing, case_id, "0" * 64, report.report_id)
    assert forged.status == 403
    revealed = await _reveal(routing, case_id, csrf, report.report_id)
    assert revealed.status == 200 and revealed.headers["Cache-Control"] == "no-store"
    assert PHONE in await revealed.text()

    stored = await routing_db.cases.find_one({"_id": case_id})
    assert stored is not None
    (line,) = _reveals(stored)
    assert line["actor"] == "police" and line["person"] == made.account.person.audit_name
    assert line["person"].startswith("Nguyễn Văn An (police/")
    assert PHONE not in (await (await routing.get(f"/console/cases/{case_id}")).text())


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.SUPERVISOR])
async def test_auditors_and_supervisors_never_reveal(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter, role: Role
) -> None:
    report = await reporter.submit()
    case_id = str((await case_of(routing_db, report))["_id"])
    csrf, _ = await sign_in_as(routing, staff_person(role))
    page = await (await routing.get(f"/console/cases/{case_id}")).text()
    assert "data-reveal" not in page and PHONE not in page

    refused = await _reveal(routing, case_id, csrf, report.report_id)
    assert refused.status == 403 and PHONE not in await refused.text()
    assert refused.headers["Cache-Control"] == "no-store"
    stored = await routing_db.cases.find_one({"_id": case_id})
    assert stored is not None and _reveals(stored) == []
