"""Running a mairie through the API, on both databases: settings checked in plain words,
stations and their outages, weekly hours, dated exceptions and closures; what each change
does to booked appointments, to the messages people get, to the slots offered and to the
audit log."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.config import Settings
from app.db import Database
from app.notify.models import OutboxMessage
from tests.conftest import Clock, Staff, make_settings

pytestmark = pytest.mark.usefixtures("monday_morning")

ADMIN = "/api/v1/admin/sites"
THURSDAY = "2026-12-03"
FRIDAY = "2026-12-04"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """These tests book more than a person could in a minute from one address."""
    return make_settings(database_url, booking_requests_per_minute=1000)


@pytest.fixture
def monday_morning(clock: Clock) -> None:
    clock.set("2026-11-30 08:00")


@pytest.fixture
async def manager(staff: Staff) -> dict[str, str]:
    return await staff.headers("manager", "paris-15")


class Bookings:
    """Books appointments at paris-15, each for a person of their own."""

    def __init__(self, client: AsyncTestClient[object]) -> None:
        self.client = client
        self.count = 0

    async def book(self, when: str, service: str = "caf", **fields: Any) -> dict[str, Any]:
        self.count += 1
        body = {
            "site": "paris-15",
            "service": service,
            "start": when,
            "name": f"Usager {self.count}",
            "email": f"usager{self.count}@example.org",
            **fields,
        }
        response = await self.client.post("/api/v1/appointments", json=body)
        assert response.status_code == 201, response.text
        booked: dict[str, Any] = response.json()
        return booked

    async def station_of(self, booked: dict[str, Any]) -> str:
        response = await self.client.get(f"/api/v1/appointments/{booked['token']}")
        name: str = response.json()["station"]["name"]
        return name


@pytest.fixture
def bookings(client: AsyncTestClient[object]) -> Bookings:
    return Bookings(client)


async def starts(client: AsyncTestClient[object], day: str, service: str = "caf") -> list[str]:
    """The local times of day (HH:MM) the availability API offers on `day`."""
    response = await client.get(
        "/api/v1/sites/paris-15/availability", params={"service": service, "from": day, "to": day}
    )
    assert response.status_code == 200, response.text
    return [slot["start"][11:16] for slot in response.json()["slots"]]


async def last_message_id(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.max(OutboxMessage.id))) or 0)


async def messages_since(db: Database, after: int) -> list[OutboxMessage]:
    async with db.session() as session:
        query = select(OutboxMessage).where(OutboxMessage.id > after).order_by(OutboxMessage.id)
        return list(await session.scalars(query))


async def audit_actions(db: Database, action: str) -> list[str]:
    """The audit log's events of `action`, in order."""
    async with db.session() as session:
        query = select(AuditEvent.action).where(AuditEvent.action == action)
        return list(await session.scalars(query.order_by(AuditEvent.id)))


async def station_ids(client: AsyncTestClient[object], headers: dict[str, str]) -> dict[str, int]:
    response = await client.get(f"{ADMIN}/paris-15/stations", headers=headers)
    assert response.status_code == 200, response.text
    return {station["name"]: station["id"] for station in response.json()}


# Settings


async def test_a_manager_reads_and_changes_their_mairies_settings(
    client: AsyncTestClient[object], manager: dict[str, str]
) -> None:
    before = await client.get(f"{ADMIN}/paris-15", headers=manager)
    changed = await client.patch(
        f"{ADMIN}/paris-15",
        json={"walk_in_percent": 40, "reminder_hours": [48, 2], "sms_quiet_from": "21:30"},
        headers=manager,
    )
    after = await client.get(f"{ADMIN}/paris-15", headers=manager)

    assert before.status_code == 200
    assert before.json()["walk_in_percent"] == 30
    assert before.json()["sms_quiet_until"] == "08:00"
    assert changed.status_code == 200, changed.text
    assert after.json()["walk_in_percent"] == 40
    assert after.json()["reminder_hours"] == [48, 2]
    assert after.json()["sms_quiet_from"] == "21:30"
    assert after.json()["booking_horizon_days"] == 60


