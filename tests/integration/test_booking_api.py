"""Booking through the API, on both databases: availability, book, see, cancel, move."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import icalendar
import pytest
from litestar.testing import AsyncTestClient

from tests.conftest import Clock, Staff

pytestmark = pytest.mark.usefixtures("monday_morning")


@pytest.fixture
def monday_morning(clock: Clock) -> datetime:
    """Monday 30 November 2026, 08:00 in Paris."""
    return clock.set("2026-11-30 08:00")


def person(number: int = 1, **fields: Any) -> dict[str, Any]:
    return {"name": f"Usager {number}", "email": f"usager{number}@example.org", **fields}


async def book(client: AsyncTestClient[object], when: str, **fields: Any) -> Any:
    body = {"site": "paris-15", "service": "caf", "start": when, **person(), **fields}
    return await client.post("/api/v1/appointments", json=body)


async def slots(client: AsyncTestClient[object], **params: str) -> list[dict[str, str]]:
    query = {"service": "caf", "from": "2026-12-01", "to": "2026-12-01", **params}
    slug = query.pop("site", "paris-15")
    response = await client.get(f"/api/v1/sites/{slug}/availability", params=query)
    assert response.status_code == 200, response.text
    found: list[dict[str, str]] = response.json()["slots"]
    return found


async def test_availability_lists_the_days_slots_in_order_with_the_local_offset(
    client: AsyncTestClient[object],
) -> None:
    found = await slots(client)

    assert found[0] == {"start": "2026-12-01T08:30:00+01:00", "end": "2026-12-01T09:00:00+01:00"}
    assert found[-1]["end"] == "2026-12-01T17:00:00+01:00"
    assert [slot["start"] for slot in found] == sorted(slot["start"] for slot in found)
    assert len(found) == 17


async def test_availability_keeps_two_hours_of_notice_and_skips_closed_days(
    client: AsyncTestClient[object],
) -> None:
    found = await slots(client, **{"from": "2026-11-30", "to": "2026-12-06"})
    days = {slot["start"][:10] for slot in found}

    assert found[0]["start"] == "2026-11-30T10:00:00+01:00"
    assert days == {"2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"}
    thursday = [slot for slot in found if slot["start"].startswith("2026-12-03")]
    assert thursday[-1]["start"] == "2026-12-03T19:00:00+01:00"


async def test_availability_follows_the_19e_and_public_holidays(
    client: AsyncTestClient[object], clock: Clock
) -> None:
    nineteenth = await slots(client, site="paris-19")
    clock.set("2027-07-01 09:00")
    bastille_day = await slots(client, **{"from": "2027-07-14", "to": "2027-07-14"})
    clock.set("2027-05-10 09:00")
    whit_monday = await slots(client, **{"from": "2027-05-17", "to": "2027-05-17"})

    assert nineteenth[0]["start"] == "2026-12-01T13:00:00+01:00"
    assert bastille_day == []
    assert whit_monday == []


async def test_needs_lengthen_the_slot_and_long_help_books_a_double_station(
    client: AsyncTestClient[object],
) -> None:
    found = await slots(client, needs="accompagnement-long,premiere-fois")

    response = await book(client, found[0]["start"], needs=["accompagnement-long", "premiere-fois"])

    assert found[0] == {"start": "2026-12-01T08:30:00+01:00", "end": "2026-12-01T09:45:00+01:00"}
    assert response.status_code == 201, response.text
    assert response.json()["end"] == "2026-12-01T09:45:00+01:00"
    site = (await client.get("/api/v1/sites/paris-15")).json()
    kinds = {station["id"]: station["kind"] for station in site["stations"]}
    assert kinds[response.json()["station"]["id"]] == "double"


async def test_a_wheelchair_user_is_given_an_accessible_station_and_others_a_plain_one(
    client: AsyncTestClient[object],
) -> None:
    site = (await client.get("/api/v1/sites/paris-15")).json()
    stations = {station["id"]: station for station in site["stations"]}

    plain = await book(client, "2026-12-01T10:00:00+01:00")
    wheelchair = await book(client, "2026-12-01T10:00:00+01:00", needs=["fauteuil"], **person(2))

    assert stations[plain.json()["station"]["id"]]["accessible"] is False
    assert stations[plain.json()["station"]["id"]]["kind"] == "standard"
    chosen = stations[wheelchair.json()["station"]["id"]]
    assert chosen["accessible"] is True
    assert chosen["kind"] == "standard"


async def test_booking_answers_the_contract_and_the_token_shows_the_booking(
    client: AsyncTestClient[object],
) -> None:
    response = await book(client, "2026-12-01T10:00:00+01:00", phone="06 12 34 56 78")

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "booked"
    assert body["site"] == "paris-15"
    assert body["service"] == "caf"
    assert body["start"] == "2026-12-01T10:00:00+01:00"
    assert body["end"] == "2026-12-01T10:30:00+01:00"
    assert set(body["station"]) == {"id", "name"}
    assert body["reference"].startswith("15-")
    assert len(body["reference"]) == 9
    assert len(body["token"]) >= 22
    assert body["manage_url"].endswith(f"/rendez-vous/{body['token']}")
    assert body["ics_url"].endswith(f"/api/v1/appointments/{body['token']}/calendar.ics")
    assert body["phone"] == "+33612345678"
    assert body["channel"] == "online"
    seen = await client.get(f"/api/v1/appointments/{body['token']}")
    assert seen.status_code == 200
    assert seen.json() == body


async def test_an_unknown_or_malformed_token_is_a_404(client: AsyncTestClient[object]) -> None:
    tokens = ("x" * 32, "short", "a" * 100, "%00" * 10)
    answers = [await client.get(f"/api/v1/appointments/{token}") for token in tokens]

    # No link matches: unknown (404), whatever its shape, as the contract says.
    assert [answer.status_code for answer in answers] == [404] * len(tokens)
    assert {answer.json()["detail"] for answer in answers} == {"No appointment matches this link."}


async def test_once_every_suitable_station_is_taken_the_slot_is_refused_with_alternatives(
    client: AsyncTestClient[object],
) -> None:
    start = "2026-12-01T10:00:00+01:00"
    taken = [await book(client, start, **person(n)) for n in range(1, 7)]

    refused = await book(client, start, **person(7))
    remaining = [slot["start"] for slot in await slots(client)]

    assert [response.status_code for response in taken] == [201] * 6
    assert len({response.json()["station"]["id"] for response in taken}) == 6
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["reason"] == "taken"
    assert problem["detail"] == "This slot has just been taken."
    assert [slot["start"] for slot in problem["alternatives"]] == [
        "2026-12-01T09:00:00+01:00",
        "2026-12-01T09:30:00+01:00",
        "2026-12-01T10:30:00+01:00",
    ]
    assert start not in remaining
    assert "2026-12-01T10:30:00+01:00" in remaining


async def test_cancelling_frees_the_slot_at_once_and_is_idempotent(
    client: AsyncTestClient[object],
) -> None:
    start = "2026-12-01T10:00:00+01:00"
    tokens = [(await book(client, start, **person(n))).json()["token"] for n in range(1, 7)]
    assert start not in [slot["start"] for slot in await slots(client)]

    first = await client.post(f"/api/v1/appointments/{tokens[0]}/cancel")
    again = await client.post(f"/api/v1/appointments/{tokens[0]}/cancel")

    assert first.status_code == 200
    assert first.json()["status"] == "cancelled"
    assert again.status_code == 200
    assert again.json()["status"] == "cancelled"
    assert start in [slot["start"] for slot in await slots(client)]
    assert (await book(client, start, **person(8))).status_code == 201


async def test_cancelling_is_refused_once_the_appointment_has_begun(
    client: AsyncTestClient[object], clock: Clock
) -> None:
    token = (await book(client, "2026-12-01T10:00:00+01:00")).json()["token"]
    clock.set("2026-12-01 10:05")

    response = await client.post(f"/api/v1/appointments/{token}/cancel")

    assert response.status_code == 409
    assert (await client.get(f"/api/v1/appointments/{token}")).json()["status"] == "booked"


async def test_rescheduling_keeps_the_token_moves_the_times_and_frees_the_old_slot(
    client: AsyncTestClient[object],
) -> None:
    booked = (await book(client, "2026-12-01T10:00:00+01:00")).json()

    moved = await client.post(
        f"/api/v1/appointments/{booked['token']}/reschedule",
        json={"start": "2026-12-02T14:00:00+01:00"},
    )

    assert moved.status_code == 200, moved.text
    assert moved.json()["token"] == booked["token"]
    assert moved.json()["reference"] == booked["reference"]
    assert moved.json()["start"] == "2026-12-02T14:00:00+01:00"
    assert moved.json()["status"] == "booked"
    seen = (await client.get(f"/api/v1/appointments/{booked['token']}")).json()
    assert seen["start"] == "2026-12-02T14:00:00+01:00"


async def test_rescheduling_into_a_full_slot_is_a_409_and_changes_nothing(
    client: AsyncTestClient[object],
) -> None:
    full = "2026-12-01T11:00:00+01:00"
    for n in range(1, 7):
        await book(client, full, **person(n))
    mine = (await book(client, "2026-12-01T10:00:00+01:00", **person(9))).json()

    refused = await client.post(
        f"/api/v1/appointments/{mine['token']}/reschedule", json={"start": full}
    )

    assert refused.status_code == 409
    assert refused.json()["alternatives"]
    still = (await client.get(f"/api/v1/appointments/{mine['token']}")).json()
    assert still["start"] == "2026-12-01T10:00:00+01:00"
    assert still["status"] == "booked"


async def test_a_cancelled_appointment_cannot_be_moved(client: AsyncTestClient[object]) -> None:
    token = (await book(client, "2026-12-01T10:00:00+01:00")).json()["token"]
    await client.post(f"/api/v1/appointments/{token}/cancel")

    response = await client.post(
        f"/api/v1/appointments/{token}/reschedule", json={"start": "2026-12-02T10:00:00+01:00"}
    )

    assert response.status_code == 409


async def test_the_calendar_file_parses_and_follows_each_change(
    client: AsyncTestClient[object],
) -> None:
    booked = (await book(client, "2026-12-01T10:00:00+01:00")).json()

    def event(text: str) -> Any:
        calendar = icalendar.Calendar.from_ical(text)
        events = [part for part in calendar.walk() if part.name == "VEVENT"]
        assert len(events) == 1
        return events[0]

    first_file = await client.get(booked["ics_url"].split("127.0.0.1:8000", 1)[-1])
    await client.post(
        f"/api/v1/appointments/{booked['token']}/reschedule",
        json={"start": "2026-12-03T15:00:00+01:00"},
    )
    moved_file = await client.get(f"/api/v1/appointments/{booked['token']}/calendar.ics")
    await client.post(f"/api/v1/appointments/{booked['token']}/cancel")
    cancelled_file = await client.get(f"/api/v1/appointments/{booked['token']}/calendar.ics")

    assert first_file.status_code == 200
    assert first_file.headers["content-type"].startswith("text/calendar")
    first, moved, cancelled = (
        event(first_file.text),
        event(moved_file.text),
        event(cancelled_file.text),
    )
    assert first["SUMMARY"] == "Facilitation numérique : Démarches CAF en ligne"
    assert first["LOCATION"] == "Mairie du 15e arrondissement, 31 rue Péclet, 75015 Paris"
    assert "numéro allocataire" in first["DESCRIPTION"]
    assert booked["manage_url"] in first["DESCRIPTION"]
    assert first.decoded("DTSTART") == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert first.decoded("DTEND") == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert first.get("DTSTAMP") is not None
    assert [alarm["ACTION"] for alarm in first.walk("VALARM")] == ["DISPLAY", "DISPLAY"]
    assert str(first["STATUS"]) == "CONFIRMED"
    assert moved["UID"] == first["UID"]
    assert int(moved["SEQUENCE"]) > int(first["SEQUENCE"])
    assert moved.decoded("DTSTART") == datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
    assert cancelled["UID"] == first["UID"]
    assert str(cancelled["STATUS"]) == "CANCELLED"
    assert int(cancelled["SEQUENCE"]) > int(moved["SEQUENCE"])


@pytest.mark.parametrize(
    ("start", "status", "reason"),
    [
        ("2026-11-30T09:00:00+01:00", 422, "too_soon"),
        ("2026-11-01T09:00:00+01:00", 422, "too_soon"),
        ("2027-02-15T09:00:00+01:00", 422, "too_late"),
        ("2026-12-05T10:00:00+01:00", 422, "closed"),
        ("2026-12-25T10:00:00+01:00", 422, "closed"),
        ("2026-12-01T18:00:00+01:00", 422, "closed"),
        ("2026-12-01T10:10:00+01:00", 422, "off_grid"),
    ],
)
async def test_times_that_cannot_be_booked_are_refused_in_plain_words(
    client: AsyncTestClient[object], start: str, status: int, reason: str
) -> None:
    response = await book(client, start)

    assert response.status_code == status
    assert response.json()["reason"] == reason
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_start_in_another_offset_books_the_same_instant(
    client: AsyncTestClient[object],
) -> None:
    response = await book(client, "2026-12-01T09:00:00Z")

    assert response.status_code == 201
    assert response.json()["start"] == "2026-12-01T10:00:00+01:00"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"email": "not-an-address"}, "email address is not valid"),
        ({"email": None, "phone": "12"}, "phone number is not valid"),
        ({"email": None}, "Give an email address or a phone number"),
        ({"name": "   "}, "Give a name"),
        ({"needs": ["jetpack"]}, "Unknown need: jetpack"),
        ({"start": "2026-12-01T10:00:00"}, "errors"),
        ({"colour": "blue"}, "errors"),
        ({"service": "nothing"}, "No service has the code"),
        ({"site": "paris-99"}, "No mairie has the identifier"),
    ],
)
async def test_bad_bookings_are_4xx_problems_that_say_what_is_wrong(
    client: AsyncTestClient[object], changes: dict[str, Any], fragment: str
) -> None:
    response = await book(client, "2026-12-01T10:00:00+01:00", **changes)

    assert 400 <= response.status_code < 500
    assert fragment in response.text


async def test_an_email_or_phone_may_hold_two_future_appointments_in_all_of_paris(
    client: AsyncTestClient[object],
) -> None:
    first = await book(client, "2026-12-01T10:00:00+01:00")
    second = await book(client, "2026-12-02T10:00:00+01:00", email="USAGER1@example.org")
    third = await book(client, "2026-12-03T10:00:00+01:00")
    elsewhere = await book(client, "2026-12-03T10:00:00+01:00", site="paris-14")

    assert [first.status_code, second.status_code] == [201, 201]
    assert third.status_code == 409
    assert "already has 2 appointments" in third.json()["detail"]
    assert elsewhere.status_code == 409


async def test_availability_refuses_bad_ranges_and_unknown_things(
    client: AsyncTestClient[object],
) -> None:
    base = "/api/v1/sites/paris-15/availability"
    too_long = await client.get(
        base, params={"service": "caf", "from": "2026-12-01", "to": "2027-02-28"}
    )
    reversed_range = await client.get(
        base, params={"service": "caf", "from": "2026-12-05", "to": "2026-12-01"}
    )
    no_service = await client.get(base, params={"from": "2026-12-01"})
    unknown_service = await client.get(base, params={"service": "nope"})
    unknown_site = await client.get(
        "/api/v1/sites/paris-99/availability", params={"service": "caf"}
    )
    unknown_need = await client.get(base, params={"service": "caf", "needs": "jetpack"})

    assert too_long.status_code == 400
    assert reversed_range.status_code == 400
    assert no_service.status_code == 400
    assert unknown_service.status_code == 404
    assert unknown_site.status_code == 404
    assert unknown_need.status_code == 400


@pytest.mark.parametrize("day", ["2027-01-30", "2100-12-30", "9999-12-31", "0001-01-01"])
async def test_availability_from_a_day_out_of_range_gets_400_naming_from_and_its_range(
    client: AsyncTestClient[object], day: str
) -> None:
    """paris-15 takes bookings 60 days ahead: from Monday 30 November 8:00, up to Friday
    29 January 2027."""
    response = await client.get(
        "/api/v1/sites/paris-15/availability", params={"service": "caf", "from": day}
    )
    problem = response.json()

    assert response.status_code == 400
    assert problem["detail"] == (
        "`from` must lie between 2000-01-01 and 2027-01-29: Mairie du 15e arrondissement "
        "takes bookings up to 60 days ahead."
    )
    assert problem["errors"] == [{"message": problem["detail"], "key": "from", "source": "query"}]


async def test_availability_to_a_day_out_of_bounds_gets_400_naming_to_and_a_past_day_none(
    client: AsyncTestClient[object],
) -> None:
    base = "/api/v1/sites/paris-15/availability"
    far = await client.get(
        base, params={"service": "caf", "from": "2026-12-01", "to": "9999-12-31"}
    )
    past = await client.get(
        base, params={"service": "caf", "from": "2026-11-01", "to": "2026-11-30"}
    )

    assert far.status_code == 400
    assert far.json()["detail"] == "`to` must lie between 2000-01-01 and 2100-12-31."
    assert far.json()["errors"][0]["key"] == "to"
    assert past.status_code == 200
    assert [slot["start"][:10] for slot in past.json()["slots"]] == ["2026-11-30"] * 14


async def test_phone_and_counter_bookings_need_a_reception_token(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    start = "2026-12-01T10:00:00+01:00"
    facilitator = await staff.headers("facilitator", "paris-15")
    reception_elsewhere = await staff.headers("reception", "paris-20")
    reception = await staff.headers("reception", "paris-15")
    body = {"site": "paris-15", "service": "caf", "start": start, **person(), "channel": "phone"}

    anonymous = await client.post("/api/v1/appointments", json=body)
    wrong_role = await client.post("/api/v1/appointments", json=body, headers=facilitator)
    wrong_site = await client.post("/api/v1/appointments", json=body, headers=reception_elsewhere)
    allowed = await client.post("/api/v1/appointments", json=body, headers=reception)

    assert anonymous.status_code == 401
    assert wrong_role.status_code == 403
    assert wrong_site.status_code == 403
    assert allowed.status_code == 201
    assert allowed.json()["channel"] == "phone"


async def test_booking_and_availability_are_rate_limited_per_address(
    database_url: str, clock: Clock
) -> None:
    from app.asgi import create_app
    from tests.conftest import make_settings

    settings = make_settings(
        database_url, booking_requests_per_minute=3, availability_requests_per_minute=2
    )
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        searches = [
            (await client.get("/api/v1/sites/paris-15/availability", params={"service": "caf"}))
            for _ in range(3)
        ]
        bookings = [
            await book(client, "2026-12-01T10:00:00+01:00", **person(n)) for n in range(1, 5)
        ]

    assert [r.status_code for r in searches] == [200, 200, 429]
    assert [r.status_code for r in bookings] == [201, 201, 201, 429]
    assert int(bookings[-1].headers["retry-after"]) > 0


async def test_asking_what_a_route_allows_spends_none_of_the_address_budget(
    database_url: str, clock: Clock
) -> None:
    """OPTIONS is no search and no change: the budgets count what is asked, not asked of."""
    from app.asgi import create_app
    from tests.conftest import make_settings

    settings = make_settings(
        database_url, booking_requests_per_minute=2, availability_requests_per_minute=2
    )
    paths = ["/api/v1/sites/paris-15/availability", "/api/v1/appointments/unknown/waitlist"]
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        asked = [(await client.options(path)).status_code for path in paths for _ in range(4)]
        search = await client.get(paths[0], params={"service": "caf"})
        wait = await client.post(paths[1])

    assert asked == [204] * 8
    assert search.status_code == 200
    assert wait.status_code == 404
