"""Where test servers come from: AMQP_URL/MONGO_URL, testcontainers, or localhost + SecantusDB."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from urllib.parse import urlparse

from services.common.embedded import EmbeddedMongo

LOCAL_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
HOW_TO_START_RABBITMQ = (
    "RabbitMQ is not reachable at {url}. Start one with `rabbitmq-server -detached` "
    "(Debian package rabbitmq-server) or set AMQP_URL to a running broker."
)


def docker_available() -> bool:
    """True when a Docker engine answers (not just the client)."""
    if shutil.which("docker") is None:
        return False
    with suppress(OSError, subprocess.SubprocessError):
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    return False


def reachable(url: str) -> bool:
    """True when something accepts TCP connections at the URL's host and port."""
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or 5672), timeout=2
        ):
            return True
    except OSError:
        return False


@contextmanager
def amqp_server() -> Iterator[str]:
    """Yield a broker URL, in the documented order; fail loudly when there is none."""
    if url := os.environ.get("AMQP_URL"):
        yield _require(url)
    elif docker_available():
        from testcontainers.rabbitmq import RabbitMqContainer

        # The management API (queue policies) answers on its own mapped port: say where.
        container = RabbitMqContainer("rabbitmq:4-management").with_exposed_ports(15672)
        with container:
            host = container.get_container_host_ip()
            port = container.get_exposed_port(5672)
            management = f"http://{host}:{container.get_exposed_port(15672)}"
            os.environ["RABBITMQ_MANAGEMENT_URL"] = management
            try:
                yield f"amqp://guest:guest@{host}:{port}/"
            finally:
                os.environ.pop("RABBITMQ_MANAGEMENT_URL", None)
    else:
        yield _require(LOCAL_AMQP_URL)


def _require(url: str) -> str:
    if not reachable(url):
        raise RuntimeError(HOW_TO_START_RABBITMQ.format(url=url))
    return url


@contextmanager
def mongo_server() -> Iterator[str]:
    """Yield a MongoDB URL: MONGO_URL, a testcontainers MongoDB, or a SecantusDB subprocess."""
    if url := os.environ.get("MONGO_URL"):
        yield url
    elif docker_available():
        from testcontainers.mongodb import MongoDbContainer

        with MongoDbContainer("mongo:7") as container:
            yield container.get_connection_url()
    else:
        server = EmbeddedMongo(":memory:").start()
        try:
            yield server.url
        finally:
            server.stop()
