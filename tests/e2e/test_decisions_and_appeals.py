"""An official's hijacked account, end to end across the three processes: the police own the
case and the party committee is informed (each on its own queue, the contact only for the
owner); the police ask the platform, decide with reasons; the reporter reads the decision on
the status API and by e-mail, appeals, and sees the supervisor's review."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aio_pika.abc import AbstractRobustConnection

from services.common.contracts import CaseAssigned, CaseShared, CaseUpdated
from tests.e2e.conftest import System, auth, reporter_status, submit_json
from tests.helpers import QueueProbe, resolve_body, wait_until
from tests.smtp import SmtpInbox, smtp_server

pytestmark = pytest.mark.e2e

REPORTER_EMAIL = "pho.chu.tich@example.gov.vn"
HIJACKED = {
    "category": "hijacked_account",
    "content_urls": ["https://www.facebook.com/pho.chu.tich.xa.an.binh"],
    "platform": "facebook",
    "description": "Tài khoản Facebook của tôi bị chiếm và đang nhắn tin vay tiền người quen.",
    "province": "01",
    "reporter_kind": "official",
    "anonymous": False,
    "contact": {"name": "Nguyễn Văn A", "email": REPORTER_EMAIL},
}


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpInbox, int]]:
    """The reporters' mail server."""
    with smtp_server() as server:
        yield server


@pytest.fixture
def system_extra_env(smtp: tuple[SmtpInbox, int]) -> dict[str, str]:
    """Intake sends its decision e-mails to the test's SMTP server, retrying fast."""
    return {
        "INTAKE_SMTP_HOST": "127.0.0.1",
        "INTAKE_SMTP_PORT": str(smtp[1]),
        "INTAKE_MAIL_POLL_SECONDS": "0.2",
        "INTAKE_MAIL_RETRY_SECONDS": "0.2",
    }


async def _call(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    principal: str,
    body: dict[str, Any] | None = None,
    expect: int = 200,
) -> dict[str, Any]:
    async with session.request(method, url, json=body, headers=auth(principal)) as response:
        text = await response.text()
        assert response.status == expect, text
        answer: dict[str, Any] = await response.json()
        return answer


async def test_an_officials_hijacked_account_is_decided_appealed_and_reviewed(
    system: System, amqp_connection: AbstractRobustConnection, smtp: tuple[SmtpInbox, int]
) -> None:
    police_queue = await QueueProbe.bind(amqp_connection, system.topology, "case.*.police")
    party_queue = await QueueProbe.bind(amqp_connection, system.topology, "case.*.party_committee")
    routing = system.url("routing")
    async with aiohttp.ClientSession() as session:
        code = await submit_json(session, system, HIJACKED)

        async def assigned() -> list[CaseAssigned]:
            return [e for e in await police_queue.flush() if isinstance(e, CaseAssigned)]

        case_id = (await wait_until(assigned, timeout=30, what="case.assigned.police"))[0].case_id
        cases = f"{routing}/api/v1/cases/{case_id}"

        async def shared() -> list[CaseShared]:
            return [e for e in await party_queue.flush() if isinstance(e, CaseShared)]

        first_copy = (await wait_until(shared, what="case.shared.party_committee"))[0]
        assert first_copy.agency == "police" and first_copy.shared_with == "party_committee"

        owner_view = await _call(session, "GET", cases, "police")
        assert owner_view["report"]["has_contact"] and REPORTER_EMAIL not in str(owner_view)
        revealed = await _call(session, "GET", f"{cases}/contact", "police")
        assert revealed["contacts"][0]["email"] == REPORTER_EMAIL
        informed_view = await _call(session, "GET", cases, "party_committee")
        assert informed_view["report"]["has_contact"] is False
        await _call(session, "GET", f"{cases}/contact", "party_committee", expect=403)
        assert informed_view["allowed_actions"] == []
        await _call(session, "POST", f"{cases}/acknowledge", "party_committee", {}, expect=403)

        # The case opened with a draft request to restore the account: one click sends it.
        takedowns = (await _call(session, "GET", f"{cases}/takedowns", "police"))["takedowns"]
        draft = next(t for t in takedowns if t["status"] == "draft")
        assert draft["asked"] == "restore_account"
        sent = await _call(
            session,
            "POST",
            f"{cases}/takedowns/{draft['request_id']}/send",
            "police",
            {"channel": "portal", "reference": "FB-GOV-2026-0042"},
        )
        assert sent["case"]["status"] == "waiting_on_platform"
        answered = await _call(
            session,
            "POST",
            f"{cases}/takedowns/{draft['request_id']}/answer",
            "police",
            {"status": "done"},
        )
        assert answered["case"]["status"] == "in_progress"

        decision = resolve_body(
            note="Nền tảng đã khôi phục tài khoản qua cổng hỗ trợ cơ quan nhà nước.",
            outcome="account_restored",
            explanation="Tài khoản đã được trả lại cho chủ sở hữu.",
        )
        decided = await _call(session, "POST", f"{cases}/resolve", "police", decision)
        assert decided["status"] == "resolved"

        async def decision_seen() -> dict[str, Any] | None:
            status = await reporter_status(session, system, code)
            return status if status.get("decision") else None

        status = await wait_until(decision_seen, timeout=30, what="the decision at intake")
        assert status["decision"]["outcome"] == "account_restored"
        assert status["decision"]["explanation"] == "Tài khoản đã được trả lại cho chủ sở hữu."
        assert "Nền tảng đã khôi phục" not in str(status)  # the internal note stays inside
        inbox = smtp[0]

        async def mailed() -> bool:
            return any(REPORTER_EMAIL in r for r in inbox.recipients)

        await wait_until(mailed, timeout=30, what="the decision e-mailed to the reporter")
        body = inbox.messages[0].get_body(preferencelist=("plain",))
        assert body is not None and "Tài khoản đã được trả lại" in body.get_content()

        updates = [e for e in await party_queue.flush() if isinstance(e, CaseShared)]
        assert any(e.status == "resolved" and e.decision for e in updates)

        appeal_url = f"{system.url('intake')}/api/v1/reports/{code}/appeal"
        reason = {"reason": "Tài khoản vẫn bị người lạ đăng nhập sau khi được trả lại."}
        async with session.post(appeal_url, json=reason) as appealed:
            assert appealed.status in (200, 201, 202), await appealed.text()
        async with session.post(appeal_url, json=reason) as again:
            assert again.status == 409

        async def under_appeal() -> dict[str, Any] | None:
            view = await _call(session, "GET", cases, "police")
            return view if view["status"] == "appealed" else None

        await wait_until(under_appeal, timeout=30, what="the case reopened as appealed")
        review = {
            "result": "upheld",
            "explanation": "Tài khoản đã được khôi phục; hãy đổi mật khẩu và bật xác thực hai lớp.",
        }
        await _call(session, "POST", f"{cases}/review", "police", review, expect=403)
        reviewed = await _call(session, "POST", f"{cases}/review", "supervisor", review)
        assert reviewed["status"] == "resolved"

        async def review_seen() -> dict[str, Any] | None:
            status = await reporter_status(session, system, code)
            decided = status.get("decision") or {}
            return status if decided.get("review") == "upheld" else None

        await wait_until(review_seen, timeout=30, what="the review result at intake")
    owner_events = await police_queue.flush()
    actions = [e.action for e in owner_events if isinstance(e, CaseUpdated)]
    assert actions[-1] == "review" and "appeal" in actions
    assert not [e for e in owner_events if isinstance(e, CaseShared)]  # copies go elsewhere
