"""Takedown requests through the agency API: the case waits on the platform with its internal
clock paused, the events carry each request's legal clock, the answer resumes it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from aiohttp.test_utils import TestClient

from services.common.amqp import Topology
from services.common.clock import utcnow
from services.common.contracts import CaseUpdated, Category
from services.common.mongo import MongoDatabase
from services.routing.app import create_app
from services.routing.case import Case
from services.routing.clocks import add_time
from services.routing.policy import load_policy
from services.routing.settings import RoutingSettings
from tests.helpers import QueueProbe, start_client
from tests.integration.routing.conftest import Reporter, auth, case_of

pytestmark = pytest.mark.integration

Client = TestClient[Any, Any]
POLICY = load_policy()


class Clock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def api(routing_settings: RoutingSettings, clock: Clock) -> AsyncIterator[Client]:
    client = await start_client(create_app(routing_settings, clock=clock), what="routing")
    yield client
    await client.close()


async def _stored(routing_db: MongoDatabase, case_id: str) -> Case:
    document = await routing_db.cases.find_one({"_id": case_id})
    assert document is not None
    return Case.from_document(document)


def _path(case_id: str, *rest: str) -> str:
    return "/".join([f"/api/v1/cases/{case_id}/takedowns", *rest])


async def test_a_request_sent_through_the_api_pauses_the_case_until_the_platform_answers(
    api: Client,
    clock: Clock,
    routing_db: MongoDatabase,
    reporter: Reporter,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    probe = await QueueProbe.bind(amqp_connection, topology, "case.updated.police")
    case_id = str((await case_of(routing_db, await reporter.submit(Category.SCAM_FRAUD)))["_id"])
    assert (
        await api.post(f"/api/v1/cases/{case_id}/acknowledge", headers=auth("police"))
    ).status == 200
    running = await _stored(routing_db, case_id)
    assert running.due_at is not None

    clock.offset += timedelta(hours=2)
    sent_at = clock() - timedelta(hours=1)  # recorded an hour after it went out
    response = await api.post(
        _path(case_id),
        json={
            "channel": "portal",
            "asked": "remove",
            "reference": "FB-GOV-7781",
            "sent_at": sent_at.isoformat(),
            "note": "gửi qua cổng Facebook",
        },
        headers=auth("police"),
    )
    assert response.status == 201
    body = await response.json()
    request = body["takedown"]
    assert (request["status"], request["platform"], request["awaiting"]) == (
        "sent",
        "facebook",
        True,
    )
    assert datetime.fromisoformat(request["legal_due_at"]) == sent_at + timedelta(hours=24)
    assert body["case"]["status"] == "waiting_on_platform" and body["case"]["due_at"] is None
    waiting = await _stored(routing_db, case_id)
    assert waiting.internal_left_s is not None and waiting.internal_left_s > 0
    assert waiting.audit[-1].action == "takedown_sent"
    assert "paused" in (waiting.audit[-1].clock or "")

    events = await probe.wait_for(2)
    [announced] = [e for e in events if isinstance(e, CaseUpdated) and e.version == 3]
    assert announced.action == "takedown_sent"
    assert announced.status.value == "waiting_on_platform" and announced.due_at is None
    [legal] = announced.takedowns
    assert legal.request_id == request["request_id"]
    assert legal.legal_due_at == sent_at + timedelta(hours=24)

    listed = await (await api.get(_path(case_id), headers=auth("police"))).json()
    assert [t["request_id"] for t in listed["takedowns"]] == [request["request_id"]]

    clock.offset += timedelta(days=2)  # the platform takes two days: the internal clock stood
    answer = await api.post(
        _path(case_id, request["request_id"], "answer"),
        json={"status": "done", "reference": "FB-GOV-7781"},
        headers=auth("police"),
    )
    assert answer.status == 200
    answered = await answer.json()
    assert (
        answered["takedown"]["status"] == "done"
        and answered["takedown"]["answered_in_time"] is False
    )
    resumed = await _stored(routing_db, case_id)
    assert resumed.status.value == "in_progress" and resumed.internal_left_s is None
    resumed_at = resumed.audit[-1].at
    calendar = POLICY.calendars.get(waiting.calendar) if waiting.calendar else None
    assert resumed.due_at == add_time(resumed_at, waiting.internal_left_s, calendar)
    assert running.due_at < resumed.due_at  # later than it was: the wait did not count

    events = await probe.wait_for(3)
    last = events[-1]
    assert isinstance(last, CaseUpdated) and last.action == "takedown_answered"
    assert last.takedowns == [] and last.due_at == resumed.due_at


async def test_the_draft_a_hijacked_account_case_opens_with_is_sent_in_one_click(
    api: Client, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case_id = str(
        (await case_of(routing_db, await reporter.submit(Category.HIJACKED_ACCOUNT)))["_id"]
    )
    [draft] = (await (await api.get(_path(case_id), headers=auth("police"))).json())["takedowns"]
    assert (draft["status"], draft["asked"], draft["platform"]) == (
        "draft",
        "restore_account",
        "facebook",
    )
    assert draft["legal_due_at"] is None

    sent = await api.post(_path(case_id, draft["request_id"], "send"), headers=auth("police"))
    assert sent.status == 200
    body = await sent.json()
    assert body["takedown"]["status"] == "sent" and body["takedown"]["legal_due_at"]
    assert body["case"]["status"] == "waiting_on_platform" and body["case"]["due_at"] is None
    assert body["case"]["paused"] is True  # taken up by sending, its resolution clock paused
    again = await api.post(_path(case_id, draft["request_id"], "send"), headers=auth("police"))
    assert again.status == 409


async def test_refusals_name_what_is_wrong(
    api: Client, clock: Clock, routing_db: MongoDatabase, reporter: Reporter
) -> None:
    case_id = str((await case_of(routing_db, await reporter.submit(Category.IMPERSONATION)))["_id"])
    [draft] = (await (await api.get(_path(case_id), headers=auth("police"))).json())["takedowns"]
    police = auth("police")

    async def status_of(
        path: str, body: dict[str, Any] | None, headers: Any = police
    ) -> tuple[int, Any]:
        response = await api.post(path, json=body, headers=headers)
        return response.status, await response.json()

    future = (clock() + timedelta(hours=1)).isoformat()
    status, body = await status_of(
        _path(case_id), {"channel": "email", "asked": "remove", "sent_at": future}
    )
    assert status == 422 and body["error"]["errors"][0]["field"] == "sent_at"
    status, body = await status_of(_path(case_id), {"channel": "fax", "asked": "remove"})
    assert status == 422 and {e["field"] for e in body["error"]["errors"]} == {"channel"}
    status, _ = await status_of(_path(case_id), {"channel": "email", "asked": "remove", "x": 1})
    assert status == 422
    answer = _path(case_id, draft["request_id"], "answer")
    status, _ = await status_of(answer, {"status": "done"})
    assert status == 409  # a draft awaits no answer
    await status_of(_path(case_id, draft["request_id"], "send"), {})
    assert (await api.post(answer, headers=police)).status == 415  # no body: no answer
    status, body = await status_of(answer, {"status": "refused"})
    assert status == 422 and body["error"]["errors"][0]["field"] == "reason"
    status, _ = await status_of(_path(case_id, "no-such-request", "answer"), {"status": "done"})
    assert status == 404
    status, _ = await status_of(answer, {"status": "done"}, auth("culture_office"))
    assert status == 404  # another agency's case
    status, _ = await status_of(_path(case_id, draft["request_id"], "discard"), {})
    assert status == 409  # sent, no longer a draft
    status, body = await status_of(answer, {"status": "refused", "reason": "không vi phạm"})
    assert status == 200 and body["case"]["status"] == "in_progress"
    assert body["takedown"]["answer_reason"] == "không vi phạm"
    stored = await _stored(routing_db, case_id)
    assert [a.action for a in stored.audit][-2:] == ["takedown_sent", "takedown_answered"]
