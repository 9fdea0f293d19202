"""Faults to inject: a network path that stops carrying anything, and the PostgreSQL
server of the tests stopped and started again, with Debian's pg_ctlcluster where there is
one, else with the server's own pg_ctl run as the owner of its data directory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shlex
import shutil
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

PG_CTLCLUSTER = "pg_ctlcluster"
PG_LSCLUSTERS = "pg_lsclusters"
PG_CTL = "pg_ctl"
LOG_LINES = 20
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


class RestartablePostgres(ABC):
    """A PostgreSQL server on this machine that the tests may stop and start again."""

    way: str

    @abstractmethod
    def stop(self) -> None:
        """Fast shutdown: open transactions roll back, connections are closed."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def online(self) -> bool: ...

    async def ensure_running(self, url: str) -> None:
        """Start the server if it is down, and wait until it accepts connections."""
        if not await asyncio.to_thread(self.online):
            await asyncio.to_thread(self.start)
        await accepting_connections(url)


def on_this_machine(url: str) -> str | None:
    """Why the server at `url` cannot be restarted from here, if it is not local."""
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        return f"PostgreSQL at {host} is not on this machine"
    return None


@dataclass(frozen=True)
class PostgresCluster(RestartablePostgres):
    """The local PostgreSQL cluster (Debian's postgresql-common) that serves a URL."""

    version: str
    name: str
    port: int
    owner: str
    way: str = PG_CTLCLUSTER

    @classmethod
    def serving(cls, url: str) -> PostgresCluster | str:
        """The cluster, or why this machine cannot stop and start it with pg_ctlcluster."""
        for command in (PG_CTLCLUSTER, PG_LSCLUSTERS):
            if shutil.which(command) is None:
                return f"{command} (postgresql-common) is not installed"
        if (elsewhere := on_this_machine(url)) is not None:
            return elsewhere
        port = urlsplit(url).port or 5432
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
        return f"no cluster of pg_lsclusters listens on port {port}"

    def _control(self, action: str) -> None:
        subprocess.run(
            [PG_CTLCLUSTER, "--skip-systemctl-redirect", self.version, self.name, action],
            check=True,
            capture_output=True,
            timeout=BACK_WITHIN_SECONDS,
        )

    def stop(self) -> None:
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


@dataclass(frozen=True)
class PostgresDataDirectory(RestartablePostgres):
    """The server behind a URL, stopped and started with the pg_ctl of its own binaries
    on the data directory it reports, run as the owner of that directory (pg_ctl refuses
    root). It starts again with the configuration file it was started with, and writes
    what it logs to `log`."""

    pg_ctl: str
    data: str
    config_file: str
    owner: int
    log: Path
    way: str = PG_CTL

    @classmethod
    async def serving(cls, url: str, log: Path) -> PostgresDataDirectory | str:
        """The server, or why this machine cannot stop and start it with pg_ctl."""
        if (elsewhere := on_this_machine(url)) is not None:
            return elsewhere
        try:
            connection = await asyncpg.connect(url, timeout=5)
        except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
            return f"cannot ask the server where its data is ({type(exc).__name__}: {exc})"
        try:
            data = await connection.fetchval("SHOW data_directory")
            config_file = await connection.fetchval("SHOW config_file")
        except asyncpg.PostgresError as exc:
            return f"the server does not say where its data is ({exc})"
        finally:
            await connection.close()
        try:
            owner = os.stat(data).st_uid
            started_with = (Path(data) / "postmaster.opts").read_text()
        except OSError as exc:
            return f"cannot read the data directory {data} ({exc.strerror})"
        if os.geteuid() not in (0, owner):
            return f"only root or {pwd.getpwuid(owner).pw_name} may restart the server of {data}"
        # Its own binaries: the first word of the command line it was started with.
        beside = Path(shlex.split(started_with)[0]).parent / PG_CTL
        pg_ctl = str(beside) if beside.is_file() else shutil.which(PG_CTL)
        if pg_ctl is None:
            return f"{PG_CTL} is neither beside the server's binary nor on the PATH"
        return cls(pg_ctl, data, config_file, owner, log)

    def _run(self, *arguments: str, check: bool = True) -> int:
        """pg_ctl on the data directory, as its owner; the server it starts inherits the
        output, which goes to `self.log`."""
        owner = pwd.getpwuid(self.owner)
        as_owner = {} if os.geteuid() == self.owner else {"user": owner.pw_uid}
        if as_owner:
            as_owner.update(group=owner.pw_gid, extra_groups=[])
        with self.log.open("ab") as output:
            done = subprocess.run(
                [self.pg_ctl, *arguments, "-D", self.data],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd="/",
                timeout=BACK_WITHIN_SECONDS,
                check=False,
                **as_owner,
            )
        if check and done.returncode != 0:
            tail = self.log.read_text(errors="replace").splitlines()[-LOG_LINES:]
            raise RuntimeError(
                f"{self.pg_ctl} {' '.join(arguments)} exited {done.returncode}:\n" + "\n".join(tail)
            )
        return done.returncode

    def stop(self) -> None:
        self._run("stop", "--mode=fast", "--wait", f"--timeout={BACK_WITHIN_SECONDS}")

    def start(self) -> None:
        self._run(
            "start",
            "--wait",
            f"--timeout={BACK_WITHIN_SECONDS}",
            f"--options=-c config_file={shlex.quote(self.config_file)}",
        )

    def online(self) -> bool:
        return self._run("status", check=False) == 0


def restartable(url: str, log: Path, way: str = "") -> RestartablePostgres | str:
    """The first way this machine allows to stop and start the server at `url`
    (pg_ctlcluster, then pg_ctl), or only `way` if given; else why none can."""
    reasons = []
    if way in ("", PG_CTLCLUSTER):
        cluster = PostgresCluster.serving(url)
        if not isinstance(cluster, str):
            return cluster
        reasons.append(f"{PG_CTLCLUSTER}: {cluster}")
    if way in ("", PG_CTL):
        server = asyncio.run(PostgresDataDirectory.serving(url, log))
        if not isinstance(server, str):
            return server
        reasons.append(f"{PG_CTL}: {server}")
    if not reasons:
        return f"no way to restart PostgreSQL is called {way!r} ({PG_CTLCLUSTER} or {PG_CTL})"
    return "cannot restart PostgreSQL: " + "; ".join(reasons)


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
