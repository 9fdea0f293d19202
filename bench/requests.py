"""CPU and SQL statements per request of the Monday routes, in one process: search,
booking, walk-in, call, start, finish, a call when nobody waits (most of a Monday's
calls: stations ask again and again), a screen's state, at the 17 mairies on a Monday
morning (the clock set to 10:00), one request at a time.

The CPU is the process's (`time.process_time`: the event loop, aiosqlite's threads, the
in-process HTTP client), so it reads as an upper bound of the server's. Beside it, the
floor: what the same number of bare driver round trips (`SELECT 1` through aiosqlite or
asyncpg alone) cost. On SQLite, the baseline measured in the same run: the same requests
through SQLAlchemy's own aiosqlite cursor, which makes a call to the connection's thread
for each step of a statement (app/sqlite_driver.py makes one).

Run: .venv/bin/python -m bench.requests [--count 200] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiosqlite
import asyncpg
import httpx
from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi
from sqlalchemy.engine import Engine

from app import schema, sqlite_driver
from app.accounts.service import create_agent
from app.asgi import create_app
from app.config import load_settings
from app.db import Database
from app.sites.demo import STATIONS_PER_SITE, load_demo
from bench import monday
from bench.timing import on_each_database

MONDAY = date(2026, 12, 7)
OPENING = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo("Europe/Paris")).astimezone(UTC)
statements: Counter[str] = Counter()
route = ["setting up"]


@event.listens_for(Engine, "before_cursor_execute")
def _count(*_args: Any) -> None:
    statements[route[0]] += 1


class Morning:
    """The app's clock: Monday 10:00, running ten times slower than real time."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self) -> datetime:
        return OPENING + timedelta(seconds=(time.monotonic() - self.started) / 10)


async def prepare(url: str) -> None:
    """monday.py's town, on Monday the 7th: the demo data, reception and station agents."""
    await asyncio.to_thread(schema.upgrade, url)
    db = Database(url)
    try:
        async with db.writing() as session:
            await load_demo(session, today=MONDAY)
        for slug, stations in STATIONS_PER_SITE.items():
            async with db.writing() as session:
                agents = [(f"accueil.{slug}", "reception")] + [
                    (f"poste{n}.{slug}", "facilitator") for n in range(1, stations + 1)
                ]
                for name, role in agents:
                    await create_agent(
                        session,
                        email=f"{name}@bench.example.org",
                        password=monday.PASSWORD,
                        role=role,
                        site_slugs=[slug],
                    )
    finally:
        await db.dispose()


Send = Callable[[int], Awaitable[httpx.Response]]


async def routes(
    client: httpx.AsyncClient, count: int
) -> tuple[list[tuple[str, int, Send]], list[tuple[int, str]]]:
    """Each route with how many times to send it (-1: once per ticket called), and the
    tickets called."""
    rng = random.Random(7)
    found = await monday.staff([client])
    slugs = [mairie.slug for mairie, _tokens in found]
    desks = [
        (station_id, token)
        for mairie, tokens in found
        for (station_id, _name), token in zip(mairie.stations, tokens, strict=True)
    ]
    called: list[tuple[int, str]] = []

    async def search(n: int) -> httpx.Response:
        window = {
            "service": monday.weighted(rng, monday.BOOKED_SERVICES),
            "from": MONDAY.isoformat(),
            "to": (MONDAY + timedelta(days=monday.SEARCH_DAYS - 1)).isoformat(),
        }
        return await client.get(
            f"/api/v1/sites/{slugs[n % len(slugs)]}/availability", params=window
        )

    slots = []
    for n in range(60):  # slots spread over the fortnight, each booked once
        answer = await search(n)
        service = answer.request.url.params["service"]
        slots += [
            (slugs[n % len(slugs)], service, s["start"]) for s in answer.json()["slots"][20::15]
        ]
    rng.shuffle(slots)

    async def book(n: int) -> httpx.Response:
        slug, service, start = slots[n]
        who = {"name": f"Mesure {n}", "email": f"mesure.{n}@example.org", "channel": "online"}
        body = {"site": slug, "service": service, "start": start, **who}
        return await client.post("/api/v1/appointments", json=body)

    async def walk_in(n: int) -> httpx.Response:
        mairie = found[n % len(found)][0]
        body = {"service": monday.weighted(rng, monday.WALK_IN_SERVICES)}
        url = f"/api/v1/sites/{mairie.slug}/tickets"
        return await client.post(url, json=body, headers=monday.headers(mairie.reception))

    async def call(n: int) -> httpx.Response:
        station_id, token = desks[n % len(desks)]
        url = f"/api/v1/stations/{station_id}/call-next"
        answer = await client.post(url, headers=monday.headers(token))
        if answer.status_code == 200:
            called.append((answer.json()["id"], token))
        return answer

    def move(action: str) -> Send:
        async def moved(n: int) -> httpx.Response:
            ticket_id, token = called[n % len(called)]
            url = f"/api/v1/tickets/{ticket_id}/{action}"
            return await client.post(url, headers=monday.headers(token))

        return moved

    async def screen(n: int) -> httpx.Response:
        return await client.get(f"/api/v1/sites/{slugs[n % len(slugs)]}/display")

    return [
        ("search    GET  /sites/{slug}/availability", count, search),
        ("book      POST /appointments", min(count, len(slots)), book),
        ("walk-in   POST /sites/{slug}/tickets", count, walk_in),
        ("call      POST /stations/{id}/call-next", count, call),
        ("start     POST /tickets/{id}/start", -1, move("start")),
        ("finish    POST /tickets/{id}/finish", -1, move("finish")),
        ("idle call POST /stations/{id}/call-next", count, call),
        ("screen    GET  /sites/{slug}/display", count, screen),
    ], called


