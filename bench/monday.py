"""Monday morning at the 17 mairies, for a bounded time: usagers searching and booking
online, reception issuing walk-in tickets, every station calling, starting and finishing,
and 2 to 4 lobby screens per mairie, all from one process, against two `guichet serve`
instances on one PostgreSQL database, then one on SQLite.

Figures: per route count, p50 and p99; the error rate (409 on a taken slot, 204 when
nobody waits and 429 counted apart); bookings and calls per second; the delay from each
call-next response to the call's arrival at every screen of its mairie; CPU time and peak
memory of each server process. No target: a picture of the whole under a busy opening.
Run: .venv/bin/python -m bench.monday [--seconds 60] [--postgres URL] [--logs FOLDER]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets

from app import schema
from app.accounts.service import create_agent
from app.db import Database
from app.serving import KEEP_ALIVE_SECONDS
from app.sites.demo import STATIONS_PER_SITE, load_demo
from bench.fanout import raise_file_limit
from tests.servers import Server, running

# The servers run on the real clock: tickets are forced, the mairies may be closed.
FORCED = "Banc d'essai à toute heure"
PASSWORD = "a long bench password"  # noqa: S105 (a throw-away database)
ALLOWED_FROM_ONE_ADDRESS = {
    "GUICHET_REQUESTS_PER_MINUTE": "10000000",
    "GUICHET_TOKEN_LOOKUPS_PER_MINUTE": "10000000",
    "GUICHET_AVAILABILITY_REQUESTS_PER_MINUTE": "10000000",
    "GUICHET_BOOKING_REQUESTS_PER_MINUTE": "10000000",
    "GUICHET_BOOKINGS_PER_ADDRESS_PER_DAY": "10000",
    "GUICHET_LOGIN_ATTEMPTS_PER_MINUTE": "10000",
    "GUICHET_WEBSOCKETS_PER_ADDRESS": "100000",
}
# What people come for: walk-ins mostly for the everyday services, bookings a bit more
# for the long ones; the double-screen services are rarer.
WALK_IN_SERVICES = {
    "caf": 5, "ants": 4, "compte-paris": 3, "impots": 3, "ameli": 3, "france-travail": 3,
    "numerisation": 3, "paris-familles": 2, "dansmarue": 1, "logement": 1, "accompagnement": 1,
}  # fmt: skip
BOOKED_SERVICES = {
    "caf": 4, "ants": 4, "logement": 3, "impots": 3, "ameli": 2, "france-travail": 2,
    "compte-paris": 2, "paris-familles": 2, "accompagnement": 2, "numerisation": 1,
}  # fmt: skip
SEARCH_DAYS = 14
SOONEST_SLOTS = 12
DELIVERY_GRACE_SECONDS = 3.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Load:
    """How busy the morning is, for the whole of Paris."""

    seconds: float
    usagers_per_second: float = 3.0
    walk_ins_per_second: float = 4.0
    waiting_at_opening: int = 8
    screens_per_site: tuple[int, int] = (2, 4)


# What the clients see.


@dataclass
class RouteTally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)


class Recorder:
    """Every request of the window: its route template, its answer, its latency."""

    def __init__(self) -> None:
        self.routes: dict[str, RouteTally] = {}
        self.window = (float("inf"), float("inf"))

    def measuring(self, moment: float) -> bool:
        return self.window[0] <= moment < self.window[1]

    async def send(
        self, client: httpx.AsyncClient, method: str, route: str, url: str, **kwargs: Any
    ) -> httpx.Response | None:
        counted = self.measuring(time.monotonic())
        started = time.perf_counter()
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            if counted:
                self._note(route, type(exc).__name__, time.perf_counter() - started)
            return None
        if counted:
            self._note(route, str(response.status_code), time.perf_counter() - started)
        return response

    def _note(self, route: str, status: str, seconds: float) -> None:
        tally = self.routes.setdefault(route, RouteTally())
        tally.latencies.append(seconds)
        tally.statuses[status] += 1


@dataclass
class Call:
    """One call-next answered: which ticket, when, and the screens that should show it."""

    slug: str
    number: str
    called_at: datetime
    answered: float
    instance: int


@dataclass
class Screen:
    """One lobby screen: when each call (number and call time) first reached it."""

    slug: str
    instance: int
    url: str
    arrivals: dict[tuple[str, datetime], float] = field(default_factory=dict)
    seen: set[tuple[str, str]] = field(default_factory=set)
    messages: int = 0
    reconnections: int = 0

    async def watch(self, ready: asyncio.Event) -> None:
        while True:
            try:
                async with websockets.connect(
                    self.url, compression=None, max_queue=None, open_timeout=30
                ) as connection:
                    async for message in connection:
                        self._read(message, time.monotonic())
                        ready.set()
            except (OSError, websockets.ConnectionClosed, websockets.InvalidHandshake):
                pass
            self.reconnections += 1
            await asyncio.sleep(0.5)

    def _read(self, message: str | bytes, arrived: float) -> None:
        self.messages += 1
        body = json.loads(message)
        for entry in body.get("called") or []:
            raw = (entry["number"], entry["called_at"])
            if raw not in self.seen:
                self.seen.add(raw)
                key = (entry["number"], datetime.fromisoformat(entry["called_at"]))
                self.arrivals.setdefault(key, arrived)


@dataclass
class Mairie:
    slug: str
    reception: str
    stations: list[tuple[int, str]]


# The people.


def weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def reception(
    mairie: Mairie,
    client: httpx.AsyncClient,
    recorder: Recorder,
    rng: random.Random,
    per_second: float,
    until: float,
) -> None:
    """Walk-ins arriving at the desk, one ticket each."""
    url = f"/api/v1/sites/{mairie.slug}/tickets"
    while True:
        await asyncio.sleep(rng.expovariate(per_second))
        if time.monotonic() >= until:
            return
        body = {
            "service": weighted(rng, WALK_IN_SERVICES),
            "priority": rng.random() < 0.03,
            "force_reason": FORCED,
        }
        await recorder.send(
            client,
            "POST",
            "POST /api/v1/sites/{slug}/tickets",
            url,
            json=body,
            headers=headers(mairie.reception),
        )


async def queue_at_the_door(
    mairie: Mairie, client: httpx.AsyncClient, rng: random.Random, load: Load
) -> int:
    """The people who were waiting before the doors opened, given their tickets one by one;
    how many could not get one."""
    refused = 0
    for _ in range(load.waiting_at_opening):
        try:
            response = await client.post(
                f"/api/v1/sites/{mairie.slug}/tickets",
                json={"service": weighted(rng, WALK_IN_SERVICES), "force_reason": FORCED},
                headers=headers(mairie.reception),
            )
            refused += response.status_code != 201
        except httpx.HTTPError:
            refused += 1
    return refused


async def station(
    slug: str,
    station_id: int,
    token: str,
    instance: int,
    client: httpx.AsyncClient,
    recorder: Recorder,
    rng: random.Random,
    calls: list[Call],
    until: float,
) -> None:
    """A facilitator at one station: call, start (or mark absent), help, finish, again."""
    auth = headers(token)
    await asyncio.sleep(rng.uniform(0, 3))
    while time.monotonic() < until:
        asked = time.monotonic()
        response = await recorder.send(
            client,
            "POST",
            "POST /api/v1/stations/{id}/call-next",
            f"/api/v1/stations/{station_id}/call-next",
            headers=auth,
        )
        answered = time.monotonic()
        if response is None or response.status_code != 200:
            await asyncio.sleep(rng.uniform(2, 4))
            continue
        ticket = response.json()
        if recorder.measuring(asked):
            called_at = datetime.fromisoformat(ticket["called_at"])
            calls.append(Call(slug, ticket["number"], called_at, answered, instance))
        await asyncio.sleep(rng.uniform(0.3, 1.0))
        if time.monotonic() >= until:
            return
        if rng.random() < 0.05:
            await recorder.send(
                client,
                "POST",
                "POST /api/v1/tickets/{id}/no-show",
                f"/api/v1/tickets/{ticket['id']}/no-show",
                headers=auth,
            )
            continue
        started = await recorder.send(
            client,
            "POST",
            "POST /api/v1/tickets/{id}/start",
            f"/api/v1/tickets/{ticket['id']}/start",
            headers=auth,
        )
        if started is None or started.status_code != 200:
            continue
        await asyncio.sleep(rng.uniform(2, 6))
        if time.monotonic() >= until:
            return
        await recorder.send(
            client,
            "POST",
            "POST /api/v1/tickets/{id}/finish",
            f"/api/v1/tickets/{ticket['id']}/finish",
            json={"outcome": rng.choice(["solved", "solved", "alone", "unrecorded"])},
            headers=auth,
        )
        await asyncio.sleep(rng.uniform(0.5, 1.5))


async def usager(
    number: int,
    slugs: list[str],
    client: httpx.AsyncClient,
    recorder: Recorder,
    rng: random.Random,
    today: date,
) -> None:
    """Someone at home: searches one or two mairies, and most of the time books the
    soonest slot or one of the next; when someone else took it first (409), searches and
    tries again."""
    service = weighted(rng, BOOKED_SERVICES)
    params = {
        "service": service,
        "from": today.isoformat(),
        "to": (today + timedelta(days=SEARCH_DAYS - 1)).isoformat(),
    }
    chosen = rng.sample(slugs, rng.choice([1, 1, 2]))
    slots: list[dict[str, str]] = []
    for slug in chosen:
        response = await recorder.send(
            client,
            "GET",
            "GET /api/v1/sites/{slug}/availability",
            f"/api/v1/sites/{slug}/availability",
            params=params,
        )
        if response is not None and response.status_code == 200:
            slots = response.json()["slots"]
    if rng.random() >= 0.75:
        return
    slug = chosen[-1]
    for attempt in range(2):
        if not slots:
            return
        slot = slots[0] if rng.random() < 0.5 else rng.choice(slots[:SOONEST_SLOTS])
        body = {
            "site": slug,
            "service": service,
            "start": slot["start"],
            "name": f"Usager {number}",
            "email": f"usager{number}@example.org",
            "channel": "online",
        }
        booked = await recorder.send(
            client, "POST", "POST /api/v1/appointments", "/api/v1/appointments", json=body
        )
        if booked is None or booked.status_code != 409 or attempt:
            return
        again = await recorder.send(
            client,
            "GET",
            "GET /api/v1/sites/{slug}/availability",
            f"/api/v1/sites/{slug}/availability",
            params=params,
        )
        slots = again.json()["slots"] if again is not None and again.status_code == 200 else []


async def usagers(
    slugs: list[str],
    clients: list[httpx.AsyncClient],
    recorder: Recorder,
    rng: random.Random,
    per_second: float,
    until: float,
) -> None:
    today = datetime.now(UTC).date()
    tasks: set[asyncio.Task[None]] = set()
    number = 0
    while True:
        await asyncio.sleep(rng.expovariate(per_second))
        if time.monotonic() >= until:
            break
        number += 1
        client = clients[number % len(clients)]
        person = usager(number, slugs, client, recorder, random.Random(rng.random()), today)
        task = asyncio.create_task(person)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)


# The servers.


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def cpu_until(pids: list[int], until: float) -> tuple[list[float], float]:
    """CPU seconds spent by each server, and by this process, from now until `until`."""
    servers, here = [cpu_seconds(pid) for pid in pids], time.process_time()
    await asyncio.sleep(max(0.0, until - time.monotonic()))
    spent = [cpu_seconds(pid) - before for pid, before in zip(pids, servers, strict=True)]
    return spent, time.process_time() - here


def pid_of(server: Server) -> int:
    assert server.process is not None
    return server.process.pid


def memory_mib(pid: int) -> tuple[float, float]:
    """Resident memory now and at its peak since the process started (VmRSS, VmHWM)."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            found[line.split(":")[0]] = int(line.split()[1]) / 1024
    return found.get("VmRSS", 0.0), found.get("VmHWM", 0.0)


