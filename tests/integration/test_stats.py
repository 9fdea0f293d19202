"""The figures, on both databases: a day at the 15e played through the API with the clock
in the test's hands, and every figure compared with its value computed by hand."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from app.booking.commands import mark_missed
from app.db import Database
from tests.conftest import STAFF_PASSWORD, Clock, Staff


class Day:
    """Tuesday 1 December 2026 at the Mairie du 15e, one station at work."""

    def __init__(self, client: AsyncTestClient[object], db: Database, clock: Clock) -> None:
        self.client, self.db, self.clock = client, db, clock
        self.staff = Staff(db, client)
        self.emails: dict[str, str] = {}
        self.tokens: dict[str, tuple[datetime, str]] = {}
        self.station = 0

    async def headers(self, role: str) -> dict[str, str]:
        """The token of one agent per role, renewed as the clock moves on by days."""
        if role not in self.emails:
            sites = () if role == "admin" else ("paris-15",)
            self.emails[role] = await self.staff.agent(role, *sites)
        issued, token = self.tokens.get(role, (datetime.min.replace(tzinfo=UTC), ""))
        if self.clock() - issued > timedelta(hours=12):
            token = await self.staff.token(self.emails[role])
            self.tokens[role] = (self.clock(), token)
        return {"Authorization": f"Bearer {token}"}

    async def at(self, local: str) -> None:
        self.clock.set(f"2026-12-01 {local}")

    async def book(self, start: str, channel: str = "online") -> Any:
        headers = await self.headers("reception") if channel != "online" else {}
        response = await self.client.post(
            "/api/v1/appointments",
            json={
                "site": "paris-15",
                "service": "caf",
                "start": f"2026-12-01T{start}:00+01:00",
                "name": f"Usager {start}",
                "email": f"u{start.replace(':', '')}@example.org",
                "channel": channel,
            },
            headers=headers,
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def check_in(self, booked: Any) -> Any:
        response = await self.client.post(
            "/api/v1/sites/paris-15/check-ins",
            json={"reference": booked["reference"]},
            headers=await self.headers("reception"),
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def walk_in(self) -> Any:
        response = await self.client.post(
            "/api/v1/sites/paris-15/tickets",
            json={"service": "caf"},
            headers=await self.headers("reception"),
        )
        assert response.status_code == 201, response.text
        return response.json()

    async def call(self) -> Any:
        response = await self.client.post(
            f"/api/v1/stations/{self.station}/call-next", headers=await self.headers("facilitator")
        )
        assert response.status_code == 200, response.text
        return response.json()

    async def move(self, ticket: Any, action: str, **visit: Any) -> None:
        response = await self.client.post(
            f"/api/v1/tickets/{ticket['id']}/{action}",
            headers=await self.headers("facilitator"),
            json=visit or None,
        )
        assert response.status_code == 200, response.text

    async def answer(self, ticket: Any, score: int) -> None:
        response = await self.client.post(
            f"/ticket/{ticket['token']}/avis", data={"note": str(score)}, follow_redirects=False
        )
        assert response.status_code == 303, response.text


@pytest.fixture
async def day(client: AsyncTestClient[object], db: Database, clock: Clock) -> Day:
    """The day, played: see the comments for what each figure should be."""
    played = Day(client, db, clock)
    clock.set("2026-11-30 08:00")
    site = (await client.get("/api/v1/sites/paris-15")).json()
    played.station = site["stations"][0]["id"]
    a1 = await played.book("09:00")
    a2 = await played.book("09:30")
    await played.book("10:00", channel="phone")  # never comes: a no-show
    a4 = await played.book("10:30", channel="counter")
    a5 = await played.book("11:00")
    cancelled = await client.post(f"/api/v1/appointments/{a4['token']}/cancel")
    assert cancelled.status_code == 200

    await played.at("08:50")
    t1 = await played.check_in(a1)
    await played.at("09:05")
    assert (await played.call())["id"] == t1["id"]  # waited 5 min (from the booked 9:00)
    await played.move(t1, "start")
    await played.at("09:10")
    w1 = await played.walk_in()
    await played.at("09:35")
    await played.move(t1, "finish", outcome="solved")  # 30 min of help
    await played.at("09:40")
    t2 = await played.check_in(a2)  # 10 min late
    await played.at("09:50")
    assert (await played.call())["id"] == t2["id"]  # waited 10 min (from arrival)
    await played.move(t2, "start")
    await played.at("10:10")
    await played.move(t2, "finish", outcome="escalated", department="caf")  # 20 min
    assert (await played.call())["id"] == w1["id"]  # waited 60 min
    await played.move(w1, "start")
    await played.at("10:12")
    w2 = await played.walk_in()
    await played.at("10:25")
    await played.move(w1, "finish", outcome="unhelped")  # 15 min
    assert (await played.call())["id"] == w2["id"]  # waited 13 min
    await played.move(w2, "no-show")
    await played.at("10:50")
    t5 = await played.check_in(a5)
    await played.at("10:55")
    w3 = await played.walk_in()
    await played.at("11:20")
    # The 10:00 phone booking: a late arrival could be checked in until 11:00 (its end, 10:30,
    # and 30 minutes), nobody came.
    assert await mark_missed(db, clock()) == 1
    assert (await played.call())["id"] == t5["id"]  # waited 20 min (from the booked 11:00)
    await played.move(t5, "start")
    await played.at("11:50")
    await played.move(t5, "finish", outcome="alone")  # 30 min
    assert (await played.call())["id"] == w3["id"]  # waited 55 min
    await played.move(w3, "start")
    await played.at("12:00")
    await played.move(w3, "finish")  # 10 min, outcome not recorded
    await played.at("12:05")
    w4 = await played.walk_in()
    await played.at("12:10")
    await played.move(w4, "cancel")  # left before being called
    await played.answer(t1, 5)
    await played.answer(w1, 2)
    await played.answer(w3, 4)

    clock.set("2026-12-03 10:10")
    (escalation,) = (
        await client.get("/api/v1/escalations", headers=await played.headers("manager"))
    ).json()
    answered = await client.post(
        f"/api/v1/escalations/{escalation['reference']}/status",
        json={"status": "answered"},
        headers=await played.headers("manager"),
    )
    assert answered.status_code == 200  # two days after the visit
    clock.set("2026-12-04 09:00")
    return played


async def read(day: Day, query: str, role: str = "manager") -> Any:
    response = await day.client.get(f"/api/v1/stats?{query}", headers=await day.headers(role))
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_day_gives_the_figures_computed_by_hand(day: Day) -> None:
    stats = await read(day, "site=paris-15&from=2026-12-01&to=2026-12-01&by=day")

    (period,) = stats["periods"]
    assert period == stats["total"]
    assert period["start"] == period["end"] == "2026-12-01"
    assert period["appointments"] == {
        "online": 3,
        "phone": 1,
        "counter": 0,
        "partner": 0,
        "total": 4,
    }
    assert period["cancellations"] == {"count": 1, "rate": 0.2}
    assert period["no_shows"] == {"appointments": 1, "tickets": 1, "rate": 0.25}
    assert (period["came_late"], period["closed"]) == (0, 0)  # 9:30's 10 minutes are tolerated
    assert (period["tickets"], period["walk_ins"], period["served"]) == (7, 4, 5)
    # Waits 5, 10, 13, 20, 55, 60 min: mean 163/6, median (13 + 20)/2, p90 55 + 0.5 × 5.
    assert period["waiting_minutes"] == {"mean": 27.2, "median": 16.5, "p90": 57.5}
    assert period["service_level"] == {
        "target_minutes": 15,
        "goal": 0.8,
        "called": 6,
        "within": 3,
        "rate": 0.5,
    }
    assert period["outcomes"] == {
        "solved": 1,
        "alone": 1,
        "escalated": 1,
        "unhelped": 1,
        "unrecorded": 1,
    }
    assert period["escalations"] == {
        "opened": 1,
        "answered": 1,
        "open": 0,
        "overdue": 0,
        "median_response_days": 2.0,
    }
    assert period["satisfaction"] == {
        "answers": 3,
        "mean": 3.67,
        "scores": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
    }
    assert stats["by_hour"] == [
        {"hour": 8, "called": 1, "mean_wait_minutes": 5.0, "service_level": 1.0},
        {"hour": 9, "called": 2, "mean_wait_minutes": 35.0, "service_level": 0.5},
        {"hour": 10, "called": 3, "mean_wait_minutes": 29.3, "service_level": 0.3333},
    ]
    assert stats["by_weekday"] == [
        {
            "weekday": 2,
            "name": "mardi",
            "called": 6,
            "mean_wait_minutes": 27.2,
            "service_level": 0.5,
        }
    ]
    # Help of 30, 20, 15, 30 and 10 minutes.
    assert stats["services"] == [
        {
            "code": "caf",
            "name": "Démarches CAF en ligne",
            "visits": 5,
            "mean_minutes": 21.0,
            "median_minutes": 20.0,
        }
    ]
    first, *others = stats["stations"]
    # 105 minutes of help over the 510 minutes the mairie is open (8:30 to 17:00).
    assert (first["id"], first["visits"], first["busy_minutes"], first["open_minutes"]) == (
        day.station,
        5,
        105.0,
        510.0,
    )
    assert first["occupancy"] == 0.2059
    assert all(other["visits"] == 0 and other["occupancy"] == 0.0 for other in others)


async def test_weeks_and_months_hold_the_same_day_and_empty_days_count_nothing(
    day: Day,
) -> None:
    by_day = await read(day, "site=paris-15&from=2026-11-30&to=2026-12-02&by=day")
    by_week = await read(day, "site=paris-15&from=2026-11-25&to=2026-12-09&by=week")
    by_month = await read(day, "site=paris-15&from=2026-11-15&to=2026-12-31&by=month")

    assert [p["start"] for p in by_day["periods"]] == ["2026-11-30", "2026-12-01", "2026-12-02"]
    assert by_day["periods"][0]["tickets"] == 0
    assert by_day["periods"][0]["waiting_minutes"] == {"mean": None, "median": None, "p90": None}
    assert [(p["start"], p["end"]) for p in by_week["periods"]] == [
        ("2026-11-25", "2026-11-29"),
        ("2026-11-30", "2026-12-06"),
        ("2026-12-07", "2026-12-09"),
    ]
    assert [(p["start"], p["end"]) for p in by_month["periods"]] == [
        ("2026-11-15", "2026-11-30"),
        ("2026-12-01", "2026-12-31"),
    ]
    day_figures = by_day["periods"][1]
    assert {**by_week["periods"][1], "start": "", "end": ""} == {
        **day_figures,
        "start": "",
        "end": "",
    }
    assert {**by_month["periods"][1], "start": "", "end": ""} == {
        **day_figures,
        "start": "",
        "end": "",
    }
    assert by_month["total"]["waiting_minutes"] == day_figures["waiting_minutes"]


async def test_managers_see_their_own_site_and_all_of_paris_is_for_administrators(
    day: Day,
) -> None:
    other = await day.staff.agent("manager", "paris-20")
    other_headers = {"Authorization": f"Bearer {await day.staff.token(other)}"}
    manager = await day.headers("manager")
    base = "/api/v1/stats?from=2026-12-01&to=2026-12-01"

    own = await day.client.get(f"{base}&site=paris-15", headers=manager)
    forbidden = await day.client.get(f"{base}&site=paris-20", headers=manager)
    paris_as_manager = await day.client.get(base, headers=manager)
    paris = await read(day, "from=2026-12-01&to=2026-12-01", role="admin")
    their_own = await day.client.get(f"{base}&site=paris-20", headers=other_headers)
    facilitator = await day.client.get(
        f"{base}&site=paris-15", headers=await day.headers("facilitator")
    )
    anonymous = await day.client.get(f"{base}&site=paris-15")

    assert own.status_code == 200
    assert forbidden.status_code == 403
    assert paris_as_manager.status_code == 403
    assert paris["site"] is None
    assert paris["total"]["tickets"] == own.json()["total"]["tickets"] == 7
    assert len({station["site"] for station in paris["stations"]}) == 17
    assert their_own.json()["total"]["tickets"] == 0
    assert facilitator.status_code == 403
    assert anonymous.status_code == 401


async def test_the_csv_holds_the_same_figures_as_the_api(day: Day) -> None:
    query = "site=paris-15&from=2026-11-30&to=2026-12-01&by=day"
    stats = await read(day, query)
    response = await day.client.get(
        f"/api/v1/stats.csv?{query}", headers=await day.headers("manager")
    )
    rows = list(csv.DictReader(io.StringIO(response.text)))

    assert response.headers["content-type"].startswith("text/csv")
    assert "guichet-paris-15-2026-11-30-2026-12-01.csv" in response.headers["content-disposition"]
    assert [row["period"] for row in rows] == ["2026-11-30", "2026-12-01", "total"]
    tuesday = rows[1]
    figures = stats["periods"][1]
    assert int(tuesday["tickets"]) == figures["tickets"]
    assert int(tuesday["appointments_online"]) == figures["appointments"]["online"]
    assert float(tuesday["wait_median_minutes"]) == figures["waiting_minutes"]["median"]
    assert float(tuesday["wait_p90_minutes"]) == figures["waiting_minutes"]["p90"]
    assert float(tuesday["service_level"]) == figures["service_level"]["rate"]
    assert int(tuesday["outcome_escalated"]) == figures["outcomes"]["escalated"]
    assert float(tuesday["satisfaction_mean"]) == figures["satisfaction"]["mean"]
    assert rows[0]["wait_mean_minutes"] == ""
    assert int(rows[2]["tickets"]) == stats["total"]["tickets"]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("site=paris-15&from=2026-12-02&to=2026-12-01", 400),
        ("site=paris-15&from=2025-01-01&to=2026-12-01", 400),
        ("site=paris-15&by=year", 400),
        ("site=paris-15&from=yesterday", 400),
        ("site=nowhere", 404),
    ],
    ids=["ends-before-it-starts", "over-400-days", "unknown-period", "not-a-date", "no-such-site"],
)
async def test_bad_ranges_are_refused_in_plain_words_and_an_unknown_site_is_not_found(
    client: AsyncTestClient[object], staff: Staff, query: str, status: int
) -> None:
    headers = await staff.headers("manager", "paris-15")

    response = await client.get(f"/api/v1/stats?{query}", headers=headers)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


async def test_the_stats_page_shows_the_figures_and_charts_with_their_numbers(day: Day) -> None:
    manager = day.emails["manager"]
    logged = await day.client.post(
        "/connexion", data={"email": manager, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert logged.status_code == 303

    page = await day.client.get("/statistiques/paris-15?du=2026-12-01&au=2026-12-01&par=jour")
    paris = await day.client.get("/statistiques")
    elsewhere = await day.client.get("/statistiques/paris-20")
    csv_link = await day.client.get(
        "/api/v1/stats.csv?from=2026-12-01&to=2026-12-01&by=day&site=paris-15"
    )

    assert page.status_code == 200
    # Each chart is drawn twice, wide and narrow; the page shows one of them.
    assert page.text.count('<svg xmlns="http://www.w3.org/2000/svg"') == 10
    assert "<dt>Attente moyenne</dt><dd>27,2 min</dd>" in page.text
    assert "<dt>Attente médiane</dt><dd>16,5 min</dd>" in page.text
    assert "<dt>Appelées en moins de 15 min</dt><dd>50 %</dd>" in page.text
    assert '<th scope="row">10 h</th><td>29,3 min</td>' in page.text
    assert "Objectif : 80 %" in page.text
    assert (
        'href="/api/v1/stats.csv?from=2026-12-01&amp;to=2026-12-01&amp;by=day&amp;site=paris-15"'
        in (page.text)
    )
    assert csv_link.status_code == 200
    assert paris.status_code == 403
    assert elsewhere.status_code == 403
