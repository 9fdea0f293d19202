"""The national *lieux de médiation numérique* files: the CSV holds the 17 mairies and
passes the standard's own table schema (v1.0.2) with `frictionless`; the JSON says the
same; the `horaires` of each mairie, read by `opening-hours-py`, open and close exactly
when the mairie's own hours do, on every day of 2027 (public holidays, the 19e's first
Tuesday, the 20e's cancelled Thursday evening, a manager's closure and dated days)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from frictionless import Resource, Schema
from litestar.testing import AsyncTestClient
from opening_hours import OpeningHours, State

from app.opendata import places
from app.sites.hours import SiteCalendar, WeeklyRule
from tests.conftest import Clock, Staff

CLIENT = AsyncTestClient[object]
CSV_PATH = "/open-data/lieux-mediation-numerique.csv"
JSON_PATH = "/open-data/lieux-mediation-numerique.json"
ADMIN = "/api/v1/admin/sites"
PARIS = ZoneInfo("Europe/Paris")
SCHEMA = resources.files("app.opendata").joinpath(
    "data/standards/lieux-mediation-numerique.schema.json"
)
YEAR = 2027
MINUTE = timedelta(minutes=1)
Intervals = list[tuple[datetime, datetime]]


@pytest.fixture
async def changed(client: CLIENT, clock: Clock, staff: Staff) -> None:
    """On 15 December 2026, the 15e's manager closes the mairie from Tuesday 9 March 2027
    at 10:00 to Thursday 11 March at 12:00, opens the morning of 14 July (a public
    holiday), closes Friday 4 June and splits Friday 1 October in two."""
    clock.set("2026-12-15 09:00")
    manager = await staff.headers("manager", "paris-15")
    closure = {
        "starts_at": "2027-03-09T10:00:00+01:00",
        "ends_at": "2027-03-11T12:00:00+01:00",
        "reason": "Travaux",
    }
    days: dict[str, list[dict[str, str]]] = {
        "2027-07-14": [{"opens": "10:00", "closes": "12:00"}],
        "2027-06-04": [],
        "2027-10-01": [
            {"opens": "09:00", "closes": "12:00"},
            {"opens": "14:00", "closes": "16:00"},
        ],
    }
    answers = [await client.post(f"{ADMIN}/paris-15/closures", json=closure, headers=manager)]
    for day, ranges in days.items():
        answers.append(
            await client.put(
                f"{ADMIN}/paris-15/hours-exceptions/{day}",
                json={"ranges": ranges, "reason": "Exceptionnel"},
                headers=manager,
            )
        )
    assert [answer.status_code for answer in answers] == [201, 200, 200, 200]


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_csv_passes_the_national_schema_with_the_seventeen_mairies(
    client: CLIENT, changed: None
) -> None:
    response = await client.get(CSV_PATH)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    schema = Schema.from_descriptor(json.loads(SCHEMA.read_text("utf-8")))
    report = Resource(response.content, format="csv", encoding="utf-8", schema=schema).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "message"])
    assert report.tasks[0].stats["rows"] == 17
    assert response.text.splitlines()[0].split(",") == [field.name for field in schema.fields]
    # The schema can fail: a wrong INSEE code is caught.
    wrong = response.text.replace(",75103,", ",7510X,", 1).encode()
    refused = Resource(wrong, format="csv", encoding="utf-8", schema=schema).validate()
    assert refused.flatten(["fieldName", "type"]) == [["code_insee", "constraint-error"]]


async def test_each_row_says_where_the_mairie_is_and_how_to_book(
    client: CLIENT, changed: None
) -> None:
    rows = {row["id"]: row for row in rows_of((await client.get(CSV_PATH)).text)}

    centre = rows["guichet-paris-centre"]
    assert centre["pivot"] == "21750001600019"
    assert (centre["adresse"], centre["code_postal"], centre["code_insee"]) == (
        "2 rue Eugène Spuller",
        "75003",
        "75103",
    )
    assert centre["commune"] == "Paris"
    assert centre["prise_rdv"] == "http://127.0.0.1:8000/mairies/paris-centre/rendez-vous"
    assert centre["modalites_acces"] == "Se présenter|Prendre un RDV en ligne"
    assert centre["prise_en_charge_specifique"] == "Handicaps moteurs"
    assert "Aide aux démarches administratives" in centre["services"].split("|")
    assert (float(centre["latitude"]), float(centre["longitude"])) == (48.8641, 2.3603)
    assert [rows[f"guichet-paris-{n}"]["code_insee"] for n in range(5, 21)] == [
        f"751{n:02d}" for n in range(5, 21)
    ]
    assert rows["guichet-paris-19"]["horaires"] == (
        "Mo-We,Fr 08:30-17:00; Th 08:30-19:30; Tu[1] 13:00-17:00; PH off"
    )
    assert rows["guichet-paris-20"]["horaires"].endswith("; PH off; 2027 Jan 14 08:30-17:00")
    # The manager's change of the 15e dates its row; the others keep the City list's day.
    assert rows["guichet-paris-15"]["date_maj"] == "2026-12-15"
    assert {row["date_maj"] for id_, row in rows.items() if id_ != "guichet-paris-15"} == {
        places.CITY_LIST_DATE.isoformat()
    }


async def test_the_json_holds_the_same_rows_as_the_csv(client: CLIENT, changed: None) -> None:
    from_csv = rows_of((await client.get(CSV_PATH)).text)
    response = await client.get(JSON_PATH)

    assert response.headers["content-type"].startswith("application/json")
    from_json: list[dict[str, Any]] = response.json()
    assert [list(row) for row in from_json] == [list(places.FIELDS)] * 17
    as_text = [
        {name: "" if value is None else str(value) for name, value in row.items()}
        for row in from_json
    ]
    assert as_text == from_csv
    assert isinstance(from_json[0]["latitude"], float)


async def test_a_client_holding_the_file_gets_a_304_until_it_changes(
    client: CLIENT, clock: Clock, staff: Staff
) -> None:
    clock.set("2026-12-15 09:00")
    first = await client.get(CSV_PATH)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=900"

    again = await client.get(CSV_PATH, headers={"If-None-Match": etag})
    manager = await staff.headers("manager", "paris-15")
    closed = await client.put(
        f"{ADMIN}/paris-15/hours-exceptions/2027-02-05", json={"ranges": []}, headers=manager
    )
    after = await client.get(CSV_PATH, headers={"If-None-Match": etag})

    assert (again.status_code, again.content) == (304, b"")
    assert closed.status_code == 200
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert "2027 Feb 05 off" in after.text


# The hours, instant by instant


async def app_intervals(client: CLIENT, slug: str) -> dict[date, Intervals]:
    """The mairie's own open intervals on each day of YEAR, in naive local time, as its
    hours API gives them (62 days a call)."""
    days: dict[date, Intervals] = {}
    first = date(YEAR, 1, 1)
    while first.year == YEAR:
        last = min(first + timedelta(days=61), date(YEAR, 12, 31))
        response = await client.get(
            f"/api/v1/sites/{slug}/hours", params={"from": str(first), "to": str(last)}
        )
        assert response.status_code == 200, response.text
        for day in response.json()["days"]:
            days[date.fromisoformat(day["date"])] = [
                (naive(span["start"]), naive(span["end"])) for span in day["hours"]
            ]
        first = last + timedelta(days=1)
    assert len(days) == 365
    return days


def spans(day: str, *ranges: str) -> Intervals:
    """`spans("2027-02-02", "13:00-17:00")`: intervals of a day in naive local time."""
    on = date.fromisoformat(day)
    found = []
    for hours in ranges:
        opens, closes = (time.fromisoformat(at) for at in hours.split("-"))
        found.append((datetime.combine(on, opens), datetime.combine(on, closes)))
    return found


def naive(instant: str) -> datetime:
    return datetime.fromisoformat(instant).astimezone(PARIS).replace(tzinfo=None)


def oh_intervals(hours: OpeningHours, day: date) -> Intervals:
    start = datetime.combine(day, time(0))
    spans = hours.intervals(start, start + timedelta(days=1))
    return [(begin, end) for begin, end, state, _ in spans if state == State.OPEN]


def instants(day: date, *sides: Intervals) -> Iterator[datetime]:
    """Each boundary of either side's intervals a minute before, at and a minute after,
    and the small hours and noon of the day."""
    yield datetime.combine(day, time(3))
    yield datetime.combine(day, time(12))
    for intervals in sides:
        for start, end in intervals:
            for boundary in (start, end):
                yield from (boundary - MINUTE, boundary, boundary + MINUTE)


def disagreements(hours: OpeningHours, own: dict[date, Intervals]) -> list[str]:
    """The instants where `hours` and the mairie's own intervals differ."""
    found = []
    for day, intervals in sorted(own.items()):
        for at in instants(day, intervals, oh_intervals(hours, day)):
            expected = any(start <= at < end for start, end in intervals)
            if hours.is_open(at) != expected:
                found.append(f"{at:%a %Y-%m-%d %H:%M}: app {'open' if expected else 'closed'}")
    return found


