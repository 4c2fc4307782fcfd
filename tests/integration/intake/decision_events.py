"""Case events carrying decisions, as routing publishes them, for intake's decision tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from services.common.contracts import (
    AppealResult,
    CaseAssigned,
    CaseStatus,
    CaseUpdated,
    Category,
    DecisionOutcome,
    Priority,
    PublicDecision,
    new_event_id,
)
from services.common.mongo import MongoDatabase
from tests.helpers import wait_until
from tests.integration.intake.conftest import valid_report

Client = TestClient[Any, Any]
EXPLANATION = "Trang giả mạo đã bị Facebook gỡ bỏ theo yêu cầu của Công an."


def public_decision(
    decided_at: datetime, *, window: timedelta | None = timedelta(days=14), **extra: Any
) -> PublicDecision:
    """A decision made at `decided_at`, appealable for `window` (None: not appealable)."""
    return PublicDecision(
        outcome=extra.pop("outcome", DecisionOutcome.REMOVED_BY_PLATFORM),
        legal_basis="nd147_art8",
        legal_basis_title="Nghị định 147/2024/NĐ-CP, Điều 8",
        explanation=EXPLANATION,
        decided_at=decided_at,
        appeal_until=decided_at + window if window is not None else None,
        **extra,
    )


def _fields(report: dict[str, Any], version: int, status: CaseStatus) -> dict[str, Any]:
    return {
        "event_id": new_event_id(),
        "occurred_at": datetime.now(UTC),
        "case_id": f"case-of-{report['_id']}",
        "report_id": report["_id"],
        "tracking_code": report["tracking_code"],
        "agency": "police",
        "category": Category.IMPERSONATION,
        "priority": Priority.HIGH,
        "status": status,
        "version": version,
        "due_at": None,
    }


def assigned(report: dict[str, Any]) -> CaseAssigned:
    """The case opened for `report` (version 1)."""
    return CaseAssigned(**_fields(report, 1, CaseStatus.ASSIGNED), policy_version="t", rule_id="r")


def decided(
    report: dict[str, Any],
    version: int,
    decision: PublicDecision | None,
    status: CaseStatus = CaseStatus.RESOLVED,
    action: str = "resolve",
) -> CaseUpdated:
    """A case.updated at `version` carrying `decision`."""
    return CaseUpdated(
        **_fields(report, version, status),
        action=action,
        from_status=CaseStatus.IN_PROGRESS,
        actor="police",
        note="internal: the page owner is known to us",
        decision=decision,
    )


def reviewed(report: dict[str, Any], version: int, result: AppealResult) -> CaseUpdated:
    """The review of an appeal concluding with `result`, by a supervisor."""
    decision = public_decision(datetime.now(UTC), window=None, review=result)
    return decided(report, version, decision, action="review").model_copy(
        update={"actor": "supervisor"}
    )


async def submitted(intake: Client, db: MongoDatabase, **overrides: Any) -> dict[str, Any]:
    """Submit a report (with an e-mail unless overridden) and return its stored document."""
    body = valid_report(
        category="impersonation",
        contact={"name": "Nguyễn Thị B", "email": "nguyen.thi.b@example.com"},
        **overrides,
    )
    reply = await intake.post("/api/v1/reports", json=body)
    assert reply.status == 201, await reply.text()
    report = await db.reports.find_one({"tracking_code": (await reply.json())["tracking_code"]})
    assert report is not None
    return report


async def status_when(intake: Client, code: str, check: Any) -> dict[str, Any]:
    """The API's status of `code` once `check(body)` holds."""

    async def probe() -> dict[str, Any] | None:
        body: dict[str, Any] = await (await intake.get(f"/api/v1/reports/{code}?lang=en")).json()
        return body if check(body) else None

    return await wait_until(probe, what=f"the status of {code}")
