"""Services as real processes (`python -m services.<name>`) for the launcher, tests, benches."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from services.common.embedded import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]  # the directory holding the `services` package


@dataclass
class ServiceProcess:
    """One service process with its own port and log file; restartable on the same port."""

    name: str
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    admin_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_url(self) -> str:
        """The base URL of its admin listener (`/readyz`, `/metrics`)."""
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def log_path(self) -> Path:
        """Where its JSON log lines go (appended across restarts)."""
        return self.log_dir / f"{self.name}.log"

    def log_messages(self) -> list[str]:
        """The `message` of every JSON log line so far."""
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [json.loads(line)["message"] for line in lines if line.startswith("{")]

    def log_tail(self, lines: int = 40) -> str:
        """The last `lines` lines of its log, JSON and whatever Python printed on stderr."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def start(self) -> ServiceProcess:
        """Start it and wait until it listens."""
        prefix = self.name.upper()
        env = {
            **os.environ,
            **self.env,
            f"{prefix}_PORT": str(self.port),
            f"{prefix}_ADMIN_PORT": str(self.admin_port),
        }
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.name}"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=log,
            )
        wait_for_port("127.0.0.1", self.port, timeout=60, process=self.process)
        return self

    @property
    def pid(self) -> int:
        """Its process id."""
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as in a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM and wait (SIGKILL if it does not exit in time); return the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    async def ready(self, timeout: float = 60) -> None:
        """Wait until /readyz answers 200."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                try:
                    async with session.get(f"{self.admin_url}/readyz") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready after {timeout}s; see {self.log_path}")