def log_problems(server: Server) -> int:
    return sum(
        1
        for line in server.output().splitlines()
        if "Traceback" in line or " ERROR " in line or "ERROR:" in line
    )


async def prepare(url: str) -> None:
    """Schema, demo data, one reception agent per mairie and one facilitator per station."""
    await asyncio.to_thread(schema.upgrade, url)
    db = Database(url)
    try:
        async with db.writing() as session:
            await load_demo(session, today=datetime.now(UTC).date())
        for slug, stations in STATIONS_PER_SITE.items():
            async with db.writing() as session:
                await create_agent(
                    session,
                    email=f"accueil.{slug}@bench.example.org",
                    password=PASSWORD,
                    role="reception",
                    site_slugs=[slug],
                )
                for number in range(1, stations + 1):
                    await create_agent(
                        session,
                        email=f"poste{number}.{slug}@bench.example.org",
                        password=PASSWORD,
                        role="facilitator",
                        site_slugs=[slug],
                    )
    finally:
        await db.dispose()


async def log_in(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post(
        "/api/v1/auth/token", json={"email": email, "password": PASSWORD}, timeout=60
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


async def staff(clients: list[httpx.AsyncClient]) -> list[tuple[Mairie, list[str]]]:
    """Each mairie with its reception's token, its stations, and each station's token."""
    found = []
    for index, slug in enumerate(STATIONS_PER_SITE):
        client = clients[index % len(clients)]
        site = (await client.get(f"/api/v1/sites/{slug}")).json()
        stations = sorted((s["id"], s["name"]) for s in site["stations"])
        # One at a time, as agents arrive: each login costs argon2's 64 MiB for a moment.
        tokens = [
            await log_in(clients[(index + n) % len(clients)], f"poste{n}.{slug}@bench.example.org")
            for n in range(1, len(stations) + 1)
        ]
        reception_token = await log_in(client, f"accueil.{slug}@bench.example.org")
        found.append((Mairie(slug, reception_token, stations), list(tokens)))
    return found


# One morning.


@dataclass
class Morning:
    """What one run saw."""

    label: str
    seconds: float
    recorder: Recorder
    calls: list[Call]
    screens: list[Screen]
    servers: list[tuple[float, tuple[float, float], int]]  # CPU s, (RSS, peak) MiB, log errors
    client_cpu: float


async def morning(label: str, servers: list[Server], load: Load, seed: int) -> Morning:
    rng = random.Random(seed)
    recorder = Recorder()
    calls: list[Call] = []
    limits = httpx.Limits(
        max_connections=400, max_keepalive_connections=400, keepalive_expiry=KEEP_ALIVE_SECONDS / 2
    )
    clients = [
        httpx.AsyncClient(base_url=server.base, timeout=30, limits=limits) for server in servers
    ]
    screens: list[Screen] = []
    watchers: list[asyncio.Task[None]] = []
    try:
        mairies = await staff(clients)
        for index, (mairie, _tokens) in enumerate(mairies):
            for number in range(rng.randint(*load.screens_per_site)):
                instance = (index + number) % len(servers)
                url = f"{servers[instance].ws}/ws/sites/{mairie.slug}/display"
                screens.append(Screen(mairie.slug, instance, url))
        readiness = [asyncio.Event() for _ in screens]
        watchers = [
            asyncio.create_task(screen.watch(ready))
            for screen, ready in zip(screens, readiness, strict=True)
        ]
        async with asyncio.timeout(60):
            await asyncio.gather(*(ready.wait() for ready in readiness))
        refused = await asyncio.gather(
            *(
                queue_at_the_door(mairie, clients[index % len(clients)], rng, load)
                for index, (mairie, _tokens) in enumerate(mairies)
            )
        )
        if sum(refused):
            print(f"  ({label}: {sum(refused)} tickets of the opening queue were refused)")
        await asyncio.sleep(1)
        pids = [pid_of(server) for server in servers]
        started = time.monotonic()
        until = started + load.seconds
        recorder.window = (started, until)
        for screen in screens:
            screen.reconnections = screen.messages = 0
        spent = asyncio.create_task(cpu_until(pids, until))
        per_site = load.walk_ins_per_second / len(mairies)
        people = [
            usagers(list(STATIONS_PER_SITE), clients, recorder, rng, load.usagers_per_second, until)
        ]
        for index, (mairie, tokens) in enumerate(mairies):
            people.append(
                reception(mairie, clients[index % len(clients)], recorder, rng, per_site, until)
            )
            for number, ((station_id, _name), token) in enumerate(
                zip(mairie.stations, tokens, strict=True)
            ):
                instance = (index + number) % len(servers)
                people.append(
                    station(
                        mairie.slug,
                        station_id,
                        token,
                        instance,
                        clients[instance],
                        recorder,
                        random.Random(rng.random()),
                        calls,
                        until,
                    )
                )
        await asyncio.gather(*people)
        server_cpu, client_cpu = await spent
        await asyncio.sleep(DELIVERY_GRACE_SECONDS)
        figures = [
            (cpu, memory_mib(pid), log_problems(server))
            for server, pid, cpu in zip(servers, pids, server_cpu, strict=True)
        ]
    finally:
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        for client in clients:
            await client.aclose()
    return Morning(label, load.seconds, recorder, calls, screens, figures, client_cpu)


# The report.


def quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


EXPECTED = {"204", "409"}


def report(seen: Morning) -> None:
    routes = seen.recorder.routes
    print(f"\n{seen.label}: {seen.seconds:.0f} s of load")
    print(
        f"  {'route':<40} {'count':>6} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'2xx':>6} {'204':>5} {'409':>5} {'429':>5} {'errors':>6}"
    )
    total = errors = limited = 0
    for route in sorted(routes):
        tally = routes[route]
        ordered = sorted(tally.latencies)
        statuses = tally.statuses
        ok = sum(n for s, n in statuses.items() if s.startswith("2") and s != "204")
        expected_409 = statuses["409"] if route == "POST /api/v1/appointments" else 0
        wrong = sum(statuses.values()) - ok - statuses["204"] - expected_409 - statuses["429"]
        total += len(ordered)
        errors += wrong
        limited += statuses["429"]
        print(
            f"  {route:<40} {len(ordered):>6} {ms(quantile(ordered, 0.5))} "
            f"{ms(quantile(ordered, 0.99))} {ok:>6} {statuses['204']:>5} {expected_409:>5}"
            f" {statuses['429']:>5} {wrong:>6}"
        )
    odd = {
        f"{route} {status}": n
        for route, tally in routes.items()
        for status, n in tally.statuses.items()
        if not status.startswith("2")
        and status != "429"
        and not (status == "409" and route == "POST /api/v1/appointments")
    }
    booked = routes.get("POST /api/v1/appointments", RouteTally()).statuses["201"]
    taken = routes.get("POST /api/v1/appointments", RouteTally()).statuses["409"]
    print(
        f"  requests {total}, error rate {errors / max(total, 1):.2%} ({errors}), "
        f"429: {limited}{'  ' + str(odd) if odd else ''}"
    )
    print(
        f"  bookings {booked / seen.seconds:.2f}/s ({booked}, and {taken} slots taken first), "
        f"calls {len(seen.calls) / seen.seconds:.2f}/s ({len(seen.calls)})"
    )
    delivery(seen)
    for number, (cpu, (rss, peak), problems) in enumerate(seen.servers, start=1):
        print(
            f"  instance {number}: CPU {cpu:6.1f} s in the window ({cpu / seen.seconds:.0%} of a "
            f"core), RSS {rss:6.1f} MiB at the end, peak {peak:6.1f} MiB, "
            f"{problems} error lines in its log"
        )
    print(f"  load generator: CPU {seen.client_cpu:6.1f} s")


def delivery(seen: Morning) -> None:
    by_site: dict[str, list[Screen]] = {}
    for screen in seen.screens:
        by_site.setdefault(screen.slug, []).append(screen)
    delays: dict[str, list[float]] = {"all": [], "same instance": [], "other instance": []}
    missed = early = 0
    for call in seen.calls:
        for screen in by_site.get(call.slug, []):
            arrived = screen.arrivals.get((call.number, call.called_at))
            if arrived is None:
                missed += 1
                continue
            early += arrived < call.answered
            delay = max(0.0, arrived - call.answered)
            delays["all"].append(delay)
            where = "same instance" if screen.instance == call.instance else "other instance"
            delays[where].append(delay)
    reconnections = sum(screen.reconnections for screen in seen.screens)
    print(
        f"  display: {len(seen.screens)} screens, {sum(s.messages for s in seen.screens)} "
        f"messages, {missed} deliveries missed, {early} before the call's response, "
        f"{reconnections} reconnections"
    )
    for label, samples in delays.items():
        if samples:
            ordered = sorted(samples)
            print(
                f"  display delay, {label:<15} {len(ordered):>6} deliveries  p50"
                f"{ms(quantile(ordered, 0.5))} ms  p99{ms(quantile(ordered, 0.99))} ms  "
                f"max{ms(ordered[-1])} ms"
            )


# The two configurations.


@contextlib.contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


async def administer(postgres: str, statement: str) -> None:
    """One statement on its own connection (a connection kept through the run could be
    closed under it)."""
    admin = await asyncpg.connect(postgres)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


def keep_logs(where: Path, logs: Path | None, label: str) -> None:
    """Copy the servers' logs out of their throw-away folder, if asked to."""
    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
        for log in where.glob("serve-*.log"):
            shutil.copyfile(log, logs / f"{label}-{log.name}")


async def on_postgresql(
    postgres: str, load: Load, seed: int, logs: Path | None, pool_size: int | None
) -> None:
    name = f"guichet_bench_monday_{int(time.time())}"
    try:
        await administer(postgres, f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"postgresql: skipped ({type(exc).__name__}: {exc})")
        return
    try:
        base = postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        url = f"{base}/{name}"
        await prepare(url)
        environment = {
            **ALLOWED_FROM_ONE_ADDRESS,
            "GUICHET_DATABASE_URL": url,
            "GUICHET_LOG_LEVEL": "WARNING",
        }
        if pool_size is not None:
            environment["GUICHET_DATABASE_POOL_SIZE"] = str(pool_size)
        with folder() as where:
            try:
                with running(where, environment, count=2) as servers:
                    label = "PostgreSQL, 2 instances" + (
                        f", pool of {pool_size}+{pool_size}" if pool_size else ""
                    )
                    report(await morning(label, servers, load, seed))
            finally:
                keep_logs(where, logs, "postgresql")
    finally:
        await administer(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def on_sqlite(load: Load, seed: int, logs: Path | None) -> None:
    with folder() as where:
        url = f"sqlite+aiosqlite:///{where / 'monday.db'}"
        await prepare(url)
        environment = {
            **ALLOWED_FROM_ONE_ADDRESS,
            "GUICHET_DATABASE_URL": url,
            "GUICHET_LOG_LEVEL": "WARNING",
        }
        try:
            with running(where, environment, count=1) as servers:
                report(await morning("SQLite, 1 instance", servers, load, seed))
        finally:
            keep_logs(where, logs, "sqlite")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--usagers-per-second", type=float, default=3.0)
    parser.add_argument("--walk-ins-per-second", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--logs", type=Path, help="a folder to keep the servers' logs in")
    parser.add_argument(
        "--pool-size", type=int, help="GUICHET_DATABASE_POOL_SIZE (PostgreSQL; default: its own)"
    )
    parser.add_argument(
        "--databases", nargs="+", choices=["postgresql", "sqlite"], default=["postgresql", "sqlite"]
    )
    args = parser.parse_args()
    raise_file_limit()
    load = Load(
        seconds=args.seconds,
        usagers_per_second=args.usagers_per_second,
        walk_ins_per_second=args.walk_ins_per_second,
    )
    print(
        f"Monday opening at the {len(STATIONS_PER_SITE)} mairies "
        f"({sum(STATIONS_PER_SITE.values())} stations): {load.usagers_per_second:g} usagers/s "
        f"searching (75 % then booking), {load.walk_ins_per_second:g} walk-ins/s, "
        f"{load.waiting_at_opening} waiting per mairie at opening, "
        f"{load.screens_per_site[0]}-{load.screens_per_site[1]} screens per mairie"
    )
    if "postgresql" in args.databases:
        await on_postgresql(args.postgres, load, args.seed, args.logs, args.pool_size)
    if "sqlite" in args.databases:
        await on_sqlite(load, args.seed, args.logs)


if __name__ == "__main__":
    asyncio.run(main())
