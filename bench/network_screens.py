"""The lobby screens of `bench.network`: thousands of paired screens spread over the
sites, ten per site, against four targets held at once: two `guichet serve` instances on
one PostgreSQL database telling each other by PostgreSQL notices, two more telling each
other through Redis, and the floor, a bare `websockets.broadcast` server with one room
per site, in one process holding every screen, then in two holding half each as guichet's
instances do (each told of every call, so with no hop between them). Every server
freezes what it built and, once a burst of screens is over, what survives a full
collection, as guichet's instances do.

The calls go to the four targets in turn, each at sites of its own, so that each
target's p99 is measured over the same minutes as the others' and a machine whose load
drifts (shared, two cores) weighs on all four alike; each target's screens connect in a
burst of their own first. The delay is from each call-next answer to each screen of the
called site. A call's ten screens move together: with fewer than 100 calls the p99 is the
slowest call's, so the p99 worth comparing wants a few hundred (`--calls 500`). The
client processes and the floor's servers are in `bench/screens_sides.py`.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
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
from bench.fanout import raise_file_limit, rss_kib
from bench.screens_sides import ROOT, Watchers
from tests.servers import Server, die_with_parent

SCREENS_PER_SITE = 10
CALLED_SITES = 5  # per target
LABEL = "Banc d'essai réseau"
PASSWORD = "a long bench password"  # noqa: S105 (a throw-away database)
FORCED = "Banc d'essai à toute heure"
# The first of the seven ports the run listens on (two pairs of instances, the floor's
# three): BENCH_SCREENS_PORT moves them, for a machine where others use these.
FIRST_PORT = int(os.environ.get("BENCH_SCREENS_PORT", "8740"))
PORTS = {"postgresql": (FIRST_PORT, FIRST_PORT + 1), "redis": (FIRST_PORT + 2, FIRST_PORT + 3)}
FLOOR_PORTS = {1: (FIRST_PORT + 4,), 2: (FIRST_PORT + 5, FIRST_PORT + 6)}
# Between the last screen connected and the first call (memory is read then): an instance
# collects its garbage once a burst of screens is over (app/live/settling.py).
SETTLE_SECONDS = 5.0
BETWEEN_CALLS = 0.1  # seconds, after each target's call
REDIS = "redis://127.0.0.1:6379/0"
TICKS = os.sysconf("SC_CLK_TCK")
GUICHETS = (("postgresql", "guichet, PostgreSQL notices"), ("redis", "guichet, Redis"))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def key(slug: str, number: int) -> str:
    return f"network-{slug}-{number}"


def manager(backend: str) -> str:
    return f"reseau.{backend}@bench.example.org"


async def pair_screens(url: str, count: int) -> tuple[list[str], list[list[str]]]:
    """Ten paired screens at each of the first `count // 10` sites (generated ones first),
    and, for each guichet target, a manager of CALLED_SITES of them: the sites, and those
    each of the four targets calls (apart, so that no target's screens show another's
    calls)."""
    db = Database(url)
    async with db.writing() as session:
        sites = list(await session.execute(select(Site.id, Site.slug).order_by(Site.id)))
        generated = [row for row in sites if row.slug.startswith("site-")] or sites
        chosen = generated[: max(1, count // SCREENS_PER_SITE)]
        assert len(chosen) >= 4 * CALLED_SITES, "each target calls at sites of its own"
        await session.execute(delete(Screen).where(Screen.label == LABEL))
        now = datetime.now(UTC)
        rows = [
            {"site_id": s.id, "label": LABEL, "key_digest": key_digest(key(s.slug, n)),
             "created_at": now}
            for s in chosen
            for n in range(SCREENS_PER_SITE)
        ]  # fmt: skip
        await session.execute(insert(Screen), rows)
        slugs = [row.slug for row in chosen]
        called = [slugs[n * CALLED_SITES : (n + 1) * CALLED_SITES] for n in range(4)]
        for (backend, _), sites_called in zip(GUICHETS, called, strict=False):
            if await session.scalar(select(Agent.id).where(Agent.email == manager(backend))):
                continue
            await create_agent(
                session, email=manager(backend), password=PASSWORD, role="manager",
                site_slugs=sites_called,
            )  # fmt: skip
    await db.dispose()
    return slugs, called


@dataclass
class Target:
    """What the calls go to: its screens' addresses, its processes, its sites called and
    how it calls; and what was measured of it."""

    label: str
    addresses: list[tuple[str, str]]
    pids: list[int]
    called: list[str]
    call: Callable[[str, int], Awaitable[tuple[str, datetime]]]
    delays: list[float] = field(default_factory=list)
    by_port: dict[int, list[float]] = field(default_factory=dict)  # the first answers calls
    missed: int = 0
    failed: int = 0
    per_connection_kib: float = 0.0
    cpu: list[float] = field(default_factory=list)
    tag: str = ""


@asynccontextmanager
async def guichet(
    url: str, backend: str, label: str, slugs: list[str], called: list[str], folder: Path
) -> AsyncIterator[Target]:
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
                "/api/v1/auth/token", json={"email": manager(backend), "password": PASSWORD}
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
            by_port: dict[int, list[float]] = {port: [] for port in PORTS[backend]}
            yield Target(label, addresses, pids, called, call, by_port=by_port)
    finally:
        for server in servers:
            await asyncio.to_thread(server.stop)


@asynccontextmanager
async def floor(slugs: list[str], called: list[str], processes: int) -> AsyncIterator[Target]:
    """The floor with its screens spread over `processes` bare servers (as guichet's over
    its instances), each told of every call: no hop between them to pay for."""
    ports = FLOOR_PORTS[processes]
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
        label = f"floor: broadcast(), {processes} proc."
        pids = [server.pid for server in servers]
        yield Target(label, addresses, pids, called, call, by_port={port: [] for port in ports})
        for control in controls:
            await control.close()
    finally:
        for server in servers:
            server.terminate()
            await server.wait()


async def floor_process(port: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.screens_sides", "--floor-server", str(port),
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


async def run(targets: list[Target], calls: int) -> float:
    """Connect each target's screens in a burst of its own, then make `calls` calls at
    each target's sites, the targets in turn (each round starting with the next): each
    target's delays, missed deliveries, memory per connection and server CPU; the
    seconds the calls took."""
    before = [sum(rss_kib(pid) for pid in target.pids) for target in targets]
    watchers = Watchers()
    try:
        for n, target in enumerate(targets):
            target.tag = f"t{n}"  # a word: the client processes report it with each arrival
            target.failed = await watchers.start(target.tag, target.addresses)
        await asyncio.sleep(SETTLE_SECONDS)
        for target, was in zip(targets, before, strict=True):
            grown = sum(rss_kib(pid) for pid in target.pids) - was
            target.per_connection_kib = grown / max(1, len(target.addresses) - target.failed)
        cpu_before = [[cpu_seconds(pid) for pid in target.pids] for target in targets]
        began = time.monotonic()
        for number in range(calls):
            turn = number % len(targets)
            for target in targets[turn:] + targets[:turn]:
                await one_call(watchers, target, number)
                await asyncio.sleep(BETWEEN_CALLS)
        window = time.monotonic() - began
        for target, started in zip(targets, cpu_before, strict=True):
            target.cpu = [cpu_seconds(p) - s for p, s in zip(target.pids, started, strict=True)]
    finally:
        await watchers.stop()
    return window


async def one_call(watchers: Watchers, target: Target, number: int) -> None:
    slug = target.called[number % len(target.called)]
    shown, called_at = await target.call(slug, number)
    answered = time.monotonic()
    arrived = await watchers.reached((target.tag, slug, shown, called_at), SCREENS_PER_SITE)
    for moment, port in arrived:
        target.delays.append(max(0.0, moment - answered))
        target.by_port[port].append(target.delays[-1])
    target.missed += SCREENS_PER_SITE - len(arrived)


def percentile(delays: list[float], share: float) -> float:  # ms, 0 for no delivery
    ordered = sorted(delays)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000 if ordered else 0.0


def report(target: Target, window: float) -> None:
    ordered = sorted(target.delays)
    if ordered:
        p50, p99 = percentile(ordered, 0.5), percentile(ordered, 0.99)
        delay = f"p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  max {ordered[-1] * 1000:7.1f} ms"
    else:
        delay = "no delivery"
    cpu = " + ".join(f"{seconds:.1f}" for seconds in target.cpu)
    print(
        f"  {target.label:<28} {len(target.addresses):>6} screens  {delay}  "
        f"({len(ordered)} deliveries, {target.missed} missed, {target.failed} not connected)"
    )
    print(
        f"  {'':<28} {target.per_connection_kib:5.1f} KiB/connection, server CPU {cpu} s "
        f"in the {window:.1f} s of all targets' calls"
    )
    if len(target.by_port) > 1:  # guichet's first instance answers the calls
        each = ", ".join(f"{percentile(delays, 0.99):.1f}" for delays in target.by_port.values())
        print(f"  {'':<28} p99 on each server, the first told first: {each} ms")


async def screens_part(url: str, count: int, calls: int) -> None:
    raise_file_limit()
    slugs, called = await pair_screens(url, count)
    screens = len(slugs) * SCREENS_PER_SITE
    print(
        f"screens: {screens:,} paired screens, {SCREENS_PER_SITE} at each of {len(slugs)} "
        f"sites, for each of four targets held at once; {calls} calls to each target, the "
        f"targets in turn, each at {CALLED_SITES} sites of its own"
    )
    print("  delay: from the call-next answer to each screen of the called site")
    with tempfile.TemporaryDirectory() as folder:
        async with AsyncExitStack() as stack:
            targets = [
                await stack.enter_async_context(
                    guichet(url, backend, label, slugs, sites, Path(folder))
                )
                for (backend, label), sites in zip(GUICHETS, called, strict=False)
            ]
            targets.append(await stack.enter_async_context(floor(slugs, called[2], 1)))
            targets.append(await stack.enter_async_context(floor(slugs, called[3], 2)))
            window = await run(targets, calls)
    for target in targets:
        report(target, window)
    floors = [percentile(target.delays, 0.99) for target in targets[2:]]
    for target in targets[:2]:
        mine = percentile(target.delays, 0.99)
        against = (f"{mine / f:.2f}x floor {n} proc." for n, f in enumerate(floors, 1) if f)
        print(f"  p99, {target.label}: {', '.join(against)}")
