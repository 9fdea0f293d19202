"""How much of the Monday mix one `guichet serve` on SQLite, and two on one PostgreSQL
database, sustain: the mix of `bench/monday.py` (usagers searching and booking, reception
issuing walk-ins, stations calling, starting and finishing, lobby screens connected)
offered at rising rates, step after step, until p99 latency passes 200 ms or more than
1 % of the requests fail (409 on a taken slot, 204 when nobody waits and 429 are not
failures, as in monday.py).

A rate is the whole mix scaled: at 1× (monday.py's default load: 3 usagers/s, 4
walk-ins/s, the 80 stations) it made about 44 requests/s (2,638 in 60 s); a step at R
requests/s runs R/44 times the usagers and walk-ins, and as many station loops per
station, rounded, over the 80 stations (several loops may share one station). "Offered"
is that nominal rate, "achieved" the requests both sent and answered within the step, per
second.

Figures: per step offered and achieved requests/s, p50/p99 of all requests, error rate,
server CPU per request and RSS; the knee (the highest rate sustained with p99 <= 200 ms
and no errors); before the ramp, for each main route alone at a fixed moderate rate (search,
booking, walk-in ticket, call-next, the screens' display state), the server's CPU
milliseconds per request, its idle CPU (the screens' websockets, its loops) taken off.
No target, no assertion: figures only.

Run: .venv/bin/python -m bench.capacity [--step-seconds 15] [--start-rate 15]
     [--factor 1.5] [--max-steps 8] [--only sqlite|postgres] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from app.serving import KEEP_ALIVE_SECONDS
from app.sites.demo import STATIONS_PER_SITE
from bench import monday
from tests.servers import Server

BASE_RATE = 44.0  # requests/s of the mix at monday.py's default load
P99_LIMIT = 0.200
ERROR_LIMIT = 0.01
LEAD_SECONDS = 1.0  # actors start this long before the step is measured
STRAGGLERS_SECONDS = 35.0  # httpx's timeout (30 s), then the loops left are cut short
SQLITE_PORT, POSTGRES_PORTS = 8700, (8701, 8702)


@dataclass
class Step:
    """What one step saw."""

    offered: float
    achieved: float
    p50: float
    p99: float
    requests: int
    errors: int
    server_cpu: float  # seconds, all instances
    client_cpu: float
    rss: list[float]  # MiB, each instance at the step's end
    log_errors: int

    @property
    def error_rate(self) -> float:
        return self.errors / max(self.requests, 1)

    @property
    def sustained(self) -> bool:
        return self.requests > 0 and self.p99 <= P99_LIMIT and self.error_rate <= ERROR_LIMIT


class Clocked(monday.Recorder):
    """monday.py's recorder, also noting when each measured request was answered."""

    def __init__(self) -> None:
        super().__init__()
        self.answered: list[float] = []

    def _note(self, route: str, status: str, seconds: float) -> None:
        super()._note(route, status, seconds)
        self.answered.append(time.monotonic())

    def throughput(self) -> float:
        """Requests sent and answered within the window, per second."""
        start, end = self.window
        return sum(1 for moment in self.answered if moment < end) / (end - start)


def failures(recorder: monday.Recorder) -> tuple[int, int]:
    """All requests of the window, and those that failed (as monday.py counts them)."""
    total = wrong = 0
    for route, tally in recorder.routes.items():
        statuses = tally.statuses
        ok = sum(n for s, n in statuses.items() if s.startswith("2"))
        expected = statuses["409"] if route == "POST /api/v1/appointments" else 0
        total += sum(statuses.values())
        wrong += sum(statuses.values()) - ok - expected - statuses["429"]
    return total, wrong


@dataclass
class Town:
    """The servers, one client for each, the staff logged in and the screens watching."""

    servers: list[Server]
    clients: list[httpx.AsyncClient]
    mairies: list[monday.Mairie]
    desks: list[tuple[str, int, str, int]]  # slug, station id, token, instance
    screens: list[monday.Screen]
    usagers_seen: int = 0

    @property
    def pids(self) -> list[int]:
        return [monday.pid_of(server) for server in self.servers]

    def server_cpu(self) -> float:
        return sum(monday.cpu_seconds(pid) for pid in self.pids)