async def per_request(url: str, count: int) -> dict[str, tuple[int, float, float, str]]:
    """Per route: requests, CPU ms and statements per request, statuses."""
    environ = dict(monday.ALLOWED_FROM_ONE_ADDRESS)
    overrides = {"database_url": url, "secret_key": "b" * 64, "scheduler": False}
    settings = load_settings(environ=environ, overrides=overrides | {"log_level": "WARNING"})
    app = create_app(settings, clock=Morning())
    figures = {}
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 50000))  # type: ignore[arg-type]
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1", timeout=60
        ) as client:
            listed, called = await routes(client, count)
            for name, asked, send in listed:
                times = asked if asked >= 0 else len(called)
                route[0] = name
                before, cpu = statements[name], time.process_time()
                statuses = Counter([(await send(n)).status_code for n in range(times)])
                spent = time.process_time() - cpu
                shown = " ".join(f"{k}:{v}" for k, v in sorted(statuses.items()))
                done = max(1, times)
                figures[name] = (
                    times,
                    spent * 1000 / done,
                    (statements[name] - before) / done,
                    shown,
                )
    return figures


async def bare_round_trip(url: str, rounds: int = 2000) -> float:
    """CPU ms of one `SELECT 1` through the driver alone."""
    if url.startswith("sqlite"):
        async with aiosqlite.connect(url.split(":///", 1)[1]) as connection:
            started = time.process_time()
            for _ in range(rounds):
                async with connection.execute("SELECT 1") as cursor:
                    await cursor.fetchall()
            return (time.process_time() - started) * 1000 / rounds
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        started = time.process_time()
        for _ in range(rounds):
            await connection.fetch("SELECT 1")
        return (time.process_time() - started) * 1000 / rounds
    finally:
        await connection.close()


def stock() -> sqlite_driver.OneCallDBAPI:
    """SQLAlchemy's own aiosqlite module (typed as the one it stands in for)."""
    return AsyncAdapt_aiosqlite_dbapi(aiosqlite, sqlite3)  # type: ignore[return-value]


async def warm_up(url: str, label: str) -> None:
    """A few requests of each route on a copy first: the process's caches (compiled
    statements, templates) are then as warm for the baseline as for the measure."""
    if label == "sqlite":
        path = Path(url.split(":///", 1)[1])
        copy = path.with_name("warm.db")
        shutil.copy(path, copy)
        await per_request(f"sqlite+aiosqlite:///{copy}", 20)
        return
    database = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await admin.execute(f'CREATE DATABASE "{database}_warm" TEMPLATE "{database}"')
    finally:
        await admin.close()
    try:
        await per_request(f"{url}_warm", 20)
    finally:
        admin = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}_warm" WITH (FORCE)')
        finally:
            await admin.close()


async def measure(url: str, label: str, count: int) -> None:
    await prepare(url)
    bare = await bare_round_trip(url)
    await warm_up(url, label)
    baseline = None
    if label == "sqlite":  # the same requests on a copy, through SQLAlchemy's own cursor
        path = Path(url.split(":///", 1)[1])
        copy = path.with_name("stock.db")
        shutil.copy(path, copy)
        one_call = sqlite_driver.dbapi
        sqlite_driver.dbapi = stock
        try:
            baseline = await per_request(f"sqlite+aiosqlite:///{copy}", count)
        finally:
            sqlite_driver.dbapi = one_call
    figures = await per_request(url, count)
    print(f"\n{label}: one request at a time; floor: {bare:.3f} ms of CPU per bare statement")
    header = f"  {'route':<42} {'count':>5} {'statuses':<16} {'stmts':>5} {'CPU ms':>7}"
    print(header + f" {'floor':>6}" + (f" {'stock cursor':>12}" if baseline else ""))
    total = spent = 0.0
    total_before = 0.0
    for name, (times, cpu, per, shown) in figures.items():
        extra = f" {baseline[name][1]:>12.2f}" if baseline else ""
        print(
            f"  {name:<42} {times:>5} {shown:<16} {per:>5.1f} {cpu:>7.2f} {per * bare:>6.2f}{extra}"
        )
        total += times
        spent += times * cpu
        if baseline:
            total_before += baseline[name][0] * baseline[name][1]
    line = (
        f"  {'all, weighted by count':<42} {int(total):>5} {'':<16} {'':>5} {spent / total:>7.2f}"
    )
    if baseline:
        before = total_before / sum(figure[0] for figure in baseline.values())
        line += f" {'':>6} {before:>12.2f}"
    print(line)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    await on_each_database(lambda url, label: measure(url, label, args.count), args.postgres)


if __name__ == "__main__":
    asyncio.run(main())