@pytest.mark.parametrize(
    ("body", "key", "words"),
    [
        ({"walk_in_percent": 150}, "walk_in_percent", "<= 100"),
        ({"reminder_hours": [24, 24]}, "reminder_hours", "different time"),
        ({"reminder_hours": [200]}, "reminder_hours", "<= 168"),
        ({"reminder_hours": [48, 24, 2, 1]}, "reminder_hours", "length <= 3"),
        (
            {"booking_min_notice_minutes": 2880, "booking_horizon_days": 1},
            "booking_min_notice_minutes",
            "shorter than how far ahead",
        ),
        ({"sms_quiet_from": "25:00"}, "sms_quiet_from", "HH:MM"),
        ({"colour": "blue"}, "colour", "unknown"),
        ({"no_show_after_calls": "three"}, "no_show_after_calls", "int"),
    ],
)
async def test_a_setting_out_of_bounds_gets_400_saying_which_and_why_and_changes_nothing(
    client: AsyncTestClient[object],
    manager: dict[str, str],
    body: dict[str, Any],
    key: str,
    words: str,
) -> None:
    response = await client.patch(f"{ADMIN}/paris-15", json=body, headers=manager)
    after = await client.get(f"{ADMIN}/paris-15", headers=manager)

    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    errors = problem["errors"]
    assert any(key in str(error.get("key", "")) + error["message"] for error in errors), problem
    assert words.lower() in (problem["detail"] + str(errors)).lower(), problem
    assert after.json()["walk_in_percent"] == 30
    assert after.json()["reminder_hours"] == [24, 2]


async def test_changing_reminder_hours_replans_the_reminders_of_appointments_to_come(
    client: AsyncTestClient[object], manager: dict[str, str], bookings: Bookings, db: Database
) -> None:
    booked = await bookings.book(f"{FRIDAY}T10:00:00+01:00")

    response = await client.patch(
        f"{ADMIN}/paris-15", json={"reminder_hours": [48, 2]}, headers=manager
    )
    async with db.session() as session:
        pending = Counter(
            (await session.scalars(
                select(OutboxMessage.kind).where(
                    OutboxMessage.data["reference"].as_string() == booked["reference"],
                    OutboxMessage.status == "pending",
                )
            )).all()
        )  # fmt: skip

    assert response.status_code == 200, response.text
    assert pending == {"confirmation": 1, "reminder_48h": 1, "reminder_2h": 1}


# Who may


async def test_a_manager_runs_only_their_own_mairies_and_other_roles_none(
    client: AsyncTestClient[object], staff: Staff, manager: dict[str, str]
) -> None:
    reception = await staff.headers("reception", "paris-15")
    admin = await staff.headers("admin")
    attempts = [
        await client.get(f"{ADMIN}/paris-20", headers=manager),
        await client.patch(f"{ADMIN}/paris-20", json={"walk_in_percent": 10}, headers=manager),
        await client.post(f"{ADMIN}/paris-20/stations", json={"name": "Poste 9"}, headers=manager),
        await client.put(f"{ADMIN}/paris-20/hours/thu", json={"ranges": []}, headers=manager),
        await client.get(f"{ADMIN}/paris-15", headers=reception),
    ]
    own = await client.get(ADMIN, headers=manager)
    everything = await client.get(ADMIN, headers=admin)
    by_admin = await client.patch(f"{ADMIN}/paris-20", json={"walk_in_percent": 10}, headers=admin)
    anonymous = await client.get(f"{ADMIN}/paris-15")

    assert [a.status_code for a in attempts] == [403] * 5
    assert "Mairie du 20e" in attempts[0].json()["detail"]
    assert [site["slug"] for site in own.json()] == ["paris-15"]
    assert len(everything.json()) == 17
    assert by_admin.status_code == 200
    assert anonymous.status_code == 401


