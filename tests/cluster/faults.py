"""Faults to inject: a network path that stops carrying anything, and the PostgreSQL
server of the tests stopped and started again with the machine's own command."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import asyncpg

PG_CTLCLUSTER = "pg_ctlcluster"
PG_LSCLUSTERS = "pg_lsclusters"
BACK_WITHIN_SECONDS = 60


@dataclass
class Route:
    """One proxied TCP connection; once dropped, it forwards nothing either way and closes
    nothing either: a peer behind it hears silence, as after a lost network route."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    dropped: bool = False
    pumps: list[asyncio.Task[None]] = field(default_factory=list)


class BlackHoleProxy:
    """A TCP proxy on loopback in front of `upstream_port`."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.paths: list[Route] = []
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> BlackHoleProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._server is not None:
            self._server.close()
        for path in self.paths:
            for pump in path.pumps:
                pump.cancel()
            for writer in (path.client, path.upstream):
                writer.close()
        for path in self.paths:
            for pump in path.pumps:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pump

    def drop_paths(self) -> None:
        """Black-hole every connection made so far; new connections go through."""
        for path in self.paths:
            path.dropped = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.upstream_port
        )
        path = Route(writer, upstream_writer)
        path.pumps = [
            asyncio.create_task(self._pump(reader, upstream_writer, path)),
            asyncio.create_task(self._pump(upstream_reader, writer, path)),
        ]
        self.paths.append(path)

    async def _pump(
        self, source: asyncio.StreamReader, target: asyncio.StreamWriter, path: Route
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await source.read(65536):
                if not path.dropped:
                    target.write(data)
                    await target.drain()
            if not path.dropped:
                target.close()


@dataclass(frozen=True)
class PostgresCluster:
    """The local PostgreSQL cluster (Debian's postgresql-common) that serves a URL."""

    version: str
    name: str
    port: int
    owner: str

    @classmethod
    def serving(cls, url: str) -> PostgresCluster | str:
        """The cluster, or why this machine cannot stop and start it."""
        for command in (PG_CTLCLUSTER, PG_LSCLUSTERS):
            if shutil.which(command) is None:
                return f"{command} (postgresql-common) is not installed: cannot restart PostgreSQL"
        address = urlsplit(url)
        if address.hostname not in ("127.0.0.1", "localhost", "::1"):
            return f"PostgreSQL at {address.hostname} is not on this machine: cannot restart it"
        port = address.port or 5432
        listing = subprocess.run(
            [PG_LSCLUSTERS, "--no-header"], capture_output=True, text=True, check=False
        )
        for line in listing.stdout.splitlines():
            version, name, cluster_port, _status, owner, *_rest = line.split()
            if int(cluster_port) == port:
                cluster = cls(version, name, port, owner)
                if os.geteuid() != 0 and pwd.getpwuid(os.geteuid()).pw_name != owner:
                    return f"only root or {owner} may restart PostgreSQL cluster {name}"
                return cluster
        return f"no local PostgreSQL cluster listens on port {port} (pg_lsclusters)"

    def _control(self, action: str) -> None:
        subprocess.run(
            [PG_CTLCLUSTER, "--skip-systemctl-redirect", self.version, self.name, action],
            check=True,
            capture_output=True,
            timeout=BACK_WITHIN_SECONDS,
        )

    def stop(self) -> None:
        """Fast shutdown: open transactions roll back, connections are closed."""
        self._control("stop")

    def start(self) -> None:
        self._control("start")

    def online(self) -> bool:
        status = subprocess.run(
            [PG_CTLCLUSTER, "--skip-systemctl-redirect", self.version, self.name, "status"],
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    async def ensure_running(self, url: str) -> None:
        """Start the cluster if it is down, and wait until it accepts connections."""
        if not await asyncio.to_thread(self.online):
            await asyncio.to_thread(self.start)
        await accepting_connections(url)


async def accepting_connections(url: str, within: float = BACK_WITHIN_SECONDS) -> None:
    """Return once PostgreSQL at `url` accepts a connection."""
    deadline = time.monotonic() + within
    while True:
        try:
            connection = await asyncpg.connect(url, timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
        else:
            await connection.close()
            return