@contextlib.asynccontextmanager
async def town(servers: list[Server], seed: int) -> Any:
    """Log the staff in, connect 2 to 4 screens per mairie, let the opening queue in."""
    rng = random.Random(seed)
    limits = httpx.Limits(
        max_connections=1000,
        max_keepalive_connections=1000,
        keepalive_expiry=KEEP_ALIVE_SECONDS / 2,
    )
    clients = [httpx.AsyncClient(base_url=s.base, timeout=30, limits=limits) for s in servers]
    watchers: list[asyncio.Task[None]] = []
    try:
        found = await monday.staff(clients)
        mairies = [mairie for mairie, _tokens in found]
        numbered = [
            (number, (mairie.slug, station_id, token, (index + number) % len(servers)))
            for index, (mairie, tokens) in enumerate(found)
            for number, ((station_id, _name), token) in enumerate(
                zip(mairie.stations, tokens, strict=True)
            )
        ]
        # Station 1 of every mairie first, then station 2...: a few loops cover Paris.
        desks = [desk for _number, desk in sorted(numbered, key=lambda pair: pair[0])]
        screens = []
        for index, mairie in enumerate(mairies):
            for n in range(index, index + rng.randint(2, 4)):
                url = f"{servers[n % len(servers)].ws}/ws/sites/{mairie.slug}/display"
                screens.append(monday.Screen(mairie.slug, n % len(servers), url))
        ready = [asyncio.Event() for _ in screens]
        watchers = [asyncio.create_task(s.watch(r)) for s, r in zip(screens, ready, strict=True)]
        async with asyncio.timeout(60):
            await asyncio.gather(*(event.wait() for event in ready))
        load = monday.Load(seconds=0)
        await asyncio.gather(
            *(
                monday.queue_at_the_door(mairie, clients[index % len(clients)], rng, load)
                for index, mairie in enumerate(mairies)
            )
        )
        yield Town(servers, clients, mairies, desks, screens)
    finally:
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        for client in clients:
            await client.aclose()


# The mix at one rate.


async def arrivals(
    place: Town, recorder: monday.Recorder, rng: random.Random, per_second: float, until: float
) -> None:
    """Usagers arriving from home (monday.py's `usager`), numbered across the whole run so
    that nobody reaches the per-person booking limits."""
    today = datetime.now(UTC).date()
    tasks: set[asyncio.Task[None]] = set()
    slugs = list(STATIONS_PER_SITE)
    while True:
        await asyncio.sleep(rng.expovariate(per_second))
        if time.monotonic() >= until:
            break
        place.usagers_seen += 1
        number = place.usagers_seen
        client = place.clients[number % len(place.clients)]
        person = monday.usager(number, slugs, client, recorder, random.Random(rng.random()), today)
        task = asyncio.create_task(person)
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)


