"""The console's forms for decisions, appeal reviews and takedown requests, over HTTP (no
browser): refusals re-render beside the field, successes redirect, the review form only for
someone other than the decider, informed agencies read only."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from services.common.contracts import Category, ReportAppealed, ReporterKind
from services.common.mongo import MongoDatabase
from tests.helpers import csrf_of, resolve_body, sign_in, wait_until
from tests.integration.routing.conftest import Reporter, case_of

pytestmark = pytest.mark.integration
Client = TestClient[Any, Any]
EXPLANATION = "Trang giả mạo đã được nền tảng gỡ bỏ theo yêu cầu của cơ quan chức năng."


async def post(client: Client, path: str, **data: str) -> Any:
    return await client.post(path, data=data, allow_redirects=False)


async def stored(db: MongoDatabase, case_id: str) -> dict[str, Any]:
    found = await db.cases.find_one({"_id": case_id})
    assert found is not None
    return found


async def test_a_decision_refused_for_a_field_keeps_the_form_and_names_the_field(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case = await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD))
    path = f"/console/cases/{case['_id']}"
    csrf = await sign_in(routing, "police")
    assert (await post(routing, f"{path}/acknowledge", csrf_token=csrf)).status == 303

    page = await (await routing.get(path)).text()
    assert 'name="explanation"' in page and 'maxlength="2000"' in page
    assert 'value="nd147-2024-removal"' in page  # the policy's legal bases
    assert "Hiển thị cho người phản ánh" in page  # which text the reporter sees
    incomplete = await post(
        routing,
        f"{path}/resolve",
        csrf_token=csrf,
        outcome="removed_by_platform",
        legal_basis="nd147-2024-removal",
        note="Đã gửi yêu cầu",
    )
    assert incomplete.status == 422
    html = await incomplete.text()
    assert 'id="resolve-explanation-error"' in html
    assert 'aria-describedby="resolve-explanation-error"' in html
    assert ">Đã gửi yêu cầu</textarea>" in html  # what was typed is kept
    unknown_basis = await post(
        routing,
        f"{path}/resolve",
        csrf_token=csrf,
        **resolve_body(legal_basis="not-in-the-policy", explanation=EXPLANATION),
    )
    assert unknown_basis.status == 422
    assert 'id="resolve-legal_basis-error"' in await unknown_basis.text()

    done = await post(
        routing, f"{path}/resolve", csrf_token=csrf, **resolve_body(explanation=EXPLANATION)
    )
    assert done.status == 303 and done.headers["Location"] == f"{path}?done=resolve"
    decided = await stored(routing_db, case["_id"])
    assert decided["status"] == "resolved"
    assert decided["decision"]["explanation"] == EXPLANATION
    assert decided["decision"]["decided_by"] == "police"
    page = await (await routing.get(path)).text()
    assert 'id="latest-decision"' in page and EXPLANATION in page


async def test_a_takedown_request_pauses_the_internal_clock_until_the_answer(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case = await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD))
    path = f"/console/cases/{case['_id']}"
    csrf = await sign_in(routing, "police")
    page = await (await routing.get(path)).text()
    assert 'id="clock-internal"' in page and 'id="clock-legal"' in page
    assert 'id="form-takedown"' in page

    sent = await post(
        routing,
        f"{path}/takedowns",
        csrf_token=csrf,
        status="sent",
        asked="remove",
        channel="portal",
        reference="FB-GOV-123",
    )
    assert sent.status == 303, await sent.text()
    waiting = await stored(routing_db, case["_id"])
    assert waiting["status"] == "waiting_on_platform"
    request_id = waiting["takedowns"][0]["request_id"]
    page = await (await routing.get(path)).text()
    assert "Tạm dừng" in page  # the internal clock stands still
    assert f'data-request="{request_id}"' in page and "FB-GOV-123" in page

    refused = await post(
        routing, f"{path}/takedowns/{request_id}/answer", csrf_token=csrf, status="refused"
    )
    assert refused.status == 422
    assert f'id="answer-{request_id}-reason-error"' in await refused.text()
    future = await post(
        routing,
        f"{path}/takedowns/{request_id}/answer",
        csrf_token=csrf,
        status="done",
        answered_at="2999-01-01T10:00",
    )
    assert future.status == 422
    assert f'id="answer-{request_id}-answered_at-error"' in await future.text()
    done = await post(
        routing, f"{path}/takedowns/{request_id}/answer", csrf_token=csrf, status="done"
    )
    assert done.status == 303
    answered = await stored(routing_db, case["_id"])
    assert answered["status"] == "in_progress"
    assert answered["takedowns"][0]["status"] == "done"


async def test_only_someone_other_than_the_decider_gets_the_review_form(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    report = await reporter.submit(Category.SCAM_FRAUD)
    case = await case_of(routing_db, report)
    path = f"/console/cases/{case['_id']}"
    csrf = await sign_in(routing, "police")
    await post(routing, f"{path}/acknowledge", csrf_token=csrf)
    await post(routing, f"{path}/resolve", csrf_token=csrf, **resolve_body(explanation=EXPLANATION))
    decided = await stored(routing_db, case["_id"])
    await reporter.publisher.publish(
        ReportAppealed(
            event_id=f"appeal-{case['_id']}",
            occurred_at=decided["decision"]["decided_at"],
            report_id=report.report_id,
            tracking_code=report.tracking_code,
            case_id=case["_id"],
            reason="Trang vẫn còn hoạt động.",
            decided_at=decided["decision"]["decided_at"],
        )
    )

    async def appealed() -> bool:
        return (await stored(routing_db, case["_id"]))["status"] == "appealed"

    await wait_until(appealed, what="the appeal")
    page = await (await routing.get(path)).text()
    assert 'id="review-withheld"' in page and 'id="form-review"' not in page
    assert "Trang vẫn còn hoạt động." in page

    supervisor = await sign_in(routing, "supervisor")
    page = await (await routing.get(path)).text()
    assert 'id="form-review"' in page
    reviewed = await post(
        routing,
        f"{path}/review",
        csrf_token=supervisor,
        result="reversed",
        outcome="no_violation",
        legal_basis="khong-vi-pham",
        explanation="Sau khi xem xét lại, nội dung không vi phạm.",
    )
    assert reviewed.status == 303, await reviewed.text()
    closed = await stored(routing_db, case["_id"])
    assert closed["status"] == "rejected"
    assert closed["decision"]["review"] == "reversed"


async def test_an_informed_agency_reads_the_case_without_forms_or_contact(
    routing: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    report = await reporter.submit(Category.HIJACKED_ACCOUNT, reporter_kind=ReporterKind.OFFICIAL)
    case = await case_of(routing_db, report)
    assert "party_committee" in case["informed"]
    await sign_in(routing, "party_committee")
    listing = await (await routing.get("/console/cases")).text()
    row = re.search(rf'<tr data-case="{case["_id"]}">.*?</tr>', listing, re.S)
    assert row and "Chỉ xem · được thông báo" in row.group(0)
    page = await (await routing.get(f"/console/cases/{case['_id']}")).text()
    assert 'id="informed-only"' in page
    assert '<form method="post" action="/console/cases/' not in page
    assert "Trần Thị B" not in page and "0905123456" not in page
    csrf = csrf_of(page)
    refused = await post(routing, f"/console/cases/{case['_id']}/acknowledge", csrf_token=csrf)
    assert refused.status == 403