async def test_every_mairie_s_horaires_agree_with_its_hours_on_every_day_of_2027(
    client: CLIENT, changed: None
) -> None:
    rows = (await client.get(JSON_PATH)).json()
    assert len(rows) == 17

    checked: dict[str, dict[date, Intervals]] = {}
    for row in rows:
        slug = row["id"].removeprefix("guichet-")
        hours = OpeningHours(row["horaires"], country="FR")
        assert hours.warnings == [], (slug, row["horaires"])
        checked[slug] = await app_intervals(client, slug)
        assert disagreements(hours, checked[slug]) == [], (slug, row["horaires"])

    # What was checked holds the cases: a public holiday closed, the 19e opening at 13:00
    # on its first Tuesday, the 20e's cancelled evening, the 15e's closure and dated days.
    assert checked["paris-19"][date(2027, 2, 2)] == spans("2027-02-02", "13:00-17:00")
    assert checked["paris-12"][date(2027, 5, 17)] == []  # Whit Monday
    assert checked["paris-20"][date(2027, 1, 14)] == spans("2027-01-14", "08:30-17:00")
    assert checked["paris-20"][date(2027, 1, 21)] == spans("2027-01-21", "08:30-19:30")
    assert checked["paris-15"][date(2027, 3, 9)] == spans("2027-03-09", "08:30-10:00")
    assert checked["paris-15"][date(2027, 3, 10)] == []
    assert checked["paris-15"][date(2027, 7, 14)] == spans("2027-07-14", "10:00-12:00")
    assert checked["paris-15"][date(2027, 10, 1)] == spans(
        "2027-10-01", "09:00-12:00", "14:00-16:00"
    )