async def mix_step(place: Town, rate: float, seconds: float, seed: int) -> Step:
    """The Monday mix scaled to `rate` requests/s, measured over `seconds`."""
    rng = random.Random(seed)
    scale = rate / BASE_RATE
    defaults = monday.Load(seconds=seconds)
    recorder = Clocked()
    calls: list[Any] = []
    started = time.monotonic() + LEAD_SECONDS
    until = started + seconds
    recorder.window = (started, until)
    clients = place.clients
    per_site = defaults.walk_ins_per_second * scale / len(place.mairies)
    people: list[Awaitable[None]] = [
        arrivals(place, recorder, rng, defaults.usagers_per_second * scale, until)
    ]
    receptions = [
        asyncio.ensure_future(
            monday.reception(m, clients[i % len(clients)], recorder, rng, per_site, until)
        )
        for i, m in enumerate(place.mairies)
    ]
    for number in range(max(1, round(len(place.desks) * scale))):
        slug, station_id, token, instance = place.desks[number % len(place.desks)]
        loop = monday.station(
            slug, station_id, token, instance, clients[instance], recorder,
            random.Random(rng.random()), calls, until,
        )  # fmt: skip
        people.append(loop)
    tasks = [asyncio.ensure_future(person) for person in people]
    await asyncio.sleep(LEAD_SECONDS)
    cpu_before, here = place.server_cpu(), time.process_time()
    await asyncio.sleep(max(0.0, until - time.monotonic()))
    server_cpu, client_cpu = place.server_cpu() - cpu_before, time.process_time() - here
    # The receptions sleep until their next walk-in, long at low rates: they are stopped once
    # the usagers and stations are done (by then their last request was answered).
    _done, pending = await asyncio.wait(tasks, timeout=STRAGGLERS_SECONDS)
    for task in [*pending, *receptions]:
        task.cancel()
    await asyncio.gather(*pending, *receptions, return_exceptions=True)
    latencies = sorted(s for tally in recorder.routes.values() for s in tally.latencies)
    total, wrong = failures(recorder)
    return Step(
        offered=rate,
        achieved=recorder.throughput(),
        p50=monday.quantile(latencies, 0.5),
        p99=monday.quantile(latencies, 0.99),
        requests=total,
        errors=wrong,
        server_cpu=server_cpu,
        client_cpu=client_cpu,
        rss=[monday.memory_mib(pid)[0] for pid in place.pids],
        log_errors=sum(monday.log_problems(server) for server in place.servers),
    )


def print_step(number: int, step: Step, seconds: float) -> None:
    cpu_ms = step.server_cpu * 1000 / max(step.requests, 1)
    rss = " + ".join(f"{r:.0f}" for r in step.rss)
    print(
        f"  {number:>4} {step.offered:>8.1f} {step.achieved:>9.1f} {step.p50 * 1000:>8.1f}"
        f" {step.p99 * 1000:>8.1f} {step.error_rate:>7.2%} {step.errors:>6}"
        f" {step.server_cpu / seconds:>7.0%} {cpu_ms:>7.1f} {step.client_cpu / seconds:>7.0%}"
        f"  {rss} MiB, {step.log_errors} log error lines"
    )


async def ramp(
    place: Town, start: float, factor: float, steps: int, seconds: float, seed: int
) -> None:
    """Steps at rising rates until one is not sustained, or `steps` were run."""
    print(
        f"  {'step':>4} {'offered':>8} {'achieved':>9} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'errors':>7} {'failed':>6} {'srv CPU':>7} {'ms/req':>7} {'gen CPU':>7}  RSS"
    )
    seen: list[Step] = []
    rate = start
    for number in range(1, steps + 1):
        step = await mix_step(place, rate, seconds, seed + number)
        seen.append(step)
        print_step(number, step, seconds)
        if not step.sustained:
            break
        rate *= factor
    held = [step for step in seen if step.sustained and not step.errors]
    if held:
        knee = max(held, key=lambda step: step.offered)
        beyond = "" if len(held) < len(seen) else f" (not reached: {steps} steps all held)"
        print(
            f"  knee: {knee.offered:.1f} requests/s offered, {knee.achieved:.1f} achieved, "
            f"p99 {knee.p99 * 1000:.1f} ms, {knee.error_rate:.2%} errors{beyond}"
        )
    else:
        print(f"  knee: none, no step held p99 <= {P99_LIMIT * 1000:.0f} ms without errors")


async def steady(rate: float, seconds: float, send: Callable[[int], Awaitable[Any]]) -> None:
    """`send(n)` at a fixed rate, each without waiting for the previous ones."""
    began = time.monotonic()
    tasks = []
    for n in range(int(rate * seconds)):
        await asyncio.sleep(max(0.0, began + n / rate - time.monotonic()))
        tasks.append(asyncio.ensure_future(send(n)))
    await asyncio.gather(*tasks)


