"""The lobby screens of `bench.network`: thousands of paired screens spread over the
sites, ten per site, held by a few client processes against two `guichet serve`
instances on one PostgreSQL database (with PostgreSQL notices, then with Redis); calls
made at a handful of sites, and the delay from each call-next answer to each screen of
the called site. Floor: a bare `websockets.broadcast` server with one room per site, in
one process holding every screen, then in two holding half each as guichet's instances do
(each told of every call, so with no hop between them), each freezing what it built and,
once the burst of screens is over, what survives a full collection, as guichet's
instances do. A call's ten screens move together: with fewer than 100 calls the p99 is
the slowest call's, so the p99 worth comparing wants a few hundred (`--calls 500`).

A client process: .venv/bin/python -m bench.network_screens --worker (its screens' addresses
come on stdin; it reports each call's first arrival at each screen on stdout).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import websockets
from sqlalchemy import delete, insert, select

from app.accounts.models import Agent
from app.accounts.service import create_agent
from app.db import Database
from app.live.models import Screen
from app.live.screens import key_digest
from app.sites.models import Site
from tests.servers import Server, die_with_parent

SCREENS_PER_SITE = 10
CALLED_SITES = 5
PER_WORKER = 2_500  # connections one client process holds
CONNECT_PER_SECOND = 50  # per client process: 200 a second in all at 10,000 screens
LABEL = "Banc d'essai réseau"
MANAGER = "reseau.bench@bench.example.org"
PASSWORD = "a long bench password"  # noqa: S105 (a throw-away database)
FORCED = "Banc d'essai à toute heure"
# The first of the six ports the run listens on (two pairs of instances, the floor's two):
# BENCH_SCREENS_PORT moves them, for a machine where others use these.
FIRST_PORT = int(os.environ.get("BENCH_SCREENS_PORT", "8740"))
PORTS = {"postgresql": (FIRST_PORT, FIRST_PORT + 1), "redis": (FIRST_PORT + 2, FIRST_PORT + 3)}
FLOOR_PORTS = (FIRST_PORT + 4, FIRST_PORT + 5)
CONNECT_SECONDS = 300.0  # a client process stops connecting after this
DELIVERY_SECONDS = 10.0
# Between the last screen connected and the first call (memory is read then): an instance
# collects its garbage once a burst of screens is over (app/live/settling.py).
SETTLE_SECONDS = 5.0
WORKER_LIFETIME = 1_200.0  # a client process stops by itself after this
REDIS = "redis://127.0.0.1:6379/0"
ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


# The server side.


def rss_kib(pid: int) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def key(slug: str, number: int) -> str:
    return f"network-{slug}-{number}"


async def pair_screens(url: str, count: int) -> tuple[list[str], list[str]]:
    """Ten paired screens at each of the first `count // 10` sites (generated ones first),
    and a manager of the first CALLED_SITES of them: the sites, and those called."""
    db = Database(url)
    async with db.writing() as session:
        sites = list(await session.execute(select(Site.id, Site.slug).order_by(Site.id)))
        generated = [row for row in sites if row.slug.startswith("site-")] or sites
        chosen = generated[: max(1, count // SCREENS_PER_SITE)]
        await session.execute(delete(Screen).where(Screen.label == LABEL))
        now = datetime.now(UTC)
        rows = [
            {"site_id": s.id, "label": LABEL, "key_digest": key_digest(key(s.slug, n)),
             "created_at": now}
            for s in chosen
            for n in range(SCREENS_PER_SITE)
        ]  # fmt: skip
        await session.execute(insert(Screen), rows)
        called = [row.slug for row in chosen[:CALLED_SITES]]
        if await session.scalar(select(Agent.id).where(Agent.email == MANAGER)) is None:
            await create_agent(
                session, email=MANAGER, password=PASSWORD, role="manager", site_slugs=called
            )
    await db.dispose()
    return [row.slug for row in chosen], called


# The client side.


@dataclass
class Watchers:
    """The client processes and what they report: when each call reached each screen."""

    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    arrivals: dict[tuple[str, str, datetime], list[float]] = field(default_factory=dict)
    ready: int = 0
    failed: int = 0
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, addresses: list[tuple[str, str]]) -> None:
        shares = [addresses[i : i + PER_WORKER] for i in range(0, len(addresses), PER_WORKER)]
        for share in shares:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.network_screens", "--worker",
                cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                preexec_fn=die_with_parent, limit=1 << 20,
            )  # fmt: skip
            assert process.stdin is not None
            process.stdin.write((json.dumps(share) + "\n").encode())
            await process.stdin.drain()
            self.processes.append(process)
            self.readers.append(asyncio.create_task(self._read(process)))
        async with asyncio.timeout(CONNECT_SECONDS + 120):
            while self.ready < len(shares):
                await self._wait()

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            words = raw.decode().split()
            if words[0] == "ready":
                self.ready += 1
                self.failed += int(words[1])
            elif words[0] == "A":
                _, slug, number, called_at, moment = words
                found = (slug, number, datetime.fromisoformat(called_at))
                self.arrivals.setdefault(found, []).append(float(moment))
            self.changed.set()

    async def _wait(self) -> None:
        await self.changed.wait()
        self.changed.clear()

    async def reached(self, slug: str, number: str, called_at: datetime, screens: int) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DELIVERY_SECONDS):
                while len(self.arrivals.get((slug, number, called_at), [])) < screens:
                    await self._wait()

    async def stop(self) -> None:
        for process in self.processes:
            if process.stdin is not None and process.returncode is None:
                with contextlib.suppress(ConnectionError):
                    process.stdin.write(b"stop\n")
                    await process.stdin.drain()
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        for reader in self.readers:
            reader.cancel()


async def worker() -> None:
    """Hold the screens given on stdin; say `ready <failed>`, then `A slug number called_at
    moment` for each call's first arrival at each screen, until told `stop`."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    addresses: list[list[str]] = json.loads(await reader.readline())
    out = sys.stdout

    async def watch(slug: str, address: str) -> bool:
        try:
            connection = await websockets.connect(
                address, compression=None, max_queue=None, open_timeout=60, ping_interval=None
            )
        except (OSError, TimeoutError, websockets.InvalidHandshake):
            return False
        tasks.append(asyncio.create_task(listen(slug, connection)))
        return True

    async def listen(slug: str, connection: Any) -> None:
        seen: set[tuple[str, str]] = set()
        with contextlib.suppress(websockets.ConnectionClosed):
            async for message in connection:
                moment = time.monotonic()
                for entry in json.loads(message).get("called") or []:
                    if (entry["number"], entry["called_at"]) not in seen:
                        seen.add((entry["number"], entry["called_at"]))
                        out.write(f"A {slug} {entry['number']} {entry['called_at']} {moment}\n")
                out.flush()

    tasks: list[asyncio.Task[None]] = []
    # Screens come at a steady rate whether or not the server has answered those before
    # them (as screens switched on across a network would), each waiting up to a minute
    # for its handshake; those still not answered CONNECT_SECONDS on count as failed.
    batch = max(1, CONNECT_PER_SECOND // 10)
    began = time.monotonic()
    tries: list[asyncio.Task[bool]] = []
    for start in range(0, len(addresses), batch):
        tries += [asyncio.create_task(watch(s, a)) for s, a in addresses[start : start + batch]]
        await asyncio.sleep(max(0.0, began + 0.1 * (start // batch + 1) - time.monotonic()))
    done, late = await asyncio.wait(
        tries, timeout=max(1.0, began + CONNECT_SECONDS - time.monotonic())
    )
    for task in late:
        task.cancel()
    failed = len(late) + sum(not task.result() for task in done)
    # The screens held here stay until the end: out of the collector's reach, as an
    # instance's are, lest a full collection of them here delay a call's arrivals.
    gc.collect()
    gc.freeze()
    out.write(f"ready {failed}\n")
    out.flush()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(WORKER_LIFETIME):
            await reader.readline()
    for listener in tasks:
        listener.cancel()


# One run.


@dataclass
class Seen:
    """What one run measured."""

    delays: list[float]
    missed: int
    per_connection_kib: float
    cpu: list[float]
    window: float
    failed: int


async def run(
    addresses: list[tuple[str, str]],
    pids: list[int],
    called: list[str],
    calls: int,
    call: Callable[[str, int], Awaitable[tuple[str, datetime]]],
) -> Seen:
    """Connect the screens, make `calls` calls at the called sites in turn, and time them."""
    before = sum(rss_kib(pid) for pid in pids)
    watchers = Watchers()
    try:
        await watchers.start(addresses)
        await asyncio.sleep(SETTLE_SECONDS)
        grown = sum(rss_kib(pid) for pid in pids) - before
        connected = len(addresses) - watchers.failed
        cpu_before = [cpu_seconds(pid) for pid in pids]
        began = time.monotonic()
        delays: list[float] = []
        missed = 0
        for number in range(calls):
            slug = called[number % len(called)]
            shown, called_at = await call(slug, number)
            answered = time.monotonic()
            await watchers.reached(slug, shown, called_at, SCREENS_PER_SITE)
            arrived = watchers.arrivals.get((slug, shown, called_at), [])
            delays.extend(max(0.0, moment - answered) for moment in arrived)
            missed += SCREENS_PER_SITE - len(arrived)
            await asyncio.sleep(0.3)
        window = time.monotonic() - began
        cpu = [cpu_seconds(pid) - was for pid, was in zip(pids, cpu_before, strict=True)]
    finally:
        await watchers.stop()
    return Seen(delays, missed, grown / max(1, connected), cpu, window, watchers.failed)


def percentile(delays: list[float], share: float) -> float:  # ms, 0 for no delivery
    ordered = sorted(delays)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000 if ordered else 0.0


def report(label: str, screens: int, seen: Seen) -> None:
    ordered = sorted(seen.delays)
    if ordered:
        p50, p99 = percentile(ordered, 0.5), percentile(ordered, 0.99)
        delay = f"p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  max {ordered[-1] * 1000:7.1f} ms"
    else:
        delay = "no delivery"
    cpu = " + ".join(f"{seconds:.1f}" for seconds in seen.cpu)
    print(
        f"  {label:<22} {screens:>6} screens  {delay}  ({len(ordered)} deliveries, "
        f"{seen.missed} missed, {seen.failed} not connected)"
    )
    print(
        f"  {'':<22} {seen.per_connection_kib:5.1f} KiB/connection, server CPU {cpu} s "
        f"in {seen.window:.1f} s of calls"
    )


async def guichet_run(
    url: str, backend: str, slugs: list[str], called: list[str], calls: int, folder: Path
) -> Seen:
    environment = {
        "GUICHET_DATABASE_URL": url,
        "GUICHET_LOG_LEVEL": "WARNING",
        "GUICHET_WEBSOCKETS_PER_ADDRESS": "100000",
        "GUICHET_REQUESTS_PER_MINUTE": "10000000",
        "GUICHET_LOGIN_ATTEMPTS_PER_MINUTE": "10000",
    }
    if backend == "redis":
        environment["GUICHET_REDIS_URL"] = REDIS
    servers = [Server(folder, port, environment) for port in PORTS[backend]]
    try:
        for server in servers:
            server.launch()
        for server in servers:
            await asyncio.to_thread(server.wait_until_ready)
        async with httpx.AsyncClient(base_url=servers[0].base, timeout=60) as http:
            login = await http.post(
                "/api/v1/auth/token", json={"email": MANAGER, "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            stations = {
                slug: [
                    s["id"] for s in (await http.get(f"/api/v1/sites/{slug}")).json()["stations"]
                ]
                for slug in called
            }

            async def call(slug: str, number: int) -> tuple[str, datetime]:
                issued = await http.post(
                    f"/api/v1/sites/{slug}/tickets",
                    json={"service": "caf", "force_reason": FORCED},
                    headers=headers,
                )
                issued.raise_for_status()
                station = stations[slug][number // len(called) % len(stations[slug])]
                response = await http.post(f"/api/v1/stations/{station}/call-next", headers=headers)
                response.raise_for_status()
                body = response.json()
                return str(body["number"]), datetime.fromisoformat(body["called_at"])

            addresses = [
                (slug, f"{servers[n % 2].ws}/ws/sites/{slug}/display?ecran={key(slug, n)}")
                for slug in slugs
                for n in range(SCREENS_PER_SITE)
            ]
            pids = [server.process.pid for server in servers if server.process is not None]
            return await run(addresses, pids, called, calls, call)
    finally:
        for server in servers:
            await asyncio.to_thread(server.stop)


async def floor_run(slugs: list[str], called: list[str], calls: int, processes: int) -> Seen:
    """The floor with its screens spread over `processes` bare servers (as guichet's over
    its instances), each told of every call: no hop between them to pay for."""
    ports = FLOOR_PORTS[:processes]
    servers = [await floor_process(port) for port in ports]
    try:
        controls = [await floor_control(port) for port in ports]

        async def call(slug: str, number: int) -> tuple[str, datetime]:
            called_at = datetime.now(UTC)
            order = f"{slug} A{number:03d} {called_at.isoformat()}"
            await asyncio.gather(*(control.send(order) for control in controls))
            return f"A{number:03d}", called_at

        addresses = [
            (slug, f"ws://127.0.0.1:{ports[n % processes]}/screen/{slug}")
            for slug in slugs
            for n in range(SCREENS_PER_SITE)
        ]
        seen = await run(addresses, [server.pid for server in servers], called, calls, call)
        for control in controls:
            await control.close()
        return seen
    finally:
        for server in servers:
            server.terminate()
            await server.wait()


async def floor_process(port: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.network_screens", "--floor-server", str(port),
        cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, preexec_fn=die_with_parent,
    )  # fmt: skip


async def floor_control(port: int) -> Any:
    """A floor server's control connection, once it listens (it may take seconds)."""
    async with asyncio.timeout(60):
        while True:
            try:
                return await websockets.connect(f"ws://127.0.0.1:{port}/control")
            except OSError:
                await asyncio.sleep(0.5)


def floor_server(port: int) -> None:
    """The floor: the websockets library's server and broadcast() to one room per site,
    freezing what it built before it serves and collecting once when a burst of screens
    is over, as guichet's instances do (`app/live/settling.py`): else CPython's own full
    collection of all the screens' objects may fall in a call, and the floor measures the
    collector's luck."""
    from app.live.settling import Settling, freeze_built
    from bench.fanout import display_message

    freeze_built()

    rooms: dict[str, set[Any]] = {}
    settling = Settling()

    async def handler(connection: Any) -> None:
        path = connection.request.path
        if path == "/control":
            seq = 0
            async for order in connection:
                slug, number, called_at = str(order).split()
                seq += 1
                body = display_message(number, seq)
                body["called"][0]["called_at"] = called_at
                websockets.broadcast(rooms.get(slug, set()), json.dumps(body))
            return
        room = rooms.setdefault(path.rsplit("/", 1)[1], set())
        room.add(connection)
        settling.joined()
        try:
            await connection.wait_closed()
        finally:
            room.discard(connection)

    async def settle() -> None:
        while True:
            await asyncio.sleep(1)
            await settling.step()

    async def serve() -> None:
        async with websockets.serve(handler, "127.0.0.1", port, compression=None, max_size=4096):
            settler = asyncio.create_task(settle())
            await asyncio.sleep(WORKER_LIFETIME)
            settler.cancel()

    asyncio.run(serve())


async def screens_part(url: str, count: int, calls: int) -> None:
    raise_file_limit()
    slugs, called = await pair_screens(url, count)
    screens = len(slugs) * SCREENS_PER_SITE
    print(
        f"screens: {screens:,} paired screens, {SCREENS_PER_SITE} at each of {len(slugs)} sites, "
        f"half on each of two instances; {calls} calls at {len(called)} sites"
    )
    print("  delay: from the call-next answer to each screen of the called site")
    p99: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for backend, label in (("postgresql", "PostgreSQL notices"), ("redis", "Redis")):
            seen = await guichet_run(url, backend, slugs, called, calls, Path(folder))
            report(f"guichet, {label}", screens, seen)
            p99[label] = percentile(seen.delays, 0.99)
    floors = []
    for processes in (1, 2):
        seen = await floor_run(slugs, called, calls, processes)
        report(f"floor: broadcast(), {processes} proc.", screens, seen)
        floors.append(percentile(seen.delays, 0.99))
    for label, mine in p99.items():
        against = (f"{mine / f:.2f}x floor {n} proc." for n, f in enumerate(floors, 1) if f)
        print(f"  p99, guichet {label}: {', '.join(against)}")


def raise_file_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


if __name__ == "__main__":
    raise_file_limit()
    if "--floor-server" in sys.argv:
        floor_server(int(sys.argv[sys.argv.index("--floor-server") + 1]))
    elif "--worker" in sys.argv:
        asyncio.run(worker())
