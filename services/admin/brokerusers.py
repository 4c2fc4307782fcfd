"""`incidents-admin broker definitions`: one RabbitMQ user per service and per agency, each
allowed only its own queues and exchanges, written as a definitions file the broker loads.

RabbitMQ checks three regular expressions per user and virtual host, over the names of queues
and exchanges: `configure` (declare, delete), `write` (publish to an exchange, bind a queue)
and `read` (consume a queue, bind from an exchange). Topic permissions add two more, over
routing keys on the topic exchange: `write` for the keys a user may publish and `read` for the
binding keys it may use. With them:

- each service declares and consumes only its own queues (`intake.*`, `routing.*` and the
  agencies' queues routing declares for them, `notify.*`), publishes only its own events and
  binds only the events it consumes;
- an agency may consume `agency.<its id>.cases` and nothing else: it can declare no queue and
  bind nothing, so a queue bound to `#` (every report with its contact) is out of its reach;
- supervisors may declare their own `supervisor.*` queues and bind them to alerts only;
- the operator (the broker's administrator) keeps every right.

The file holds password hashes (RabbitMQ's salted SHA-256), never the passwords, which come
from the environment: `RABBITMQ_PASSWORD_<USER>` (e.g. `RABBITMQ_PASSWORD_INTAKE`,
`RABBITMQ_PASSWORD_POLICE`). A user without a password is left out, with a line on stderr.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.common.amqp import Topology
from services.common.contracts import TRIAGE
from services.routing.policy import load_policy

HASHING = "rabbit_password_hashing_sha256"
OPERATOR = "operator"
SUPERVISORS = "supervisor"
NOTHING = "^$"
SERVICES = ("intake", "routing", "notify")
# The queue names (after the topology prefix) each service declares and consumes.
SERVICE_QUEUES = {
    "intake": ("intake",),
    "routing": ("routing", "agency"),
    "notify": ("notify",),
}
# Routing keys each service publishes, and binding keys it binds its queues with.
SERVICE_TOPICS = {
    "intake": (r"report\..+", r"case\..+"),
    "routing": (r"case\.(assigned|updated|shared)\..+", r"(report\..+|case\..+)"),
    "notify": (r"case\.(escalated|warning|platform_overdue)\..+", r"case\..+"),
}
SUPERVISOR_BINDINGS = r"case\.(escalated|warning|platform_overdue)\..*"


@dataclass(frozen=True)
class BrokerUser:
    """A broker user and what it may touch in the virtual host."""

    name: str
    password: str
    configure: str
    write: str
    read: str
    tags: tuple[str, ...] = ()
    topic_write: str | None = None
    topic_read: str | None = None


@dataclass(frozen=True)
class Accounts:
    """Who connects to the broker: the names to give users, and where their passwords come
    from (`passwords` by user name; absent users are left out)."""

    passwords: Mapping[str, str]
    agencies: tuple[str, ...]
    user_prefix: str = ""
    left_out: list[str] = field(default_factory=list)


def broker_users(topology: Topology, accounts: Accounts) -> list[BrokerUser]:
    """The users of a deployment whose queues and exchanges `topology` names."""
    prefix = re.escape(topology.prefix)
    exchanges = rf"{re.escape(topology.exchange)}(\.unroutable|\.dlx)?|{prefix}unroutable"
    candidates: list[tuple[str, dict[str, Any]]] = [
        (OPERATOR, {"configure": ".*", "write": ".*", "read": ".*", "tags": ("administrator",)})
    ]
    for service in SERVICES:
        own = "|".join(rf"{prefix}{re.escape(q)}\..+" for q in SERVICE_QUEUES[service])
        resources = rf"^({exchanges}|{own})$"
        publishes, binds = SERVICE_TOPICS[service]
        grants = {"configure": resources, "write": resources, "read": resources}
        topics = {"topic_write": f"^{publishes}$", "topic_read": f"^{binds}$"}
        candidates.append((service, {**grants, **topics, "tags": ("policymaker",)}))
    for agency in accounts.agencies:
        queue = re.escape(topology.queue(f"agency.{agency}.cases"))
        candidates.append((agency, {"configure": NOTHING, "write": NOTHING, "read": f"^{queue}$"}))
    mine = rf"{prefix}supervisor\..+"
    candidates.append(
        (
            SUPERVISORS,
            {
                "configure": f"^{mine}$",
                "write": f"^{mine}$",
                "read": rf"^({re.escape(topology.exchange)}|{mine})$",
                "topic_write": NOTHING,
                "topic_read": f"^{SUPERVISOR_BINDINGS}$",
            },
        )
    )
    users = []
    for role, rights in candidates:
        name = f"{accounts.user_prefix}{role}"
        password = accounts.passwords.get(role)
        if not password:
            accounts.left_out.append(role)
            continue
        users.append(BrokerUser(name=name, password=password, **rights))
    return users


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's `rabbit_password_hashing_sha256`: base64(salt + sha256(salt + password))."""
    salt = salt if salt is not None else secrets.token_bytes(4)
    digest = hashlib.sha256(salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode()


def definitions(
    users: Iterable[BrokerUser], topology: Topology, vhost: str = "/"
) -> dict[str, Any]:
    """The definitions document (users, permissions, topic permissions) for `rabbitmqctl
    import_definitions`, the management API, or `load_definitions` at boot."""
    users = list(users)
    return {
        "vhosts": [{"name": vhost}],
        "users": [
            {
                "name": u.name,
                "password_hash": password_hash(u.password),
                "hashing_algorithm": HASHING,
                "tags": list(u.tags),
            }
            for u in users
        ],
        "permissions": [
            {
                "user": u.name,
                "vhost": vhost,
                "configure": u.configure,
                "write": u.write,
                "read": u.read,
            }
            for u in users
        ],
        "topic_permissions": [
            {
                "user": u.name,
                "vhost": vhost,
                "exchange": topology.exchange,
                "write": u.topic_write or ".*",
                "read": u.topic_read or ".*",
            }
            for u in users
            if u.topic_write is not None or u.topic_read is not None
        ],
    }


def passwords_from_environment(
    roles: Iterable[str], environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """`RABBITMQ_PASSWORD_<ROLE>` for each role that has one."""
    found = {}
    for role in roles:
        value = environ.get(f"RABBITMQ_PASSWORD_{role.upper()}")
        if value:
            found[role] = value
    return found


def register(commands: Any) -> None:
    """Add `broker definitions`."""
    broker = commands.add_parser(
        "broker",
        help="broker users: one per service and agency, each limited to its own queues",
        description="Write the RabbitMQ definitions file (users, permissions, topic "
        "permissions) the broker loads at start.",
    )
    actions = broker.add_subparsers(dest="broker_action", metavar="ACTION", required=True)
    write = actions.add_parser(
        "definitions",
        help="write the definitions file; passwords from RABBITMQ_PASSWORD_<USER>",
    )
    write.add_argument("-o", "--output", type=Path, help="write it here (default: stdout)")
    write.add_argument(
        "--policy", type=Path, help="routing policy naming the agencies (default: packaged)"
    )
    write.add_argument(
        "--prefix",
        default=os.environ.get("TOPOLOGY_PREFIX", ""),
        help="the topology's name prefix (default: $TOPOLOGY_PREFIX or none)",
    )
    write.set_defaults(handler=definitions_command)


def definitions_command(args: argparse.Namespace) -> int:
    """Write the definitions of every user that has a password; services must have one."""
    topology = Topology(prefix=args.prefix)
    agencies = (*load_policy(args.policy).agencies, TRIAGE)
    roles = (OPERATOR, *SERVICES, *agencies, SUPERVISORS)
    accounts = Accounts(passwords_from_environment(roles), agencies)
    users = broker_users(topology, accounts)
    missing = [role for role in (OPERATOR, *SERVICES) if role in accounts.left_out]
    if missing:
        names = ", ".join(f"RABBITMQ_PASSWORD_{r.upper()}" for r in missing)
        print(
            f"incidents-admin: set {names}: the operator and every service need a password",
            file=sys.stderr,
        )
        return 1
    for role in accounts.left_out:
        print(f"no RABBITMQ_PASSWORD_{role.upper()}: no broker user for {role}", file=sys.stderr)
    text = json.dumps(definitions(users, topology), indent=2) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        args.output.chmod(0o644)
        print(f"wrote {len(users)} users to {args.output}", file=sys.stderr)
    return 0
