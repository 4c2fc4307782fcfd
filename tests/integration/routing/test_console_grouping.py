"""The console shows a case's reports and distinct reporters, and lets a supervisor split and
merge from the case page (agencies get no such forms)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.mongo import MongoDatabase
from tests.helpers import sign_in, wait_until
from tests.integration.routing.conftest import Reporter

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]


async def test_supervisor_sees_the_reports_and_splits_and_merges_from_the_case_page(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    url = "https://www.facebook.com/lua.dao.console"
    first = await reporter.submit(content_urls=[url], reporter_id="p1")
    second = await reporter.submit(content_urls=["fb.com/lua.dao.console"], reporter_id="p2")
    other = await reporter.submit(content_urls=["https://youtu.be/consoleVid1"], reporter_id="p3")

    async def grouped() -> dict[str, Any] | None:
        case = await routing_db.cases.find_one({"report_id": first.report_id, "reporters": 2})
        held = await routing_db.cases.count_documents({"report_id": other.report_id})
        return case if held else None

    case = await wait_until(grouped, what="two reports in one case, and another case")
    other_case = await routing_db.cases.find_one({"report_id": other.report_id})
    assert other_case is not None

    police_csrf = await sign_in(routing, "police")
    page = await (await routing.get(f"/console/cases/{case['_id']}?lang=en")).text()
    assert second.tracking_code in page and 'id="case-reporters">2<' in page
    assert "/split" not in page and "/merge" not in page  # agencies do not regroup
    listed = await (await routing.get("/console/cases?lang=en")).text()
    assert '<td class="reporters">2</td>' in listed
    refused = await routing.post(
        f"/console/cases/{case['_id']}/split",
        data={"csrf_token": police_csrf, "report_id": second.report_id, "reason": "x"},
    )
    assert refused.status == 403

    csrf = await sign_in(routing, "supervisor")
    page = await (await routing.get(f"/console/cases/{case['_id']}?lang=en")).text()
    assert 'id="btn-split"' in page and 'id="btn-merge"' in page
    missing = await routing.post(
        f"/console/cases/{case['_id']}/split",
        data={"csrf_token": csrf, "report_id": "nope", "reason": "x"},
    )
    assert missing.status == 409 and "report_id" in await missing.text()
    split = await routing.post(
        f"/console/cases/{case['_id']}/split",
        data={"csrf_token": csrf, "report_id": second.report_id, "reason": "another page"},
        allow_redirects=False,
    )
    assert split.status == 303 and split.headers["Location"].endswith("?done=split")
    merged = await routing.post(
        f"/console/cases/{other_case['_id']}/merge",
        data={"csrf_token": csrf, "into": case["_id"], "reason": "same scam"},
        allow_redirects=False,
    )
    assert merged.status == 303
    assert merged.headers["Location"] == f"/console/cases/{case['_id']}?done=merge"
    page = await (await routing.get(merged.headers["Location"] + "&lang=en")).text()
    assert f'data-report="{other.report_id}"' in page
    assert f'data-report="{first.report_id}"' in page
    assert f'data-report="{second.report_id}"' not in page  # split off: in the audit log only
    # The audit lines of the split and of both sides of the merge name the supervisor.
    for case_id, action in ((case["_id"], "report_split"), (case["_id"], "merge")):
        stored = await routing_db.cases.find_one({"_id": case_id})
        assert stored is not None
        lines = [e for e in stored["audit"] if e["action"] == action]
        assert lines and all("Cán bộ supervisor" in (e.get("person") or "") for e in lines)
    source = await routing_db.cases.find_one({"_id": other_case["_id"]})
    assert source is not None and "Cán bộ supervisor" in source["audit"][-1]["person"]
