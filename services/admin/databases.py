"""The services' databases as the operator tool reads them: their names (as each service's
settings give them), which collections hold an outbox or quarantined documents, and the
command-line options and client shared by `outboxes` and `retention`."""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from pydantic_settings import BaseSettings
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError
from yarl import URL

from services.common.mongo import (
    Document,
    MongoDatabase,
    close_client,
    make_client,
    mongo_database,
)
from services.common.settings import mongo_url_variable, shared_mongo_url
from services.intake.settings import IntakeSettings
from services.notify.settings import NotifySettings
from services.routing.settings import RoutingSettings


class DatabaseError(Exception):
    """The database could not be reached or refused a command (exit code 1)."""


@dataclass(frozen=True)
class ServiceDatabase:
    """One service's database: the collections whose documents carry an outbox, and those
    whose documents a loop marks `poisoned` when it cannot process them."""

    service: str
    database: str
    outboxes: tuple[str, ...]
    poisoned: tuple[str, ...] = ()


SETTINGS: dict[str, type[BaseSettings]] = {
    "intake": IntakeSettings,
    "routing": RoutingSettings,
    "notify": NotifySettings,
}


def database_name(settings: type[BaseSettings]) -> str:
    """The database a service uses: `<PREFIX>MONGO_DB` from the environment, or its default."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    return os.environ.get(f"{prefix}MONGO_DB", settings.model_fields["mongo_db"].default)


def service_databases(args: argparse.Namespace) -> list[ServiceDatabase]:
    """The services chosen with `--service` (all by default) and their databases."""
    every = [
        ServiceDatabase("intake", args.intake_db, outboxes=("reports",)),
        ServiceDatabase("routing", args.routing_db, outboxes=("cases",)),
        ServiceDatabase(
            "notify", args.notify_db, outboxes=("deadlines",), poisoned=("deadlines", "alerts")
        ),
    ]
    return [db for db in every if not args.services or db.service in args.services]


def database_options() -> argparse.ArgumentParser:
    """`--mongo-url`, each service's database name, `--service`, `--json`."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--mongo-url",
        default=shared_mongo_url(),
        help="MongoDB of every service without a server of its own (default: $MONGO_URL or "
        "the services' local default)",
    )
    for service, settings in SETTINGS.items():
        options.add_argument(
            f"--{service}-db",
            default=database_name(settings),
            metavar="NAME",
            help=f"{service}'s database (default: ${service.upper()}_MONGO_DB or "
            f"{settings.model_fields['mongo_db'].default!r})",
        )
        options.add_argument(
            f"--{service}-mongo-url",
            default=os.environ.get(mongo_url_variable(service)) or None,
            metavar="URL",
            help=f"{service}'s own MongoDB (default: ${mongo_url_variable(service)}, else "
            "--mongo-url)",
        )
    options.add_argument(
        "--service",
        dest="services",
        action="append",
        choices=("intake", "routing", "notify"),
        help="only this service (repeatable; default: all)",
    )
    options.add_argument(
        "--timeout-ms", type=int, default=5000, help="give up on the database after this (5000)"
    )
    options.add_argument("--json", action="store_true", help="print JSON for scripts")
    return options


def server_url(args: argparse.Namespace, service: str) -> str:
    """The server holding `service`'s database: its own, else the shared `--mongo-url`."""
    own: str | None = getattr(args, f"{service}_mongo_url", None)
    return own or args.mongo_url


@asynccontextmanager
async def databases(
    args: argparse.Namespace, services: list[str]
) -> AsyncIterator[dict[str, MongoDatabase]]:
    """The databases of `services`, by service, each on its server: one client per server,
    each having answered a ping (an unreachable server is a `DatabaseError`)."""
    clients: dict[str, AsyncMongoClient[Document]] = {}
    try:
        found = {}
        for service in services:
            url = server_url(args, service)
            if url not in clients:
                clients[url] = make_client(url, timeout_ms=args.timeout_ms)
                await _ping(clients[url], url)
            found[service] = clients[url][getattr(args, f"{service}_db")]
        yield found
    finally:
        for client in clients.values():
            await close_client(client, timeout=args.timeout_ms / 1000 + 1)


async def _ping(client: AsyncMongoClient[Document], url: str) -> None:
    try:
        await client.admin.command("ping")
    except PyMongoError as exc:
        raise DatabaseError(
            f"cannot reach MongoDB at {masked(url)}: {mongo_error_summary(exc)}"
        ) from exc


@asynccontextmanager
async def routing_database(
    mongo_url: str | None, database: str | None
) -> AsyncIterator[MongoDatabase]:
    """Routing's database: the URL and name given, or else those routing's settings give."""
    settings = RoutingSettings()
    async with mongo_database(
        mongo_url or settings.mongo_url,
        database or settings.mongo_db,
        timeout_ms=settings.mongo_timeout_ms,
    ) as db:
        yield db


def mongo_error_summary(exc: Exception) -> str:
    """A database error in one line: PyMongo appends its whole topology description to the
    message, and the part before it says enough."""
    return str(exc).split(", Timeout:")[0]


def masked(url: str) -> str:
    """The URL with its password hidden."""
    parsed = URL(url)
    return str(parsed.with_password("***")) if parsed.password else url