async def slots_to_book(place: Town, today: date) -> list[tuple[str, str, str]]:
    """Free slots across the mairies, interleaved, for the booking phase."""
    found: list[list[tuple[str, str, str]]] = []
    for index, mairie in enumerate(place.mairies):
        service = list(monday.BOOKED_SERVICES)[index % len(monday.BOOKED_SERVICES)]
        params = {
            "service": service,
            "from": (today + timedelta(days=monday.SEARCH_DAYS)).isoformat(),
            "to": (today + timedelta(days=monday.SEARCH_DAYS + 13)).isoformat(),
        }
        response = await place.clients[0].get(
            f"/api/v1/sites/{mairie.slug}/availability", params=params
        )
        slots = response.json()["slots"] if response.status_code == 200 else []
        found.append([(mairie.slug, service, slot["start"]) for slot in slots])
    return [slot for row in itertools.zip_longest(*found) for slot in row if slot]


async def alone(
    pid: int,
    rate: float,
    seconds: float,
    idle: float,
    send: Callable[[int], Awaitable[httpx.Response]],
) -> tuple[Counter[str], list[float], float]:
    """One route at a fixed rate: its statuses, latencies, and the server's CPU seconds
    (less its idle CPU over the same time)."""
    statuses: Counter[str] = Counter()
    latencies: list[float] = []

    async def timed(n: int) -> None:
        began = time.perf_counter()
        try:
            statuses[str((await send(n)).status_code)] += 1
        except httpx.HTTPError as exc:
            statuses[type(exc).__name__] += 1
        latencies.append(time.perf_counter() - began)

    before, began = monday.cpu_seconds(pid), time.monotonic()
    await steady(rate, seconds, timed)
    return statuses, latencies, monday.cpu_seconds(pid) - before - idle * (time.monotonic() - began)


async def route_costs(place: Town, rate: float, seconds: float, seed: int) -> None:
    """Server CPU ms per request of each main route, alone at `rate` requests/s."""
    rng = random.Random(seed)
    today = datetime.now(UTC).date()
    client = place.clients[0]
    slugs = [m.slug for m in place.mairies]
    slots = await slots_to_book(place, today)
    idle_before = place.server_cpu()
    await asyncio.sleep(3)
    idle = (place.server_cpu() - idle_before) / 3

    async def search(n: int) -> httpx.Response:
        params = {
            "service": monday.weighted(rng, monday.BOOKED_SERVICES),
            "from": today.isoformat(),
            "to": (today + timedelta(days=monday.SEARCH_DAYS - 1)).isoformat(),
        }
        return await client.get(f"/api/v1/sites/{rng.choice(slugs)}/availability", params=params)

    async def book(n: int) -> httpx.Response:
        slug, service, start = slots[n % len(slots)]
        who = {"name": f"Mesure {n}", "email": f"mesure{seed}.{n}@example.org"}
        body = {"site": slug, "service": service, "start": start, "channel": "online", **who}
        return await client.post("/api/v1/appointments", json=body)

    async def walk_in(n: int) -> httpx.Response:
        mairie = place.mairies[n % len(place.mairies)]
        service = monday.weighted(rng, monday.WALK_IN_SERVICES)
        body = {"service": service, "force_reason": monday.FORCED}
        url = f"/api/v1/sites/{mairie.slug}/tickets"
        return await client.post(url, json=body, headers=monday.headers(mairie.reception))

    async def call_next(n: int) -> httpx.Response:
        _slug, station_id, token, _instance = place.desks[n % len(place.desks)]
        url = f"/api/v1/stations/{station_id}/call-next"
        return await client.post(url, headers=monday.headers(token))

    async def display(n: int) -> httpx.Response:
        return await client.get(f"/api/v1/sites/{slugs[n % len(slugs)]}/display")

    phases = {
        "search   GET  /sites/{slug}/availability": search,
        "book     POST /appointments": book,
        "walk-in  POST /sites/{slug}/tickets": walk_in,
        "call     POST /stations/{id}/call-next": call_next,
        "screens  GET  /sites/{slug}/display": display,
    }
    print(
        f"\n  CPU per request, each route alone at {rate:g}/s for {seconds:g} s on the first "
        f"instance (idle CPU {idle * 1000:.0f} ms/s taken off; call-next includes the push "
        f"to the screens)"
    )
    print(f"  {'route':<42} {'count':>6} {'statuses':<22} {'p50 ms':>7} {'CPU ms/req':>10}")
    pid = place.pids[0]
    for name, send in phases.items():
        statuses, latencies, spent = await alone(pid, rate, seconds, idle, send)
        count = sum(statuses.values())
        shown = " ".join(f"{k}:{v}" for k, v in sorted(statuses.items()))
        p50 = monday.quantile(sorted(latencies), 0.5) * 1000
        print(f"  {name:<42} {count:>6} {shown:<22} {p50:>7.1f} {spent * 1000 / count:>10.1f}")
    rss, peak = monday.memory_mib(pid)
    print(f"  instance 1 memory: RSS {rss:.0f} MiB now, peak {peak:.0f} MiB")