async def test_each_change_writes_one_audit_event_without_personal_data(
    client: AsyncTestClient[object], manager: dict[str, str], bookings: Bookings, db: Database
) -> None:
    friday = await bookings.book(f"{FRIDAY}T10:00:00+01:00")
    holder = await bookings.station_of(friday)
    stations = await station_ids(client, manager)
    calls = [
        client.patch(f"{ADMIN}/paris-15", json={"walk_in_percent": 35}, headers=manager),
        client.post(
            f"{ADMIN}/paris-15/stations",
            json={"name": "Poste 7", "kind": "double", "accessible": True},
            headers=manager,
        ),
        client.patch(
            f"{ADMIN}/paris-15/stations/{stations['Poste 3']}",
            json={"name": "Poste 3 bis"},
            headers=manager,
        ),
        client.post(
            f"{ADMIN}/paris-15/outages",
            json={
                "station_id": stations["Poste 2"],
                "starts_at": f"{FRIDAY}T08:00:00+01:00",
                "ends_at": f"{FRIDAY}T12:00:00+01:00",
                "reason": "Écran cassé",
            },
            headers=manager,
        ),
        client.put(
            f"{ADMIN}/paris-15/hours/thu",
            json={
                "ranges": [
                    {"opens": "08:30", "closes": "12:00"},
                    {"opens": "13:00", "closes": "19:30"},
                ]
            },
            headers=manager,
        ),
        client.put(
            f"{ADMIN}/paris-15/hours-exceptions/2026-12-24",
            json={"ranges": [{"opens": "08:30", "closes": "12:00"}], "reason": "Veille de Noël"},
            headers=manager,
        ),
        client.delete(f"{ADMIN}/paris-15/hours-exceptions/2026-12-24", headers=manager),
        client.post(
            f"{ADMIN}/paris-15/closures",
            json={
                "starts_at": "2026-12-10T08:00:00+01:00",
                "ends_at": "2026-12-10T20:00:00+01:00",
                "reason": "Élections",
            },
            headers=manager,
        ),
    ]
    answers = [await call for call in calls]
    closure = answers[-1].json()["closure"]["id"]
    outage = answers[3].json()["outage"]["id"]
    answers.append(await client.delete(f"{ADMIN}/paris-15/closures/{closure}", headers=manager))
    answers.append(await client.delete(f"{ADMIN}/paris-15/outages/{outage}", headers=manager))
    moved_to = await bookings.station_of(friday)
    async with db.session() as session:
        events = list(
            await session.scalars(
                select(AuditEvent)
                .where(~AuditEvent.action.startswith("auth."))
                .where(~AuditEvent.action.startswith("appointment."))
                .order_by(AuditEvent.id)
            )
        )

    assert [a.status_code for a in answers] == [200, 201, 200, 201, 200, 200, 204, 201, 204, 204]
    assert [event.action for event in events] == [
        "site.settings_changed",
        "station.created",
        "station.changed",
        "station.out_of_service",
        "hours.changed",
        "hours_exception.added",
        "hours_exception.deleted",
        "closure.added",
        "closure.deleted",
        "station.back_in_service",
    ]
    assert {event.agent_id for event in events} != {None}
    assert all(event.target for event in events)
    assert events[0].details["walk_in_percent"] == 35
    assert events[4].details["ranges"] == ["08:30-12:00", "13:00-19:30"]
    # Friday 10:00 was on Poste 2, out then: moved to the next free one, renamed before.
    assert (holder, moved_to) == ("Poste 2", "Poste 3 bis")
    assert (events[3].details["kept"], events[3].details["to_reschedule"]) == (
        [friday["reference"]],
        [],
    )
    for event in events:
        assert "@" not in str(event.details)
        assert "Usager" not in str(event.details)


# Stations


