"""Broker policies and the management endpoint: pure, no I/O."""

from __future__ import annotations

import re

import pytest

from services.common.amqp import Topology, queue_arguments
from services.common.brokerpolicy import (
    POLICY_PRIORITY,
    ManagementEndpoint,
    dead_letter_policy,
    legacy_arguments,
    policy_name,
)

pytestmark = pytest.mark.unit


def test_the_management_api_is_the_amqp_host_on_port_15672_with_its_credentials() -> None:
    endpoint = ManagementEndpoint.of("amqp://ops:s%40cret@rabbit.internal:5672/")
    assert endpoint == ManagementEndpoint("http://rabbit.internal:15672", "ops", "s@cret", "/")
    assert endpoint.api("policies", "/", "t.q.limits") == (
        "http://rabbit.internal:15672/api/policies/%2F/t.q.limits"
    )


def test_a_tls_broker_and_a_named_virtual_host_carry_over() -> None:
    endpoint = ManagementEndpoint.of("amqps://u:p@broker:5671/incidents")
    assert endpoint.url == "https://broker:15672"
    assert endpoint.vhost == "incidents"
    assert ManagementEndpoint.of("amqp://u:p@broker:5672/%2F").vhost == "/"
    assert ManagementEndpoint.of("amqp://u:p@broker").vhost == "/"


def test_a_configured_management_url_wins_and_may_bring_its_own_credentials() -> None:
    plain = ManagementEndpoint.of("amqp://u:p@broker/", "http://mgmt.example:8080/")
    assert (plain.url, plain.username, plain.password) == ("http://mgmt.example:8080", "u", "p")
    own = ManagementEndpoint.of("amqp://u:p@broker/", "https://admin:pw@mgmt.example")
    assert (own.url, own.username, own.password) == ("https://mgmt.example", "admin", "pw")


def test_consumer_queues_dead_letter_at_least_once_past_the_delivery_limit() -> None:
    topology = Topology("t1.")
    name = topology.queue("routing.reports")
    policy = dead_letter_policy(
        name, dead_letter_exchange=topology.dead_letter_exchange, delivery_limit=5
    )
    assert policy.definition == {
        "delivery-limit": 5,
        "dead-letter-exchange": "t1.incidents.dlx",
        "dead-letter-routing-key": "t1.routing.reports",
        "dead-letter-strategy": "at-least-once",
        "overflow": "reject-publish",
    }
    assert queue_arguments() == {"x-queue-type": "quorum"}


def test_a_policy_applies_to_its_own_queue_alone_above_a_catch_all() -> None:
    policy = dead_letter_policy("t-1.routing.reports", dead_letter_exchange="x", delivery_limit=3)
    body = policy.body()
    assert policy.name == policy_name("t-1.routing.reports") == "t-1.routing.reports.limits"
    assert body["apply-to"] == "queues" and body["priority"] == POLICY_PRIORITY > 0
    pattern = re.compile(body["pattern"])
    assert pattern.search("t-1.routing.reports")
    for other in ("t-1.routing.reports.dead", "t-1Xrouting.reports", "x.t-1.routing.reports"):
        assert not pattern.search(other), other


def test_the_old_queue_arguments_are_told_apart_from_the_queue_type() -> None:
    info = {"arguments": {"x-queue-type": "quorum", "x-delivery-limit": 5, "x-overflow": "drop"}}
    assert legacy_arguments(info) == {"x-delivery-limit": 5, "x-overflow": "drop"}
    assert legacy_arguments({"arguments": {"x-queue-type": "quorum"}}) == {}
    assert legacy_arguments({}) == {}