def test_occurrences_in_the_month_agree_with_the_calendar_when_the_last_is_also_the_fourth() -> (
    None
):
    """Rules the demo does not hold: a last Tuesday that is also a fourth or a fifth opens
    the hours of both, as the app joins them; a weekday open only on its second
    occurrence; two ranges in a day. Checked without a database, day by day over 2027."""
    calendar = SiteCalendar(
        timezone=PARIS,
        weekly=[
            WeeklyRule(0, time(9), time(12)),
            WeeklyRule(0, time(14), time(17)),
            WeeklyRule(1, time(8, 30), time(17)),
            WeeklyRule(1, time(10), time(11), nth_in_month=4),
            WeeklyRule(1, time(12), time(13), nth_in_month=5),
            WeeklyRule(1, time(14), time(15), nth_in_month=-1),
            WeeklyRule(5, time(9), time(12), nth_in_month=2),
        ],
    )
    value = places.opening_hours(calendar, date(YEAR, 1, 1))
    hours = OpeningHours(value, country="FR")
    own = {
        day.day: [
            (naive(start.isoformat()), naive(end.isoformat())) for start, end in day.intervals
        ]
        for day in calendar.days(date(YEAR, 1, 1), date(YEAR, 12, 31))
    }

    assert disagreements(hours, own) == [], value
    # The fourth Tuesday of February is its last.
    assert own[date(2027, 2, 23)] == spans("2027-02-23", "10:00-11:00", "14:00-15:00")