async def test_stations_are_added_renamed_and_kept_apart_by_name(
    client: AsyncTestClient[object], manager: dict[str, str]
) -> None:
    added = await client.post(
        f"{ADMIN}/paris-15/stations",
        json={"name": "  Poste   7 ", "kind": "double", "accessible": True},
        headers=manager,
    )
    same_name = await client.post(
        f"{ADMIN}/paris-15/stations", json={"name": "poste 7"}, headers=manager
    )
    bad_kind = await client.post(
        f"{ADMIN}/paris-15/stations", json={"name": "Poste 8", "kind": "triple"}, headers=manager
    )
    elsewhere = await client.patch(
        f"{ADMIN}/paris-15/stations/999999", json={"name": "X"}, headers=manager
    )
    listed = await station_ids(client, manager)

    assert added.status_code == 201, added.text
    assert added.json() | {"id": 0} == {
        "id": 0,
        "name": "Poste 7",
        "kind": "double",
        "accessible": True,
        "active": True,
        "position": 7,
    }
    assert same_name.status_code == 409
    assert bad_kind.status_code == 400
    assert elsewhere.status_code == 404
    assert "Poste 7" in listed


async def test_a_new_station_adds_capacity_to_the_slots_offered(
    client: AsyncTestClient[object], manager: dict[str, str], bookings: Bookings
) -> None:
    for _ in range(6):
        await bookings.book(f"{THURSDAY}T10:00:00+01:00")
    full = await starts(client, THURSDAY)

    await client.post(f"{ADMIN}/paris-15/stations", json={"name": "Poste 7"}, headers=manager)
    more = await starts(client, THURSDAY)

    assert "10:00" not in full
    assert "10:00" in more


async def test_a_double_station_turned_standard_hands_its_long_appointments_to_another(
    client: AsyncTestClient[object], manager: dict[str, str], bookings: Bookings, db: Database
) -> None:
    first = await bookings.book(f"{THURSDAY}T10:00:00+01:00", service="logement")
    second = await bookings.book(f"{THURSDAY}T10:00:00+01:00", service="logement")
    stations = await station_ids(client, manager)
    holder = await bookings.station_of(first)
    before = await last_message_id(db)

    response = await client.patch(
        f"{ADMIN}/paris-15/stations/{stations[holder]}", json={"kind": "standard"}, headers=manager
    )
    told = await messages_since(db, before)

    assert {holder, await bookings.station_of(second)} == {"Poste 5", "Poste 6"}
    assert response.status_code == 200, response.text
    assert response.json()["kept"] == []
    assert [item["reference"] for item in response.json()["to_reschedule"]] == [first["reference"]]
    assert [(m.kind, m.data["reference"]) for m in told] == [
        ("cannot_take_place", first["reference"])
    ]


# A station out of service


