"""What the queue does at its edges, on both databases with the clock injected: the booked
person who never came to the desk, yesterday's ticket left waiting when the sweep did not
run, a person's erasure at one mairie only, and the staff session's CSRF token on a DELETE."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db import Database
from app.notify.models import OutboxMessage
from app.queue import closing as queue
from app.queue.models import Ticket
from app.visits.models import Visit
from tests.conftest import Clock, Staff
from tests.integration.test_staff_pages import csrf_of
from tests.integration.test_staff_sessions import log_in
from tests.post import Post, desk_of, serve, walk_in

CLIENT = AsyncTestClient[object]
SITE = "/api/v1/sites/paris-15"
ADMIN = "/api/v1/admin/sites/paris-15"


class Desk:
    """Reception and a facilitator of one mairie, and its first station."""

    def __init__(self, client: CLIENT, staff: Staff, slug: str = "paris-15") -> None:
        self.client = client
        self.staff = staff
        self.slug = slug
        self.reception: dict[str, str] = {}
        self.facilitator: dict[str, str] = {}
        self.station = 0

    async def open(self) -> Desk:
        self.reception = await self.staff.headers("reception", self.slug)
        self.facilitator = await self.staff.headers("facilitator", self.slug)
        site = (await self.client.get(f"/api/v1/sites/{self.slug}")).json()
        self.station = site["stations"][0]["id"]
        return self

    async def book(self, start: str, name: str) -> Any:
        response = await self.client.post(
            "/api/v1/appointments",
            json={
                "site": self.slug,
                "service": "caf",
                "start": start,
                "name": name,
                "email": f"{name.lower()}@example.org",
            },
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def check_in(self, booked: dict[str, Any]) -> Any:
        response = await self.client.post(
            f"/api/v1/sites/{self.slug}/check-ins",
            json={"reference": booked["reference"]},
            headers=self.reception,
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def walk_in(self, **fields: Any) -> Any:
        response = await self.client.post(
            f"/api/v1/sites/{self.slug}/tickets",
            json={"service": "caf", **fields},
            headers=self.reception,
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def call(self) -> Any:
        return await self.client.post(
            f"/api/v1/stations/{self.station}/call-next", headers=self.facilitator
        )

    async def act(self, ticket: dict[str, Any], action: str) -> Any:
        response = await self.client.post(
            f"/api/v1/tickets/{ticket['id']}/{action}", headers=self.facilitator
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def appointment(self, booked: dict[str, Any]) -> Any:
        return (await self.client.get(f"/api/v1/appointments/{booked['token']}")).json()

    async def ticket(self, issued: dict[str, Any]) -> Any:
        return (await self.client.get(f"/api/v1/tickets/{issued['token']}")).json()


@pytest.fixture
async def desk(client: CLIENT, staff: Staff, clock: Clock) -> Desk:
    # The day before, late enough for the staff's tokens (a day long) to last the next day.
    clock.set("2026-11-30 16:00")
    return await Desk(client, staff).open()


# The booked person who did not come when called


async def test_a_no_show_at_the_desk_makes_the_checked_in_appointment_a_no_show(
    desk: Desk, clock: Clock
) -> None:
    booked = await desk.book("2026-12-01T10:00:00+01:00", "Ada")
    clock.set("2026-12-01 09:55")
    ticket = await desk.check_in(booked)
    assert (await desk.appointment(booked))["status"] == "checked_in"
    called = await desk.call()
    assert called.json()["id"] == ticket["id"]

    absent = await desk.act(ticket, "no-show")

    assert absent["status"] == "no_show"
    assert (await desk.appointment(booked))["status"] == "no_show"


async def test_giving_up_after_the_last_call_makes_the_checked_in_appointment_a_no_show(
    desk: Desk, clock: Clock
) -> None:
    booked = await desk.book("2026-12-01T10:00:00+01:00", "Ada")
    clock.set("2026-12-01 09:55")
    ticket = await desk.check_in(booked)
    called = await desk.call()
    assert called.json()["id"] == ticket["id"]

    calls = [await desk.act(ticket, "recall") for _ in range(3)]  # the site's 3 calls

    assert [c["status"] for c in calls] == ["called", "called", "no_show"]
    assert (await desk.appointment(booked))["status"] == "no_show"


# Yesterday's ticket, left waiting when the closing sweep did not run


async def test_a_ticket_left_waiting_from_yesterday_is_neither_called_nor_counted_today(
    desk: Desk, clock: Clock
) -> None:
    yesterdays = await desk.walk_in()  # on Monday at 16:00, and no sweep ran after it
    clock.set("2026-12-01 09:00")

    todays = await desk.walk_in()
    tracked = await desk.ticket(todays)
    line = (await desk.client.get(f"{SITE}/queue", headers=desk.reception)).json()
    first = await desk.call()
    second = await desk.call()

    assert first.status_code == 200, first.text
    assert first.json()["id"] == todays["id"]
    assert second.status_code == 204, second.text
    assert todays["position"] == 1
    assert tracked["position"] == 1
    assert [t["id"] for t in line["waiting"]] == [todays["id"]]
    assert (await desk.ticket(yesterdays))["status"] == "waiting"


async def test_yesterdays_ticket_closed_by_todays_sweep_gets_no_closing_text(
    post: Post, db: Database
) -> None:
    post.clock.set("2026-11-30 16:55")
    desk = await desk_of(post, db)
    yesterdays = await walk_in(post, desk, phone="06 11 11 11 11")
    post.clock.set("2026-12-01 16:30")
    todays = await walk_in(post, desk, phone="06 22 22 22 22")

    post.clock.set("2026-12-01 17:00")
    closed = await queue.close_waiting(db, post.clock())
    await post.send_due()

    assert closed == 2
    for ticket in (yesterdays, todays):
        tracked = await post.client.get(f"/api/v1/tickets/{ticket['token']}")
        assert tracked.json()["status"] == "closed"
    async with db.session() as session:
        told = list(
            await session.scalars(
                select(OutboxMessage.ticket_id).where(OutboxMessage.kind == "queue_closed")
            )
        )
    assert sorted(told) == [todays["id"]]
    assert [sms["to"] for sms in post.sms.received] == ["+33622222222"]


# Erasure at one mairie


async def test_erasing_a_phone_at_one_mairie_leaves_its_walk_in_at_another_mairie_whole(
    post: Post, db: Database
) -> None:
    post.clock.set("2026-12-01 10:00")
    paris_15 = await desk_of(post, db)
    staff = Staff(db, post.client, created=20)
    paris_20 = await Desk(post.client, staff, "paris-20").open()
    here = await walk_in(post, paris_15, phone="06 12 34 56 78")
    await serve(post, paris_15, outcome="solved", note="Ada, à Vaugirard")
    there = await paris_20.walk_in(phone="06 12 34 56 78")
    called = await paris_20.call()
    assert called.json()["id"] == there["id"]
    await paris_20.act(there, "start")
    finished = await post.client.post(
        f"/api/v1/tickets/{there['id']}/finish",
        json={"outcome": "solved", "note": "Ada, à Gambetta"},
        headers=paris_20.facilitator,
    )
    assert finished.status_code == 200, finished.text
    manager = await staff.headers("manager", "paris-15")

    erased = await post.client.post(
        "/api/v1/admin/people/erase", json={"phone": "06 12 34 56 78"}, headers=manager
    )

    async with db.session() as session:
        tickets = {t.id: t for t in await session.scalars(select(Ticket))}
        notes = {v.ticket_id: v.note for v in await session.scalars(select(Visit))}
        messages = list(await session.scalars(select(OutboxMessage)))
    assert erased.status_code == 200, erased.text
    assert tickets[here["id"]].phone is None
    assert notes[here["id"]] == ""
    assert tickets[there["id"]].phone == "+33612345678"
    assert notes[there["id"]] == "Ada, à Gambetta"
    mine = [m for m in messages if m.ticket_id == here["id"]]
    theirs = [m for m in messages if m.ticket_id == there["id"]]
    assert mine
    assert theirs
    assert all((m.recipient, m.data) == ("", {}) for m in mine)
    assert all(m.recipient == "+33612345678" and m.data for m in theirs)
    assert erased.json()["sites"] == ["paris-15"]
    assert erased.json()["tickets"] == 1


# The staff session's CSRF token on a DELETE


async def test_a_delete_with_the_session_cookie_needs_the_sessions_csrf_token(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    """The API takes the staff session cookie as well as a bearer token: a DELETE that the
    cookie alone carries (no page sends one) is refused without the session's token."""
    clock.set("2026-12-01 09:00")
    email = await staff.agent("manager", "paris-15")
    await log_in(client, email)
    console = await client.get("/console")
    assert console.status_code == 200, console.text
    token = csrf_of(console.text)
    same_origin = {"sec-fetch-site": "same-origin"}
    added = await client.post(
        f"{ADMIN}/closures",
        json={
            "starts_at": "2026-12-10T08:00:00+01:00",
            "ends_at": "2026-12-10T20:00:00+01:00",
            "reason": "Élections",
        },
        headers={**same_origin, "x-csrf-token": token},
    )
    assert added.status_code == 201, added.text
    closure = added.json()["closure"]["id"]
    path = f"{ADMIN}/closures/{closure}"

    without = await client.delete(path, headers=same_origin)
    still = (await client.get(f"{ADMIN}/closures")).json()
    made_up = await client.delete(path, headers={**same_origin, "x-csrf-token": "0" * 64})
    with_token = await client.delete(path, headers={**same_origin, "x-csrf-token": token})
    after = (await client.get(f"{ADMIN}/closures")).json()

    assert without.status_code == 403, without.text
    assert without.json()["code"] == "form_expired"
    assert [c["id"] for c in still] == [closure]
    assert made_up.status_code == 403, made_up.text
    assert with_token.status_code == 204, with_token.text
    assert after == []
