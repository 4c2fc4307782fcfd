"""RabbitMQ policies through the management HTTP API: delivery limits and dead-lettering.

A consumer queue's delivery limit and dead-letter settings are a policy, not queue arguments:
RabbitMQ refuses to redeclare a queue with other arguments, while a policy changes on a running
queue. Each consumer queue gets a policy of its own (its dead-letter routing key names it, so
its dead letters reach its `.dead` twin), named after the queue so that a topology prefix keeps
deployments and test runs apart, with a priority above an operator's catch-all policy (only
one policy applies to a queue: the highest priority wins).
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

MANAGEMENT_PORT = 15672
# Above the 0 an operator's catch-all policy usually has; only the highest applies to a queue.
POLICY_PRIORITY = 100
POLICY_SUFFIX = ".limits"
# Queue arguments that fix what the project's policy sets (they win over any policy).
LEGACY_ARGUMENTS = (
    "x-delivery-limit",
    "x-dead-letter-exchange",
    "x-dead-letter-routing-key",
    "x-dead-letter-strategy",
    "x-overflow",
)
HOW_TO_ENABLE = "is the management plugin enabled? `rabbitmq-plugins enable rabbitmq_management`"


class BrokerPolicyError(Exception):
    """The management API could not be reached, refused the credentials, or refused a call."""


@dataclass(frozen=True)
class ManagementEndpoint:
    """Where the management API answers, with which credentials, for which virtual host."""

    url: str
    username: str
    password: str
    vhost: str = "/"

    @classmethod
    def of(
        cls, amqp_url: str | URL, management_url: str | None = None, *, port: int = MANAGEMENT_PORT
    ) -> ManagementEndpoint:
        """The endpoint for a broker: `management_url` when given (its credentials, or else the
        AMQP URL's), otherwise the AMQP URL's host on `port`; the AMQP URL's virtual host."""
        amqp = URL(str(amqp_url))
        user, password = amqp.user or "guest", amqp.password or "guest"
        if management_url:
            given = URL(management_url)
            base = given.with_user(None).with_password(None)
            user, password = given.user or user, given.password or password
        else:
            host = amqp.host or "127.0.0.1"
            base = URL.build(scheme="https" if amqp.scheme == "amqps" else "http", host=host)
            base = base.with_port(port)
        return cls(str(base).rstrip("/"), user, password, vhost_of(amqp))

    def api(self, *parts: str) -> str:
        """The URL of an API resource; each part is percent-encoded (`/` too)."""
        return "/".join([self.url, "api", *(quote(part, safe="") for part in parts)])


def vhost_of(amqp_url: URL) -> str:
    """The virtual host an AMQP URL names (`/` when its path is empty or `/`)."""
    path = amqp_url.path[1:] if amqp_url.path.startswith("/") else amqp_url.path
    return path or "/"


@dataclass(frozen=True)
class QueuePolicy:
    """A policy applying to exactly one queue."""

    name: str
    queue: str
    definition: Mapping[str, Any]
    priority: int = POLICY_PRIORITY

    def body(self) -> dict[str, Any]:
        """The JSON body of `PUT /api/policies/{vhost}/{name}`."""
        return {
            "pattern": f"^{re.escape(self.queue)}$",
            "definition": dict(self.definition),
            "priority": self.priority,
            "apply-to": "queues",
        }


def policy_name(queue: str) -> str:
    """The name of a queue's policy: the queue's full name (prefix included) and a suffix."""
    return f"{queue}{POLICY_SUFFIX}"


def dead_letter_policy(
    queue: str, *, dead_letter_exchange: str, delivery_limit: int
) -> QueuePolicy:
    """Past `delivery_limit` failed deliveries, a message goes to `<queue>.dead` through the
    dead-letter exchange, at least once (which needs `reject-publish` overflow)."""
    return QueuePolicy(
        policy_name(queue),
        queue,
        {
            "delivery-limit": delivery_limit,
            "dead-letter-exchange": dead_letter_exchange,
            "dead-letter-routing-key": queue,
            "dead-letter-strategy": "at-least-once",
            "overflow": "reject-publish",
        },
    )


class BrokerPolicies:
    """The management API calls the project needs: policies, and a queue's arguments."""

    def __init__(self, endpoint: ManagementEndpoint, session: aiohttp.ClientSession) -> None:
        self.endpoint = endpoint
        self.session = session

    @classmethod
    @asynccontextmanager
    async def open(
        cls, endpoint: ManagementEndpoint, *, timeout: float = 10.0
    ) -> AsyncIterator[BrokerPolicies]:
        """A client with its own HTTP session, closed on exit."""
        credentials = f"{endpoint.username}:{endpoint.password}".encode()
        headers = {"Authorization": "Basic " + base64.b64encode(credentials).decode()}
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with aiohttp.ClientSession(headers=headers, timeout=client_timeout) as session:
            yield cls(endpoint, session)

    async def apply(self, policy: QueuePolicy) -> None:
        """Create or update the policy (RabbitMQ applies it to the running queue at once)."""
        url = self.endpoint.api("policies", self.endpoint.vhost, policy.name)
        await self._call("PUT", url, json=policy.body())

    async def delete(self, name: str) -> None:
        """Delete a policy; one that does not exist is already deleted."""
        url = self.endpoint.api("policies", self.endpoint.vhost, name)
        await self._call("DELETE", url, missing_ok=True)

    async def import_definitions(self, definitions: Mapping[str, Any]) -> None:
        """Import a definitions document (users, permissions, ...), merged into the broker's."""
        await self._call("POST", self.endpoint.api("definitions"), json=dict(definitions))

    async def delete_user(self, name: str) -> None:
        """Delete a broker user; one that does not exist is already deleted."""
        await self._call("DELETE", self.endpoint.api("users", name), missing_ok=True)

    async def policies(self) -> list[dict[str, Any]]:
        """Every policy of the virtual host."""
        found = await self._call("GET", self.endpoint.api("policies", self.endpoint.vhost))
        return list(found or [])

    async def queue(self, name: str) -> dict[str, Any] | None:
        """What the management API knows of a queue (arguments, policy, counts); None if absent."""
        url = self.endpoint.api("queues", self.endpoint.vhost, name)
        found = await self._call("GET", url, missing_ok=True)
        return dict(found) if found is not None else None

    async def bound_queues(self, exchange: str) -> list[str] | None:
        """The queues bound to `exchange`; None when there is no such exchange."""
        exists = self.endpoint.api("exchanges", self.endpoint.vhost, exchange)
        if await self._call("GET", exists, missing_ok=True) is None:
            return None  # (the bindings of a missing exchange answer an empty list)
        url = f"{exists}/bindings/source"
        found = await self._call("GET", url) or []
        return sorted({b["destination"] for b in found if b.get("destination_type") == "queue"})

    async def _call(self, method: str, url: str, *, missing_ok: bool = False, **kwargs: Any) -> Any:
        """One request; the JSON answer (None when empty, or when absent and `missing_ok`)."""
        try:
            async with self.session.request(method, url, **kwargs) as response:
                if response.status == 404 and missing_ok:
                    return None
                if response.status == 401:
                    raise BrokerPolicyError(
                        f"RabbitMQ management API at {self.endpoint.url} refused the credentials "
                        f"of user {self.endpoint.username!r}"
                    )
                text = await response.text()
                if response.status >= 300:
                    raise BrokerPolicyError(
                        f"RabbitMQ management API {method} {url} answered "
                        f"{response.status}: {text[:300]}"
                    )
                return await response.json(content_type=None) if text else None
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise BrokerPolicyError(
                f"RabbitMQ management API not reachable at {self.endpoint.url} "
                f"({str(exc) or type(exc).__name__}); " + HOW_TO_ENABLE
            ) from exc


def legacy_arguments(queue_info: Mapping[str, Any]) -> dict[str, Any]:
    """The dead-letter and limit arguments a queue was declared with (which beat any policy)."""
    arguments = queue_info.get("arguments") or {}
    return {key: arguments[key] for key in LEGACY_ARGUMENTS if key in arguments}