async def test_a_station_out_for_a_day_moves_what_it_can_lists_the_rest_and_tells_each_once(
    client: AsyncTestClient[object],
    manager: dict[str, str],
    staff: Staff,
    bookings: Bookings,
    clock: Clock,
    db: Database,
) -> None:
    on_poste_2 = {}
    for hour in ("09:00", "09:30", "10:00", "10:30", "11:00"):
        on_poste_2[hour] = await bookings.book(f"{THURSDAY}T{hour}:00+01:00")
    # At 9:00 and 9:30 every other station is taken; at 10:30 only the double ones are free.
    for hour, others in (("09:00", 5), ("09:30", 5), ("10:30", 3)):
        for _ in range(others):
            await bookings.book(f"{THURSDAY}T{hour}:00+01:00")
    # At noon only Poste 2 is free.
    noon = [await bookings.book(f"{THURSDAY}T12:00:00+01:00") for _ in range(6)]
    await client.post(f"/api/v1/appointments/{noon[0]['token']}/cancel")
    holders = {await bookings.station_of(b) for b in on_poste_2.values()}
    stations = await station_ids(client, manager)
    offered_before = await starts(client, THURSDAY)
    before = await last_message_id(db)
    outage = {
        "station_id": stations["Poste 2"],
        "starts_at": f"{THURSDAY}T00:00:00+01:00",
        "ends_at": f"{FRIDAY}T00:00:00+01:00",
        "reason": "Écran en panne",
    }

    response = await client.post(f"{ADMIN}/paris-15/outages", json=outage, headers=manager)
    told = await messages_since(db, before)
    offered_during = await starts(client, THURSDAY)
    again = await client.post(f"{ADMIN}/paris-15/outages", json=outage, headers=manager)
    told_again = await messages_since(db, before)
    still = await client.get(f"{ADMIN}/paris-15/appointments-to-reschedule", headers=manager)

    assert holders == {"Poste 2"}
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["outage"]["station"] == {"id": stations["Poste 2"], "name": "Poste 2"}
    assert [(item["start"][11:16], item["previous_station"], item["station"]["name"])
            for item in body["kept"]] == [
        ("10:00", "Poste 2", "Poste 3"),
        ("10:30", "Poste 2", "Poste 5"),
        ("11:00", "Poste 2", "Poste 3"),
    ]  # fmt: skip
    assert [(item["reference"], item["start"], item["service_name"])
            for item in body["to_reschedule"]] == [
        (on_poste_2["09:00"]["reference"], f"{THURSDAY}T09:00:00+01:00", "Démarches CAF en ligne"),
        (on_poste_2["09:30"]["reference"], f"{THURSDAY}T09:30:00+01:00", "Démarches CAF en ligne"),
    ]  # fmt: skip
    # The five on Poste 2 were booked first, by usager1 to usager5. (Those moved take a
    # new version, whose reminders are planned again: they are not told anything more.)
    assert Counter((m.recipient, m.kind) for m in told if not m.kind.startswith("reminder_")) == {
        ("usager1@example.org", "cannot_take_place"): 1,
        ("usager2@example.org", "cannot_take_place"): 1,
        ("usager3@example.org", "station_changed"): 1,
        ("usager4@example.org", "station_changed"): 1,
        ("usager5@example.org", "station_changed"): 1,
    }
    assert [await bookings.station_of(b) for b in on_poste_2.values()] == [
        "Poste 2",
        "Poste 2",
        "Poste 3",
        "Poste 5",
        "Poste 3",
    ]
    assert "12:00" in offered_before
    assert "12:00" not in offered_during
    assert again.status_code == 201
    assert again.json()["kept"] == []
    assert again.json()["to_reschedule"] == []  # already called off, each person told once
    assert [m.id for m in told_again] == [m.id for m in told]
    assert [item["reference"] for item in still.json()] == [
        on_poste_2["09:00"]["reference"],
        on_poste_2["09:30"]["reference"],
    ]

    clock.set(f"{THURSDAY} 10:00")
    facilitator = await staff.headers("facilitator", "paris-15")
    refused = await client.post(
        f"/api/v1/stations/{stations['Poste 2']}/call-next", headers=facilitator
    )
    elsewhere = await client.post(
        f"/api/v1/stations/{stations['Poste 4']}/call-next", headers=facilitator
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "station_out_of_service"
    assert elsewhere.status_code == 204  # not refused: nobody is waiting yet


async def test_an_outage_that_does_not_hold_together_is_refused(
    client: AsyncTestClient[object], manager: dict[str, str]
) -> None:
    stations = await station_ids(client, manager)
    backwards = await client.post(
        f"{ADMIN}/paris-15/outages",
        json={
            "station_id": stations["Poste 2"],
            "starts_at": f"{FRIDAY}T12:00:00+01:00",
            "ends_at": f"{FRIDAY}T08:00:00+01:00",
        },
        headers=manager,
    )
    past = await client.post(
        f"{ADMIN}/paris-15/outages",
        json={
            "station_id": stations["Poste 2"],
            "starts_at": "2026-11-01T08:00:00+01:00",
            "ends_at": "2026-11-02T08:00:00+01:00",
        },
        headers=manager,
    )
    naive = await client.post(
        f"{ADMIN}/paris-15/outages",
        json={
            "station_id": stations["Poste 2"],
            "starts_at": f"{FRIDAY}T08:00:00",
            "ends_at": f"{FRIDAY}T12:00:00",
        },
        headers=manager,
    )
    other_site = await client.post(
        f"{ADMIN}/paris-15/outages",
        json={
            "station_id": 999999,
            "starts_at": f"{FRIDAY}T08:00:00+01:00",
            "ends_at": f"{FRIDAY}T12:00:00+01:00",
        },
        headers=manager,
    )

    assert [r.status_code for r in (backwards, past, naive, other_site)] == [400, 400, 400, 404]
    assert "must end after it starts" in backwards.json()["detail"]
    assert "already be over" in past.json()["detail"]


# Hours, exceptions and closures


async def test_thursdays_hours_change_what_is_offered_on_thursdays(
    client: AsyncTestClient[object], manager: dict[str, str]
) -> None:
    usual = await starts(client, THURSDAY)
    shorter = await client.put(
        f"{ADMIN}/paris-15/hours/thu",
        json={"ranges": [{"opens": "09:00", "closes": "12:00"}]},
        headers=manager,
    )
    morning_only = await starts(client, THURSDAY)
    longer = await client.put(
        f"{ADMIN}/paris-15/hours/thu",
        json={
            "ranges": [{"opens": "13:00", "closes": "21:00"}, {"opens": "08:30", "closes": "12:00"}]
        },
        headers=manager,
    )
    late = await starts(client, THURSDAY)
    week = await client.get(f"{ADMIN}/paris-15/hours", headers=manager)
    public = await client.get("/api/v1/sites/paris-15")
    friday = await starts(client, FRIDAY)

    assert (usual[0], usual[-1]) == ("08:30", "19:00")
    assert shorter.status_code == 200, shorter.text
    assert (morning_only[0], morning_only[-1]) == ("09:00", "11:30")
    assert longer.status_code == 200, longer.text
    assert longer.json()["ranges"] == [
        {"opens": "08:30", "closes": "12:00"},
        {"opens": "13:00", "closes": "21:00"},
    ]
    assert "12:30" not in late
    assert late[-1] == "20:30"
    assert week.json()["weekly"]["thu"] == longer.json()["ranges"]
    assert public.json()["opening_hours"]["weekly"]["thu"] == [
        ["08:30", "12:00"],
        ["13:00", "21:00"],
    ]
    assert (friday[0], friday[-1]) == ("08:30", "16:30")


@pytest.mark.parametrize(
    "ranges",
    [
        [{"opens": "12:00", "closes": "09:00"}],
        [{"opens": "08:30", "closes": "12:00"}, {"opens": "11:00", "closes": "14:00"}],
        [{"opens": "8:30", "closes": "12:00"}],
        [{"opens": "08:30"}],
    ],
)
async def test_hours_that_do_not_hold_together_are_refused_in_plain_words(
    client: AsyncTestClient[object], manager: dict[str, str], ranges: list[dict[str, str]]
) -> None:
    response = await client.put(
        f"{ADMIN}/paris-15/hours/thu", json={"ranges": ranges}, headers=manager
    )
    unchanged = await starts(client, THURSDAY)

    assert response.status_code == 400
    assert response.json()["detail"]
    assert unchanged[-1] == "19:00"


async def test_a_day_closed_by_exception_lists_its_appointments_and_reopens_when_deleted(
    client: AsyncTestClient[object], manager: dict[str, str], bookings: Bookings, db: Database
) -> None:
    booked = await bookings.book(f"{FRIDAY}T14:00:00+01:00")
    before = await last_message_id(db)

    closed = await client.put(
        f"{ADMIN}/paris-15/hours-exceptions/{FRIDAY}",
        json={"reason": "Inventaire"},
        headers=manager,
    )
    told = await messages_since(db, before)
    offered = await starts(client, FRIDAY)
    listed = await client.get(f"{ADMIN}/paris-15/hours-exceptions", headers=manager)
    past = await client.put(
        f"{ADMIN}/paris-15/hours-exceptions/2026-11-02", json={}, headers=manager
    )
    reopened = await client.delete(f"{ADMIN}/paris-15/hours-exceptions/{FRIDAY}", headers=manager)

    assert closed.status_code == 200, closed.text
    assert closed.json()["exception"] == {
        "day": FRIDAY,
        "closed": True,
        "ranges": [],
        "reason": "Inventaire",
    }
    assert [i["reference"] for i in closed.json()["to_reschedule"]] == [booked["reference"]]
    assert [(m.kind, m.data["reason"]) for m in told] == [("cannot_take_place", "Inventaire")]
    assert offered == []
    assert FRIDAY in [item["day"] for item in listed.json()]
    assert past.status_code == 400
    assert reopened.status_code == 204
    assert await starts(client, FRIDAY)


async def test_a_day_closed_again_through_the_api_changes_nothing_and_tells_nobody_again(
    client: AsyncTestClient[object], manager: dict[str, str], bookings: Bookings, db: Database
) -> None:
    """The same closed day put twice (a client that sends again what got no answer): the
    second is answered as the first (200, the day as it is), with no appointment called
    off by it, no message and no line in the audit log; other hours for it are a change."""
    booked = await bookings.book(f"{FRIDAY}T14:00:00+01:00")
    path = f"{ADMIN}/paris-15/hours-exceptions/{FRIDAY}"
    closed = {"reason": "Inventaire"}

    first = await client.put(path, json=closed, headers=manager)
    before = await last_message_id(db)
    again = await client.put(path, json=closed, headers=manager)
    told_again = await messages_since(db, before)
    logged = await audit_actions(db, "hours_exception.added")
    morning = await client.put(
        path, json={"ranges": [{"opens": "09:00", "closes": "12:00"}]}, headers=manager
    )

    assert [i["reference"] for i in first.json()["to_reschedule"]] == [booked["reference"]]
    assert again.status_code == 200, again.text
    assert again.json()["exception"] == first.json()["exception"]
    assert again.json()["to_reschedule"] == []
    assert again.json()["kept"] == []
    assert told_again == []
    assert logged == ["hours_exception.added"]
    assert morning.status_code == 200
    assert await audit_actions(db, "hours_exception.added") == ["hours_exception.added"] * 2


async def test_a_closure_lists_appointments_to_come_tells_each_person_once_and_leaves_past_ones(
    client: AsyncTestClient[object],
    manager: dict[str, str],
    staff: Staff,
    bookings: Bookings,
    clock: Clock,
    db: Database,
) -> None:
    past = await bookings.book("2026-12-01T10:00:00+01:00")
    coming = [
        await bookings.book(f"{THURSDAY}T14:00:00+01:00"),
        await bookings.book(f"{FRIDAY}T09:00:00+01:00", phone="06 12 34 56 78"),
        await bookings.book(f"{FRIDAY}T16:00:00+01:00"),
    ]
    after = await bookings.book("2026-12-07T09:00:00+01:00")
    clock.set("2026-12-01 12:00")
    manager = await staff.headers("manager", "paris-15")
    before = await last_message_id(db)
    closure = {
        "starts_at": "2026-12-01T08:00:00+01:00",
        "ends_at": "2026-12-05T00:00:00+01:00",
        "reason": "Travaux",
    }

    response = await client.post(f"{ADMIN}/paris-15/closures", json=closure, headers=manager)
    told = await messages_since(db, before)
    again = await client.post(f"{ADMIN}/paris-15/closures", json=closure, headers=manager)
    told_again = await messages_since(db, before)
    offered = await starts(client, FRIDAY)
    listed = await client.get(f"{ADMIN}/paris-15/closures", headers=manager)
    past_now = await client.get(f"/api/v1/appointments/{past['token']}")

    assert response.status_code == 201, response.text
    assert response.json()["closure"]["reason"] == "Travaux"
    assert response.json()["kept"] == []
    assert [i["reference"] for i in response.json()["to_reschedule"]] == [
        b["reference"] for b in coming
    ]
    assert Counter(m.data["reference"] for m in told) == {b["reference"]: 1 for b in coming}
    assert {m.kind for m in told} == {"cannot_take_place"}
    assert past["reference"] not in {m.data["reference"] for m in told}
    assert after["reference"] not in {m.data["reference"] for m in told}
    assert past_now.json()["status"] == "booked"
    assert past_now.json()["station"] == past["station"]
    assert again.status_code == 201
    # The same closure sent again (a form sent twice) is the one written, and tells nobody.
    assert again.json()["closure"] == response.json()["closure"]
    assert [m.id for m in told_again] == [m.id for m in told]
    assert offered == []
    assert len(listed.json()) == 1
    assert await starts(client, "2026-12-07")
