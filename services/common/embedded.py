"""SecantusDB, a MongoDB wire-protocol server, as a subprocess: used when MONGO_URL is unset.

One server is one Python process, so it uses at most one core however many the machine has;
`per_service` gives each service a server of its own (each still in its own database), which
lets the database work of the three services use more than one core. Both keep an oplog, so
the services' relays read their events from change streams rather than clearing what they
published (`services.common.outbox_stream`); a bare `EmbeddedMongo` is a plain standalone
server unless asked otherwise (the tests' shared server, whose relays clear).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

SERVICES = ("intake", "routing", "notify")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(
    host: str, port: int, *, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until `host:port` accepts connections; raise on time-out or if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.0f}s")


class EmbeddedMongo:
    """A SecantusDB server on a local port; `storage` is a directory or ':memory:'."""

    def __init__(
        self,
        storage: str | Path,
        *,
        port: int | None = None,
        log_path: Path | None = None,
        durable: bool = True,
        standalone: bool = True,
    ) -> None:
        self.storage = str(storage)
        self.durable = durable
        self.standalone = standalone  # False: an oplog is kept, for change streams
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The connection string for the driver.

        Retryable writes are off: they protect nothing on a single server, and SecantusDB
        keeps a registry of them that makes every later write slower.
        """
        return f"mongodb://127.0.0.1:{self.port}/?retryWrites=false"

    def start(self, *, timeout: float = 30.0) -> EmbeddedMongo:
        """Start the server and wait until it listens (stopping it if it does not)."""
        self.launch()
        try:
            return self.wait_ready(timeout=timeout)
        except BaseException:
            self.stop()
            raise

    def launch(self) -> None:
        """Start the server's process without waiting for it (see `wait_ready`)."""
        if self.storage != ":memory:":
            Path(self.storage).mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as files:  # the child keeps its own copy of the log file
            out: int | IO[bytes] = subprocess.DEVNULL
            if self.log_path is not None:
                out = files.enter_context(self.log_path.open("ab"))
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "secantus",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--storage-path",
                    self.storage,
                    "--log-level",
                    "WARNING",
                    # fdatasync on every commit: an acknowledged write survives a SIGKILL.
                    *(["--sync-on-commit"] if self.durable else []),
                    # A plain standalone server keeps no oplog: no change streams, and no oplog
                    # entry (with a diff of the document) for every write.
                    *(["--standalone"] if self.standalone else []),
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, *, timeout: float = 30.0) -> EmbeddedMongo:
        """Wait until the launched server listens."""
        wait_for_port("127.0.0.1", self.port, timeout=timeout, process=self.process)
        log.info("embedded database started", extra={"url": self.url, "storage": self.storage})
        return self

    def stop(self, *, timeout: float = 15.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it does not exit in time)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def per_service(
    root: Path, *, log_dir: Path | None = None, services: Iterable[str] = SERVICES
) -> dict[str, EmbeddedMongo]:
    """One server per service, its files in `root/<service>` (log `log_dir/mongo-<service>.log`),
    started side by side; if one fails to start, none is left running."""
    servers: dict[str, EmbeddedMongo] = {}
    for name in services:
        port = free_port()
        while port in {server.port for server in servers.values()}:  # free, but not yet taken
            port = free_port()
        log_path = log_dir / f"mongo-{name}.log" if log_dir is not None else None
        servers[name] = EmbeddedMongo(root / name, port=port, log_path=log_path, standalone=False)
    try:
        for server in servers.values():
            server.launch()
        for server in servers.values():
            server.wait_ready()
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return servers


def one_for_all(
    root: Path, *, log_path: Path | None = None, services: Iterable[str] = SERVICES
) -> dict[str, EmbeddedMongo]:
    """One server, its files in `root`, holding every service's database (by service)."""
    server = EmbeddedMongo(root, log_path=log_path, standalone=False)
    return dict.fromkeys(services, server.start())


def distinct(servers: dict[str, EmbeddedMongo]) -> list[EmbeddedMongo]:
    """Each server of `servers` (by service) once: one shared server is every service's."""
    return list({id(server): server for server in servers.values()}.values())


def holds_one_store(path: Path) -> bool:
    """Whether `path` is a server's files (an earlier layout kept every service's database in
    one server there) rather than a directory of one per service."""
    return (path / "WiredTiger").exists()