@contextlib.contextmanager
def serving(
    where: Path, environment: dict[str, str], ports: tuple[int, ...]
) -> Iterator[list[Server]]:
    """`guichet serve` on each of `ports` (fixed ports, unlike tests.servers.running)."""
    servers = [Server(where, port, environment) for port in ports]
    try:
        for server in servers:
            server.launch()
            if environment["GUICHET_DATABASE_URL"].startswith("sqlite"):
                server.wait_until_ready()  # it migrates the file: one at a time
        for server in servers:
            server.wait_until_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()


async def measure(label: str, servers: list[Server], args: argparse.Namespace) -> None:
    print(f"\n{label}")
    async with town(servers, args.seed) as place:
        print(f"  {len(place.screens)} screens connected, {len(place.desks)} stations")
        await route_costs(place, args.route_rate, args.route_seconds, args.seed)
        print(
            f"\n  the Monday mix at rising rates, {args.step_seconds:g} s a step "
            f"(CPU: share of one core, all instances; ms/req: server CPU per request)"
        )
        await ramp(
            place, args.start_rate, args.factor, args.max_steps, args.step_seconds, args.seed
        )
        for server in servers:
            rss, peak = monday.memory_mib(monday.pid_of(server))
            print(f"  instance :{server.port}: RSS {rss:.0f} MiB at the end, peak {peak:.0f} MiB")


def environment(url: str) -> dict[str, str]:
    allowed = monday.ALLOWED_FROM_ONE_ADDRESS
    return {**allowed, "GUICHET_DATABASE_URL": url, "GUICHET_LOG_LEVEL": "WARNING"}


async def on_sqlite(args: argparse.Namespace) -> None:
    with monday.folder() as where:
        url = f"sqlite+aiosqlite:///{where / 'capacity.db'}"
        await monday.prepare(url)
        with serving(where, environment(url), (SQLITE_PORT,)) as servers:
            await measure("SQLite, 1 instance", servers, args)


async def on_postgresql(args: argparse.Namespace) -> None:
    name = f"bench_capacity_{int(time.time())}"
    try:
        await monday.administer(args.postgres, f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError) as exc:
        print(f"\npostgresql: skipped ({type(exc).__name__}: {exc})")
        return
    try:
        base = args.postgres.rsplit("/", 1)[0]
        url = f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"
        await monday.prepare(url)
        with monday.folder() as where, serving(where, environment(url), POSTGRES_PORTS) as servers:
            await measure("PostgreSQL, 2 instances", servers, args)
    finally:
        await monday.administer(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--step-seconds", type=float, default=15)
    parser.add_argument("--start-rate", type=float, default=15, help="requests/s")
    parser.add_argument("--factor", type=float, default=1.5)
    parser.add_argument("--max-steps", type=int, default=8)
    parser.add_argument("--route-rate", type=float, default=10, help="requests/s, routes alone")
    parser.add_argument("--route-seconds", type=float, default=10)
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()
    monday.raise_file_limit()
    print(
        f"Capacity under the Monday mix: from {args.start_rate:g} requests/s, x{args.factor:g} "
        f"a step, at most {args.max_steps} steps of {args.step_seconds:g} s; a step holds "
        f"while p99 <= {P99_LIMIT * 1000:.0f} ms and errors <= {ERROR_LIMIT:.0%}"
    )
    if args.only != "postgres":
        await on_sqlite(args)
    if args.only != "sqlite":
        await on_postgresql(args)


if __name__ == "__main__":
    asyncio.run(main())
