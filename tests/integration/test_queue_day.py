"""A day at the mairie as it really goes, on both databases with the clock injected: late
arrivals, the closed mairie and closing time, numbers in issue order, and a facilitator
who issues tickets where one agent does both jobs."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.booking.commands import mark_missed
from app.config import Settings
from app.db import Database
from app.queue.models import TicketEvent
from app.scheduler import Scheduler
from tests.conftest import STAFF_PASSWORD, Clock, Staff
from tests.post import Post, desk_of, walk_in

pytestmark = pytest.mark.usefixtures("tuesday_morning")
SITE = "/api/v1/sites/paris-15"
ADMIN = "/api/v1/admin/sites/paris-15"


@pytest.fixture
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:00")


class Desk:
    """Reception, a facilitator and the manager of paris-15, and its first station."""

    def __init__(self, client: AsyncTestClient[Any], staff: Staff) -> None:
        self.client = client
        self.staff = staff
        self.reception: dict[str, str] = {}
        self.facilitator: dict[str, str] = {}
        self.manager: dict[str, str] = {}
        self.station = 0

    async def open(self) -> Desk:
        self.reception = await self.staff.headers("reception", "paris-15")
        self.facilitator = await self.staff.headers("facilitator", "paris-15")
        self.manager = await self.staff.headers("manager", "paris-15")
        site = (await self.client.get(SITE)).json()
        self.station = site["stations"][0]["id"]
        return self

    async def settings(self, **changes: Any) -> None:
        response = await self.client.patch(ADMIN, json=changes, headers=self.manager)
        assert response.status_code == 200, response.text

    async def book(self, start: str, number: int = 1) -> Any:
        response = await self.client.post(
            "/api/v1/appointments",
            json={
                "site": "paris-15",
                "service": "caf",
                "start": start,
                "name": f"Usager {number}",
                "email": f"u{number}@example.org",
            },
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def check_in(self, appointment: dict[str, Any]) -> Any:
        return await self.client.post(
            f"{SITE}/check-ins",
            json={"reference": appointment["reference"]},
            headers=self.reception,
        )

    async def walk_in(self, headers: dict[str, str] | None = None, **fields: Any) -> Any:
        return await self.client.post(
            f"{SITE}/tickets", json={"service": "caf", **fields}, headers=headers or self.reception
        )

    async def call(self) -> Any:
        response = await self.client.post(
            f"/api/v1/stations/{self.station}/call-next", headers=self.facilitator
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def serve(self, ticket: dict[str, Any]) -> None:
        for action in ("start", "finish"):
            response = await self.client.post(
                f"/api/v1/tickets/{ticket['id']}/{action}", headers=self.facilitator
            )
            assert response.status_code == 200, response.text

    async def appointment(self, booked: dict[str, Any]) -> Any:
        return (await self.client.get(f"/api/v1/appointments/{booked['token']}")).json()

    async def figures(self, day: str = "2026-12-01") -> Any:
        response = await self.client.get(
            f"/api/v1/stats?site=paris-15&from={day}&to={day}&by=day", headers=self.manager
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
async def desk(client: AsyncTestClient[Any], staff: Staff) -> Desk:
    return await Desk(client, staff).open()


# Late arrivals


async def test_a_late_arrival_is_checked_in_as_late_served_and_never_counted_a_no_show(
    desk: Desk, clock: Clock, db: Database
) -> None:
    booked = await desk.book("2026-12-01T11:00:00+01:00")
    clock.set("2026-12-01 11:10")
    came_on_time = (await desk.walk_in()).json()
    clock.set("2026-12-01 11:20")

    response = await desk.check_in(booked)

    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["late"] is True
    assert ticket["kind"] == "appointment"
    # The site's rule by default: placed as a walk-in arriving now, behind who came at 11:10.
    assert ticket["due_at"] is None
    assert ticket["position"] == 2
    queue = (await desk.client.get(f"{SITE}/queue", headers=desk.reception)).json()
    assert [t["id"] for t in queue["waiting"]] == [came_on_time["id"], ticket["id"]]
    clock.set("2026-12-01 13:00")
    assert await mark_missed(db, clock()) == 0
    assert (await desk.appointment(booked))["status"] == "checked_in"
    assert (await desk.call())["id"] == came_on_time["id"]
    assert (await desk.call())["id"] == ticket["id"]
    await desk.serve(ticket)
    assert (await desk.appointment(booked))["status"] == "served"
    period = (await desk.figures())["total"]
    assert period["came_late"] == 1
    assert period["no_shows"]["appointments"] == 0


async def test_under_the_grace_rule_a_late_arrival_keeps_the_booked_place_for_the_grace(
    desk: Desk, clock: Clock
) -> None:
    await desk.settings(late_arrival_rule="grace", late_grace_minutes=10)
    clock.set("2026-12-01 08:00")
    within = await desk.book("2026-12-01T11:00:00+01:00", 1)
    beyond = await desk.book("2026-12-01T10:30:00+01:00", 2)
    clock.set("2026-12-01 11:05")
    walk_in = (await desk.walk_in()).json()
    clock.set("2026-12-01 11:20")  # 20 minutes late: 15 of tolerance and 5 of grace

    kept = (await desk.check_in(within)).json()
    clock.set("2026-12-01 11:21")  # 51 minutes late: past the grace
    moved = (await desk.check_in(beyond)).json()

    assert kept["late"] is True
    assert kept["due_at"] == "2026-12-01T11:00:00+01:00"
    assert moved["late"] is True
    assert moved["due_at"] is None
    assert [(await desk.call())["id"] for _ in range(3)] == [kept["id"], walk_in["id"], moved["id"]]


async def test_an_arrival_far_too_late_or_after_closing_is_refused_in_plain_words(
    desk: Desk, clock: Clock
) -> None:
    morning = await desk.book("2026-12-01T11:00:00+01:00", 1)
    last = await desk.book("2026-12-01T16:30:00+01:00", 2)
    clock.set("2026-12-01 12:01")  # the 11:00 ended at 11:30; late arrivals until 12:00

    too_late = await desk.check_in(morning)
    clock.set("2026-12-01 17:01")
    closed = await desk.check_in(last)

    assert too_late.status_code == 409
    assert too_late.json()["code"] == "check_in_too_late"
    assert "ended at 11:30" in too_late.json()["detail"]
    assert "up to 30 minutes after its end" in too_late.json()["detail"]
    assert closed.status_code == 409
    assert closed.json()["code"] == "site_closed"
    assert (await desk.appointment(morning))["status"] == "booked"


async def test_the_reception_console_gives_the_sites_own_check_in_minutes(
    desk: Desk, clock: Clock, client: AsyncTestClient[Any], staff: Staff
) -> None:
    await desk.settings(
        check_in_early_minutes=45, check_in_late_minutes=5, late_check_in_limit_minutes=20
    )
    booked = await desk.book("2026-12-01T11:30:00+01:00")
    email = await staff.agent("reception", "paris-15")
    login = await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert login.status_code == 303
    page = (await client.get("/accueil/paris-15")).text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    clock.set("2026-12-01 10:40")

    refused = await client.post(
        "/accueil/paris-15/arrivees",
        data={"csrf": csrf, "reference": booked["reference"]},
        follow_redirects=True,
    )

    assert "dès 45 minutes avant" in page
    assert "5 minutes après, la personne garde sa place" in page
    assert "20 minutes après la fin du rendez-vous" in page
    assert "au plus tôt 45 minutes avant le rendez-vous" in refused.text
    assert "30 minutes" not in refused.text


# The closed mairie


async def test_no_walk_in_ticket_while_the_mairie_is_closed_unless_staff_force_it_with_a_reason(
    desk: Desk, clock: Clock, db: Database
) -> None:
    clock.set("2026-12-01 21:35")

    refused = await desk.walk_in()
    blank = await desk.walk_in(force_reason="   ")
    forced = await desk.walk_in(force_reason="Permanence du soir pour les élections")

    assert refused.status_code == 409
    assert refused.json()["code"] == "site_closed"
    assert "closed" in refused.json()["detail"]
    assert blank.status_code == 400
    assert forced.status_code == 201, forced.text
    async with db.session() as session:
        event = await session.scalar(
            select(TicketEvent).where(TicketEvent.ticket_id == forced.json()["id"])
        )
        audit = await session.scalar(select(AuditEvent).where(AuditEvent.action == "ticket.issued"))
    assert event is not None
    assert event.reason == "Permanence du soir pour les élections"
    assert audit is not None
    assert audit.details["forced"] is True
    queue = (await desk.client.get(f"{SITE}/queue", headers=desk.reception)).json()
    assert [t["id"] for t in queue["waiting"]] == [forced.json()["id"]]


async def test_the_reception_page_refuses_a_ticket_while_closed_and_forces_one_with_a_reason(
    desk: Desk, clock: Clock, client: AsyncTestClient[Any], staff: Staff
) -> None:
    email = await staff.agent("reception", "paris-15")
    for moment in ("2026-12-01 12:00", "2026-12-01 21:35"):
        clock.set(moment)
        await client.post(
            "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
        )
        if moment.endswith("12:00"):
            open_page = (await client.get("/accueil/paris-15")).text
    page = (await client.get("/accueil/paris-15")).text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]

    refused = await client.post(
        "/accueil/paris-15/tickets", data={"csrf": csrf, "service": "caf"}, follow_redirects=True
    )
    no_reason = await client.post(
        "/accueil/paris-15/tickets",
        data={"csrf": csrf, "service": "caf", "forcer": "oui", "raison": ""},
        follow_redirects=True,
    )
    forced = await client.post(
        "/accueil/paris-15/tickets",
        data={"csrf": csrf, "service": "caf", "forcer": "oui", "raison": "Réunion publique"},
        follow_redirects=True,
    )

    assert 'name="forcer"' not in open_page
    assert 'name="forcer"' in page
    assert "La mairie est fermée" in refused.text
    assert "Ticket <strong" not in refused.text
    assert "Indiquez pourquoi" in no_reason.text
    assert 'Ticket <strong class="big-number">A001</strong>' in forced.text


async def test_at_closing_time_the_tickets_still_waiting_are_closed_and_told_by_text(
    post: Post, db: Database, settings: Settings
) -> None:
    clock = post.clock
    clock.set("2026-12-01 16:00")
    desk = await desk_of(post, db)
    scheduler = Scheduler(db, settings, clock, post.dispatcher, "test")
    clock.set("2026-12-01 16:30")
    being_served = await walk_in(post, desk)
    with_phone = await walk_in(post, desk, phone="06 12 34 56 78")
    without_phone = await walk_in(post, desk)
    called = await post.client.post(
        f"/api/v1/stations/{desk.station}/call-next", headers=desk.facilitator
    )
    assert called.json()["id"] == being_served["id"]
    clock.set("2026-12-01 16:59")
    await scheduler.closing_sweep()
    assert (await post.client.get(f"/api/v1/tickets/{with_phone['token']}")).json()[
        "status"
    ] == "waiting"

    clock.set("2026-12-01 17:00")
    await scheduler.closing_sweep()
    await scheduler.closing_sweep()  # a second round, or another instance: nothing more
    await post.send_due()

    statuses = [
        (await post.client.get(f"/api/v1/tickets/{ticket['token']}")).json()["status"]
        for ticket in (being_served, with_phone, without_phone)
    ]
    assert statuses == ["called", "closed", "closed"]
    assert [sms["to"] for sms in post.sms.received] == ["+33612345678"]
    (text,) = [sms["text"] for sms in post.sms.received]
    assert text.startswith(f"Ticket {with_phone['number']} : la Mairie du 15e")
    assert "ferme" in text
    manager = await Staff(db, post.client).headers("manager", "paris-15")
    stats = await post.client.get(
        "/api/v1/stats?site=paris-15&from=2026-12-01&to=2026-12-01&by=day", headers=manager
    )
    assert stats.json()["total"]["closed"] == 2
    csv = await post.client.get(
        "/api/v1/stats.csv?site=paris-15&from=2026-12-01&to=2026-12-01&by=day",
        headers=manager,
    )
    header, first = csv.text.splitlines()[:2]
    assert first.split(",")[header.split(",").index("closed")] == "2"


# Numbers and roles


async def test_numbers_follow_the_calling_order_whichever_request_read_the_clock_first(
    desk: Desk, clock: Clock
) -> None:
    clock.set("2026-12-01 10:00:05")
    first = (await desk.walk_in()).json()
    # A second request that read the clock earlier but took the queue's lock later.
    clock.set("2026-12-01 10:00:00")
    second = (await desk.walk_in()).json()
    same_instant = [(await desk.walk_in()).json() for _ in range(3)]

    numbers = [t["number"] for t in (first, second, *same_instant)]
    assert numbers == ["A001", "A002", "A003", "A004", "A005"]
    assert [(await desk.call())["number"] for _ in range(5)] == numbers


async def test_a_facilitator_issues_walk_in_tickets_only_where_the_site_allows_it(
    desk: Desk, client: AsyncTestClient[Any], staff: Staff
) -> None:
    refused = await desk.walk_in(desk.facilitator)
    settings = (await client.get(ADMIN, headers=desk.manager)).json()
    await desk.settings(facilitators_issue_tickets=True)
    allowed = await desk.walk_in(desk.facilitator)
    email = await staff.agent("facilitator", "paris-15")
    await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    console = (await client.get(f"/poste/{desk.station}")).text
    csrf = console.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    from_console = await client.post(
        "/accueil/paris-15/tickets",
        data={"csrf": csrf, "service": "caf", "poste": str(desk.station)},
        follow_redirects=False,
    )
    await desk.settings(facilitators_issue_tickets=False)
    refused_again = await client.post(
        "/accueil/paris-15/tickets", data={"csrf": csrf, "service": "caf"}
    )

    assert refused.status_code == 403
    assert settings["facilitators_issue_tickets"] is False
    assert allowed.status_code == 201, allowed.text
    assert "Nouveau ticket sans rendez-vous" in console
    assert from_console.status_code == 303
    assert from_console.headers["location"].startswith(f"/poste/{desk.station}?ticket=")
    shown = (await client.get(from_console.headers["location"])).text
    assert "A002" in shown
    assert refused_again.status_code == 403
