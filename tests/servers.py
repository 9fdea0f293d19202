"""Real `guichet serve` processes on loopback ports, for the tests that need a server as
clients see it: websockets, several instances, restarts."""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.server_clock import ServerClock

GUICHET = str(Path(sys.executable).parent / "guichet")
READY_WITHIN_SECONDS = 60
STOP_WITHIN_SECONDS = 20


def die_with_parent() -> None:
    """Run in a child before it starts: the child gets SIGTERM when its parent dies, so a
    killed test run or benchmark leaves no server behind (Linux; elsewhere, nothing)."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _ephemeral_ports() -> range:
    """The ports the system gives outgoing connections (Linux says which)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return range(int(low), int(high) + 1)
    except (OSError, ValueError):
        return range(32_768, 61_000)


def free_port() -> int:
    """A loopback port nothing listens on now, for a server a test starts. Taken from
    below the ports the system gives outgoing connections: a port the system picked for
    a probe could go to a connection to the database before the server binds it (seen
    once in CI: "address already in use")."""
    ephemeral = _ephemeral_ports()
    below = range(20_000, ephemeral.start) if ephemeral.start > 21_000 else range(0)
    for _ in range(50 if below else 0):
        port = secrets.choice(below)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """One `guichet serve` process."""

    folder: Path
    port: int
    environment: dict[str, str]
    demo: bool = False
    clock: ServerClock = field(default_factory=ServerClock)
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.folder / f"serve-{self.port}.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.launch()
        self.wait_until_ready()
        return self

    def launch(self) -> None:
        """Start the process without waiting for it to serve."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("GUICHET_")}
        # Every test client comes from 127.0.0.1: the per-address budgets would count them
        # all as one visitor.
        env.update(
            {
                "GUICHET_REQUESTS_PER_MINUTE": "1000000",
                "GUICHET_TOKEN_LOOKUPS_PER_MINUTE": "1000000",
                "GUICHET_BOOKING_REQUESTS_PER_MINUTE": "1000000",
                "GUICHET_AVAILABILITY_REQUESTS_PER_MINUTE": "1000000",
                "GUICHET_BOOKINGS_PER_ADDRESS_PER_DAY": "10000",
            }
        )
        env.update(self.environment)
        env.update(self.clock.environment())
        arguments = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command = self.clock.command(GUICHET, arguments + ["--demo"] * self.demo)
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                command,
                cwd=self.folder,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                preexec_fn=die_with_parent,
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_WITHIN_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"guichet serve stopped:\n{self.output()}")
            try:
                if httpx.get(f"{self.base}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"guichet serve was not ready in time:\n{self.output()}")

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=STOP_WITHIN_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextmanager
def running(
    folder: Path, environment: dict[str, str], *, count: int = 1, demo: bool = False
) -> Iterator[list[Server]]:
    """`count` servers sharing `environment` (and so its database), stopped afterwards."""
    servers = [Server(folder, free_port(), environment, demo=demo) for _ in range(count)]
    try:
        if demo or environment.get("GUICHET_DATABASE_URL", "sqlite").startswith("sqlite"):
            # `serve` migrates SQLite and loads the demo itself: one at a time.
            for server in servers:
                server.start()
        else:
            # Side by side, as a deployment starts its replicas.
            for server in servers:
                server.launch()
            for server in servers:
                server.wait_until_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()
