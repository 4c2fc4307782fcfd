"""The broker users' definitions: RabbitMQ's password hash, and permissions that name only each
user's own resources."""

from __future__ import annotations

import re
from base64 import b64decode
from hashlib import sha256

from services.admin.brokerusers import (
    Accounts,
    broker_users,
    definitions,
    password_hash,
    passwords_from_environment,
)
from services.common.amqp import Topology

TOPOLOGY = Topology(prefix="prod.")


def _users() -> dict[str, dict[str, str]]:
    roles = ["operator", "intake", "routing", "notify", "police", "supervisor"]
    accounts = Accounts({r: f"pw-{r}" for r in roles}, ("police", "culture_office"))
    users = broker_users(TOPOLOGY, accounts)
    assert accounts.left_out == ["culture_office"]
    return {u.name: {"configure": u.configure, "write": u.write, "read": u.read} for u in users}


def test_password_hash_is_rabbitmqs_salted_sha256() -> None:
    decoded = b64decode(password_hash("secret", salt=b"\x01\x02\x03\x04"))
    assert decoded[:4] == b"\x01\x02\x03\x04"
    assert decoded[4:] == sha256(b"\x01\x02\x03\x04secret").digest()
    assert password_hash("secret") != password_hash("secret")  # a fresh salt each time


def test_an_agency_reads_only_its_queue_and_configures_nothing() -> None:
    police = _users()["police"]
    assert re.fullmatch(police["read"], "prod.agency.police.cases")
    assert not re.fullmatch(police["read"], "prod.agency.culture_office.cases")
    assert not re.fullmatch(police["read"], "prod.incidents")
    assert police["configure"] == police["write"] == "^$"


def test_services_touch_their_own_queues_and_the_exchanges_only() -> None:
    users = _users()
    intake, routing = users["intake"], users["routing"]
    for name in ("prod.incidents", "prod.incidents.dlx", "prod.incidents.unroutable"):
        assert re.fullmatch(intake["configure"], name)
    assert re.fullmatch(intake["configure"], "prod.intake.case-status")
    assert not re.fullmatch(intake["configure"], "prod.routing.reports")
    assert not re.fullmatch(intake["read"], "prod.agency.police.cases")
    assert re.fullmatch(routing["configure"], "prod.agency.police.cases")
    assert not re.fullmatch(routing["configure"], "other.routing.reports")


def test_definitions_hold_hashes_never_passwords() -> None:
    users = broker_users(TOPOLOGY, Accounts({"intake": "very-secret"}, ()))
    document = definitions(users, TOPOLOGY)
    assert "very-secret" not in str(document)
    assert document["topic_permissions"][0]["exchange"] == "prod.incidents"
    assert re.fullmatch(document["topic_permissions"][0]["write"], "report.submitted")
    assert not re.fullmatch(document["topic_permissions"][0]["write"], "case.assigned.police")


def test_passwords_come_from_the_environment_by_role() -> None:
    environ = {"RABBITMQ_PASSWORD_POLICE": "p", "RABBITMQ_PASSWORD_INTAKE": ""}
    assert passwords_from_environment(["police", "intake", "notify"], environ) == {"police": "p"}
