"""What the waiting estimates are worked out from, read in one statement
(`app/queue/forecasts.py`), against the same facts read one by one through the models:
the tickets in line, the stations in service (one out of order left out) with when each
was last seen at work and what it is busy with, each service's latest durations, and the
booked person due later today with the needs of their booking."""

from __future__ import annotations

from datetime import datetime, timedelta

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db import Database
from app.queue import eta, forecasts
from app.queue.models import Ticket
from app.queue.queries import IN_LINE, waiting_of
from app.sites.models import Service, Site, StationOutage
from tests.conftest import Clock, Staff

QUEUE = "/api/v1/sites/paris-15/tickets"


async def test_the_estimates_inputs_read_in_one_statement_are_the_days_facts(
    client: AsyncTestClient[object], staff: Staff, clock: Clock, db: Database
) -> None:
    now = clock.set("2026-12-01 10:00")
    reception = await staff.headers("reception", "paris-15")
    desk = await staff.headers("facilitator", "paris-15")
    site_body = (await client.get("/api/v1/sites/paris-15")).json()
    stations = [s["id"] for s in site_body["stations"]]
    assert len(stations) >= 3

    # A booked person due later today, with needs: a double, accessible station.
    window = {"service": "caf", "from": "2026-12-01", "to": "2026-12-01"}
    window["needs"] = "fauteuil,accompagnement-long"
    offers = (await client.get("/api/v1/sites/paris-15/availability", params=window)).json()
    start = offers["slots"][0]["start"]
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": start,
            "name": "Camille Prévu",
            "email": "camille.prevu@example.org",
            "needs": ["fauteuil", "accompagnement-long"],
        },
    )
    assert booked.status_code == 201, booked.text

    issued = []
    for service, extra in [("caf", {}), ("ants", {"needs": ["fauteuil"]}), ("impots", {})]:
        answer = await client.post(QUEUE, json={"service": service, **extra}, headers=reception)
        assert answer.status_code == 201, answer.text
        issued.append(answer.json())

    # The first station serves someone for seven minutes; the second serves since 10:21.
    first = (await client.post(f"/api/v1/stations/{stations[0]}/call-next", headers=desk)).json()
    clock.now = now + timedelta(minutes=3)
    await client.post(f"/api/v1/tickets/{first['id']}/start", headers=desk)
    clock.now = now + timedelta(minutes=10)
    await client.post(f"/api/v1/tickets/{first['id']}/finish", headers=desk)
    clock.now = now + timedelta(minutes=20)
    second = (await client.post(f"/api/v1/stations/{stations[1]}/call-next", headers=desk)).json()
    clock.now = now + timedelta(minutes=21)
    await client.post(f"/api/v1/tickets/{second['id']}/start", headers=desk)
    clock.now = now + timedelta(minutes=30)
    answer = await client.post(
        QUEUE, json={"service": "caf", "priority": True, "needs": ["fauteuil"]}, headers=reception
    )
    assert answer.status_code == 201, answer.text
    async with db.writing() as session:  # the third is out of order until noon
        session.add(
            StationOutage(
                station_id=stations[2],
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=2),
                reason="écran en panne",
            )
        )

    async with db.session() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-15"))
        assert site is not None
        waiting, inputs = await forecasts.read(session, site, clock.now)
        _none, without = await forecasts.read(session, site, clock.now, in_line=False)
        in_line = await session.scalars(
            select(Ticket).where(Ticket.site_id == site.id, Ticket.status.in_(IN_LINE))
        )
        catalog = {s.code: s for s in await session.scalars(select(Service))}

    assert sorted(waiting, key=lambda w: w.id) == sorted(
        (waiting_of(t) for t in in_line), key=lambda w: w.id
    )
    [latest] = [w for w in waiting if w.id == answer.json()["id"]]
    assert len(waiting) == 2
    assert latest.priority
    assert latest.accessible
    assert without.stations == inputs.stations
    assert without.expected == inputs.expected

    in_service = inputs.stations
    assert len(in_service) == len(stations) - 1  # the one out of order is left out
    served, busy = in_service[0], in_service[1]
    assert served.busy_since is None
    assert served.busy_with is None
    assert served.last_seen == now + timedelta(minutes=10)  # its finish
    assert busy.busy_since == now + timedelta(minutes=21)  # started, a minute after its call
    assert busy.busy_with == catalog[second["service"]].id
    assert busy.last_seen == now + timedelta(minutes=21)
    assert all(s.last_seen is None for s in in_service[2:])

    done = catalog[first["service"]]
    assert inputs.times[done.id] == eta.service_times([7.0], done.duration_minutes)
    assert set(inputs.times) == {s.id for s in catalog.values()}
    others = [s for s in catalog.values() if s.id != done.id]
    assert all(inputs.times[s.id] == eta.service_times([], s.duration_minutes) for s in others)

    [expected] = inputs.expected
    appointment = booked.json()
    assert expected.id < 0
    assert expected.service == catalog["caf"].id
    assert expected.arrived_at == expected.due_at
    assert expected.arrived_at == datetime.fromisoformat(appointment["start"])
    assert (expected.kind, expected.accessible) == ("double", True)
