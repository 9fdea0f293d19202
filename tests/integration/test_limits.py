"""Every limit at its edge, on both databases: the per-address budgets of a real server
counted apart for two loopback addresses (staff exempt where the design says so), the
login limits across accounts and across addresses, the slow-down of wrong passwords up to
its ceiling and the day after which failures are forgotten, and the end of a console
session after two idle hours or twelve hours after login. Time is the test's clock, but
for the server's per-minute budgets, whose windows are long beside a few local requests."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import websockets
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from websockets.exceptions import InvalidStatus

from app.accounts.models import Agent
from app.accounts.service import create_agent, slow_down_delay
from app.accounts.sessions import COOKIE
from app.asgi import create_app
from app.audit.models import AuditEvent
from app.db import Database
from tests.conftest import STAFF_PASSWORD, TEST_SECRET, Clock, Staff, desks, make_settings
from tests.integration.test_staff_pages import csrf_of
from tests.servers import Server, running

BASE = "http://127.0.0.1"
CLIENT = AsyncTestClient[object]
WRONG = "not the password at all"
SEARCH = "/api/v1/sites/paris-15/availability"


class Ticker:
    """The monotonic clock of the app's per-minute limits, stopped for the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def login(desk: httpx.AsyncClient, email: str, password: str = STAFF_PASSWORD) -> int:
    response = await desk.post("/api/v1/auth/token", json={"email": email, "password": password})
    return response.status_code


async def refused_wait(desk: httpx.AsyncClient, email: str) -> int:
    """The Retry-After of a login with the right password, which must be refused."""
    response = await desk.post(
        "/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 429, response.text
    return int(response.headers["retry-after"])


def unknown(number: int) -> str:
    return f"nobody.{number}@agents.example.org"


# Login limits, in this process with the test's clocks


async def test_the_per_minute_login_limits_count_per_account_from_an_address_and_per_address(
    database_url: str, staff: Staff, clock: Clock
) -> None:
    # Two a minute per account from one address, ten a minute per address.
    clock.set("2026-12-01 09:00")
    email = await staff.agent("reception", "paris-15")
    app = create_app(make_settings(database_url, login_attempts_per_minute=2), clock=clock)
    ticker = Ticker()
    for limit in vars(app.state.limits).values():
        limit.clock = ticker
    async with desks(app, "127.0.0.1", "127.0.0.2") as (desk, guesser):
        on_one_account = [await login(guesser, email, WRONG) for _ in range(2)]
        third = await guesser.post("/api/v1/auth/token", json={"email": email, "password": WRONG})
        same_account_elsewhere = await login(desk, email, WRONG)
        # The third try above counted against the address: seven more make its ten.
        spread = [await login(guesser, unknown(n // 2), WRONG) for n in range(7)]
        eleventh = await guesser.post(
            "/api/v1/auth/token", json={"email": unknown(99), "password": WRONG}
        )
        other_address = await login(desk, unknown(99), WRONG)
        ticker.now += 5
        still = await login(guesser, unknown(98), WRONG)
        ticker.now += 1
        next_one = await login(guesser, unknown(98), WRONG)

    assert on_one_account == [401, 401]
    assert third.status_code == 429
    assert third.headers["retry-after"] == "30"
    assert same_account_elsewhere == 401
    assert spread == [401] * 7
    assert eleventh.status_code == 429
    assert eleventh.headers["retry-after"] == "6"
    assert other_address == 401
    assert still == 429
    assert next_one == 401


async def test_an_address_spraying_many_accounts_is_slowed_at_its_fiftieth_failure_exactly(
    database_url: str, staff: Staff, clock: Clock
) -> None:
    start = clock.set("2026-12-01 09:00")
    email = await staff.agent("reception", "paris-15")
    app = create_app(make_settings(database_url, login_attempts_per_minute=10_000), clock=clock)
    async with desks(app, "127.0.0.1", "127.0.0.2") as (desk, sprayer):
        # Seven tries on each of seven accounts: no account's own limit of ten is reached.
        sprayed = [await login(sprayer, unknown(n % 7), WRONG) for n in range(49)]
        after_49 = await login(sprayer, email)
        fiftieth = await login(sprayer, unknown(7), WRONG)
        after_50 = await refused_wait(sprayer, email)
        at_the_desk = await login(desk, email)
        clock.now = start + timedelta(seconds=60)
        fifty_first = await login(sprayer, unknown(8), WRONG)
        after_51 = await refused_wait(sprayer, email)

    assert sprayed == [401] * 49
    assert after_49 == 200
    assert fiftieth == 401
    assert after_50 == 60
    assert at_the_desk == 200
    assert fifty_first == 401
    assert after_51 == 120


async def test_wrong_passwords_on_one_account_from_two_addresses_are_counted_apart(
    database_url: str, staff: Staff, clock: Clock
) -> None:
    # No account-wide ceiling: eighteen failures over the account slow down no one, the
    # tenth of one address slows down that address only.
    clock.set("2026-12-01 09:00")
    email = await staff.agent("facilitator", "paris-15")
    app = create_app(make_settings(database_url, login_attempts_per_minute=10_000), clock=clock)
    async with desks(app, "127.0.0.1", "127.0.0.2") as (first, second):
        failures = [await login(first, email, WRONG) for _ in range(9)]
        failures += [await login(second, email, WRONG) for _ in range(9)]
        after_nine_each = await login(second, email)
        tenth_from_first = await login(first, email, WRONG)
        first_waits = await refused_wait(first, email)
        second_after = await login(second, email)

    assert failures == [401] * 18
    assert after_nine_each == 200
    assert tenth_from_first == 401
    assert first_waits == 60
    assert second_after == 200


def test_the_delay_after_wrong_passwords_doubles_up_to_an_hour_and_stays_there() -> None:
    minutes = {
        failures: slow_down_delay(failures, 10) / timedelta(minutes=1)
        for failures in (0, 9, 10, 11, 14, 15, 16, 17, 30, 10_000)
    }

    assert minutes == {
        0: 0,
        9: 0,
        10: 1,
        11: 2,
        14: 16,
        15: 32,  # the last delay below the ceiling
        16: 60,  # 64 minutes, held at the ceiling
        17: 60,
        30: 60,
        10_000: 60,
    }


async def test_the_slow_down_grows_with_each_failure_waited_out_and_never_beyond_an_hour(
    database_url: str, staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 09:00")
    email = await staff.agent("reception", "paris-15")
    app = create_app(make_settings(database_url, login_attempts_per_minute=10_000), clock=clock)
    async with desks(app, "127.0.0.2") as (guesser,):
        free = [await login(guesser, email, WRONG) for _ in range(10)]
        waits, failures = [], []
        for _ in range(8):
            waits.append(await refused_wait(guesser, email))
            assert clock.now is not None
            clock.now += timedelta(seconds=waits[-1])
            failures.append(await login(guesser, email, WRONG))

    assert free == [401] * 10
    # After the 10th to the 17th failure.
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert failures == [401] * 8


async def test_failures_are_forgotten_a_day_after_the_last_one_and_not_before(
    database_url: str, staff: Staff, clock: Clock
) -> None:
    start = clock.set("2026-12-01 09:00")
    kept = await staff.agent("reception", "paris-15")
    forgotten = await staff.agent("reception", "paris-15")
    app = create_app(make_settings(database_url, login_attempts_per_minute=10_000), clock=clock)
    async with desks(app, "127.0.0.2") as (guesser,):
        for email in (kept, forgotten):
            assert [await login(guesser, email, WRONG) for _ in range(10)] == [401] * 10
        clock.now = start + timedelta(days=1)
        a_day_later = await login(guesser, kept, WRONG)
        kept_wait = await refused_wait(guesser, kept)
        clock.now = start + timedelta(days=1, seconds=1)
        a_day_and_a_second_later = await login(guesser, forgotten, WRONG)
        fresh = await login(guesser, forgotten, WRONG)

    assert a_day_later == 401
    assert kept_wait == 120, "the eleventh failure within a day"
    assert a_day_and_a_second_later == 401
    assert fresh == 401, "counted from one again: not slowed down"


# Console sessions, with the test's clock


async def with_cookie(client: CLIENT, cookie: str) -> int:
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    return (await client.get("/api/v1/auth/me")).status_code


async def session_of(client: CLIENT, email: str) -> str:
    client.cookies.clear()
    response = await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    cookie: str = response.cookies[COOKIE]
    return cookie


async def test_a_session_used_all_day_ends_at_exactly_twelve_hours_after_login(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    start = clock.set("2026-12-01 07:00")
    cookie = await session_of(client, await staff.agent("reception", "paris-15"))
    busy = []
    for minutes in range(100, 12 * 60, 100):
        clock.now = start + timedelta(minutes=minutes)
        busy.append(await with_cookie(client, cookie))
    clock.now = start + timedelta(hours=12, seconds=-1)
    last_second = await with_cookie(client, cookie)
    clock.now = start + timedelta(hours=12)
    at_twelve_hours = await with_cookie(client, cookie)
    clock.now = start + timedelta(hours=12, seconds=1)
    after = await with_cookie(client, cookie)

    assert busy == [200] * 7
    assert last_second == 200
    assert at_twelve_hours == 401
    assert after == 401


async def test_a_session_ends_after_more_than_two_idle_hours_counted_from_its_recorded_activity(
    client: CLIENT, staff: Staff, clock: Clock
) -> None:
    start = clock.set("2026-12-01 09:00")
    email = await staff.agent("reception", "paris-15")
    before, at, after, unrecorded, recorded = [await session_of(client, email) for _ in range(5)]
    # Activity is written at most every five minutes: a request sooner is not recorded.
    clock.now = start + timedelta(minutes=5, seconds=-1)
    early = await with_cookie(client, unrecorded)
    clock.now = start + timedelta(minutes=5)
    written = await with_cookie(client, recorded)

    idle = timedelta(hours=2)
    clock.now = start + idle - timedelta(seconds=1)
    statuses = {"a second before": await with_cookie(client, before)}
    clock.now = start + idle
    statuses["at two hours"] = await with_cookie(client, at)
    clock.now = start + idle + timedelta(seconds=1)
    statuses["a second after"] = await with_cookie(client, after)
    statuses["a second after, the last request unrecorded"] = await with_cookie(client, unrecorded)
    clock.now = start + timedelta(minutes=5) + idle
    statuses["two hours after the recorded request"] = await with_cookie(client, recorded)

    assert (early, written) == (200, 200)
    assert statuses == {
        "a second before": 200,
        "at two hours": 200,
        "a second after": 401,
        "a second after, the last request unrecorded": 401,
        "two hours after the recorded request": 200,
    }


# Per-address budgets of a real server, from two loopback addresses


def from_address(server: Server, address: str) -> httpx.AsyncClient:
    """A client of `server` whose connections leave from `address` (127.0.0.0/8 is all
    loopback on Linux)."""
    return httpx.AsyncClient(
        base_url=server.base,
        transport=httpx.AsyncHTTPTransport(local_address=address),
        timeout=30,
    )


async def new_agent(db: Database, role: str, name: str = "limits") -> str:
    email = f"{role}.{name}@agents.example.org"
    async with db.writing() as session:
        await create_agent(
            session, email=email, password=STAFF_PASSWORD, role=role, site_slugs=["paris-15"]
        )
    return email


def environment(database_url: str, **settings: str) -> dict[str, str]:
    return {
        "GUICHET_DATABASE_URL": database_url,
        "GUICHET_SECRET_KEY": TEST_SECRET,
        "GUICHET_LOG_LEVEL": "WARNING",
        "GUICHET_SCHEDULER": "false",
        **{f"GUICHET_{name.upper()}": value for name, value in settings.items()},
    }


class Bookings:
    """Bookings of a mairie's free slots (paris-15's unless told), one slot and one person
    each (people of one `name`, told apart by their email), at the counter when made with
    credentials and online without, unless told."""

    def __init__(
        self,
        starts: list[str],
        site: str = "paris-15",
        channel: str | None = None,
        name: str = "Rosalie Vernet",
    ) -> None:
        self.starts = iter(starts)
        self.site = site
        self.channel = channel
        self.name = name
        self.made = 0

    async def make(self, client: httpx.AsyncClient, **headers: str) -> httpx.Response:
        self.made += 1
        return await client.post(
            "/api/v1/appointments",
            json={
                "site": self.site,
                "service": "caf",
                "start": next(self.starts),
                "name": self.name,
                "email": f"{self.name.split()[0].lower()}.{self.made}@example.org",
                "channel": self.channel or ("counter" if headers else "online"),
            },
            headers=headers,
        )


def waited(answer: httpx.Response, period: int) -> bool:
    """A 429 whose Retry-After is a whole number of seconds within the limit's period."""
    return answer.status_code == 429 and 1 <= int(answer.headers["retry-after"]) <= period


@pytest.mark.slow
async def test_the_request_budget_counts_each_address_and_believes_only_the_listed_proxy(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    # Three requests a minute per address; 127.0.0.1 is the proxy, 127.0.0.2 is not.
    email = await new_agent(db, "reception")
    settings = environment(database_url, requests_per_minute="3", trusted_proxies="127.0.0.1")
    with running(tmp_path, settings) as (server,):
        async with (
            from_address(server, "127.0.0.1") as proxy,
            from_address(server, "127.0.0.2") as visitor,
            from_address(server, "127.0.0.3") as desk,
        ):
            claimed = [
                await visitor.get("/api/v1/sites", headers={"X-Forwarded-For": f"203.0.113.{n}"})
                for n in range(1, 5)
            ]
            proxied = [
                await proxy.get("/api/v1/sites", headers={"X-Forwarded-For": "198.51.100.7"})
                for _ in range(4)
            ]
            another_behind_the_proxy = await proxy.get(
                "/api/v1/sites", headers={"X-Forwarded-For": "198.51.100.8"}
            )
            the_proxy_itself = await proxy.get("/api/v1/sites")
            token = await desk.post(
                "/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD}
            )
            staff_at_the_visitors_address = await visitor.get(
                "/api/v1/auth/me",
                headers={"Authorization": f"Bearer {token.json()['access_token']}"},
            )

    assert [answer.status_code for answer in claimed[:3]] == [200] * 3
    assert waited(claimed[3], 20), "a header from a peer that is no proxy is not believed"
    assert [answer.status_code for answer in proxied[:3]] == [200] * 3
    assert waited(proxied[3], 20)
    assert another_behind_the_proxy.status_code == 200
    assert the_proxy_itself.status_code == 200
    assert token.status_code == 200
    # Every request counts against its address, staff's too (decision 0007).
    assert waited(staff_at_the_visitors_address, 20)


@pytest.mark.slow
async def test_the_booking_budgets_count_each_address_and_exempt_staff_bookings(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    # Two a minute of each budget, one login a minute per account from an address;
    # 127.0.0.3 prepares, 127.0.0.2 runs out, 127.0.0.1 is its neighbour.
    with_token = await new_agent(db, "reception", "token")
    with_session = await new_agent(db, "reception", "session")
    settings = environment(
        database_url,
        availability_requests_per_minute="2",
        booking_requests_per_minute="2",
        token_lookups_per_minute="2",
        login_attempts_per_minute="1",
    )
    with running(tmp_path, settings) as (server,):
        async with (
            from_address(server, "127.0.0.1") as neighbour,
            from_address(server, "127.0.0.2") as busy,
            from_address(server, "127.0.0.3") as desk,
        ):
            found = await desk.get("/api/v1/sites/paris-15/availability", params={"service": "caf"})
            booking = Bookings([slot["start"] for slot in found.json()["slots"]])
            token = await desk.post(
                "/api/v1/auth/token", json={"email": with_token, "password": STAFF_PASSWORD}
            )
            logged_in = await desk.post(
                "/connexion",
                data={"email": with_session, "password": STAFF_PASSWORD},
                follow_redirects=False,
            )
            cookie = {"Cookie": f"{COOKIE}={logged_in.cookies[COOKIE]}"}
            console = await desk.get("/console", headers=cookie)

            searches = [await busy.get(SEARCH, params={"service": "caf"}) for _ in range(3)]
            neighbour_search = await neighbour.get(SEARCH, params={"service": "caf"})
            lookups = [await busy.get(f"/api/v1/appointments/guess-{n:026d}") for n in range(3)]
            neighbour_lookup = await neighbour.get(f"/api/v1/appointments/guess-{9:026d}")
            bookings = [await booking.make(busy) for _ in range(3)]
            neighbour_booking = await booking.make(neighbour)
            by_token = [
                await booking.make(busy, Authorization=f"Bearer {token.json()['access_token']}")
                for _ in range(2)
            ]
            by_session = await booking.make(
                busy, **cookie, **{"X-CSRF-Token": csrf_of(console.text)}
            )
            logins = [await login(busy, with_token, WRONG) for _ in range(2)]
            neighbour_login = await login(neighbour, with_token, WRONG)

    assert found.status_code == 200
    assert [answer.status_code for answer in searches[:2]] == [200, 200]
    assert waited(searches[2], 30)
    assert neighbour_search.status_code == 200
    assert [answer.status_code for answer in lookups[:2]] == [404, 404]
    assert waited(lookups[2], 30)
    assert neighbour_lookup.status_code == 404
    assert [answer.status_code for answer in bookings[:2]] == [201, 201]
    assert waited(bookings[2], 30)
    assert neighbour_booking.status_code == 201
    assert [answer.status_code for answer in by_token] == [201, 201], "staff are exempt"
    assert by_session.status_code == 201, by_session.text
    assert by_session.json()["channel"] == "counter"
    assert logins == [401, 429]
    assert neighbour_login == 401, "tries made elsewhere never hold an agent back"


async def test_staff_moving_and_cancelling_by_a_booking_s_link_are_spared_the_budget_and_named(
    database_url: str, staff: Staff, clock: Clock
) -> None:
    # Two changes a minute per address. Reception moves and cancels bookings of its mairie
    # by their links through the API, with its token, far more often than that, and the
    # journal names it. Staff of another mairie, anyone at the same address, or credentials
    # that do not hold keep to the budget; the other mairie's agent is named all the same.
    clock.set("2026-12-01 09:00")
    email = await staff.agent("reception", "paris-15")
    elsewhere = await staff.agent("reception", "paris-20")
    settings = make_settings(
        database_url, booking_requests_per_minute=2, availability_requests_per_minute=100
    )
    app = create_app(settings, clock=clock)
    async with desks(app, "127.0.0.1") as (desk,):
        found = await desk.get(SEARCH, params={"service": "caf"})
        starts = [slot["start"] for slot in found.json()["slots"]]
        bearer, other = [
            {"Authorization": f"Bearer {(await token_of(desk, who)).json()['access_token']}"}
            for who in (email, elsewhere)
        ]
        booking = Bookings(starts[:9])
        made = [(await booking.make(desk, **bearer)).json() for _ in range(9)]
        tokens = [appointment["token"] for appointment in made]
        moved = [
            await desk.post(
                f"/api/v1/appointments/{token}/reschedule",
                json={"start": start},
                headers=bearer,
            )
            for token, start in zip(tokens[:3], starts[9:12], strict=True)
        ]
        cancelled = [
            await desk.post(f"/api/v1/appointments/{token}/cancel", headers=bearer)
            for token in tokens[3:6]
        ]
        by_another_mairie = await desk.post(
            f"/api/v1/appointments/{tokens[6]}/cancel", headers=other
        )
        anyone = await desk.post(f"/api/v1/appointments/{tokens[7]}/cancel")
        forged = await desk.post(
            f"/api/v1/appointments/{tokens[8]}/cancel",
            headers={"Authorization": "Bearer not-a-token"},
        )
        unheld = await desk.post(f"/api/v1/appointments/{tokens[8]}/cancel")
        again_from_another_mairie = await desk.post(
            f"/api/v1/appointments/{tokens[8]}/cancel", headers=other
        )
    async with staff.db.session() as session:
        journal = await session.execute(
            select(AuditEvent.action, AuditEvent.target, Agent.email)
            .join(Agent, Agent.id == AuditEvent.agent_id)
            .where(AuditEvent.action.in_(["appointment.moved", "appointment.cancelled"]))
            .order_by(AuditEvent.id)
        )
        named = [tuple(row) for row in journal]

    assert [answer.status_code for answer in moved] == [200] * 3, moved[-1].text
    assert [answer.status_code for answer in cancelled] == [200] * 3, cancelled[-1].text
    assert [answer.json()["status"] for answer in cancelled] == ["cancelled"] * 3
    assert by_another_mairie.status_code == 200, "the link is what these routes ask"
    assert anyone.status_code == 200
    assert waited(forged, 60), "credentials that do not hold are a request like anyone's"
    assert waited(unheld, 60)
    assert waited(again_from_another_mairie, 60), "another mairie's staff keep to the budget"
    references = [f"appointment:{appointment['reference']}" for appointment in made]
    assert named == [
        *[("appointment.moved", reference, email) for reference in references[:3]],
        *[("appointment.cancelled", reference, email) for reference in references[3:6]],
        ("appointment.cancelled", references[6], elsewhere),
    ]


async def test_a_partner_moving_and_cancelling_by_the_links_of_its_mairie_is_spared_the_budget(
    database_url: str, staff: Staff, clock: Clock
) -> None:
    # Two changes a minute per address. A partner that refers people at the 15e moves and
    # cancels bookings of the 15e by their links, with its key, far more often than that,
    # before and after the address's budget is spent. At the 20e, where it refers nobody,
    # its key is a request like anyone's. A partner is no agent: the journal, which names
    # the agents who book at the 20e, names nobody for what the partner did.
    clock.set("2026-12-01 09:00")
    admin = await staff.agent("admin")
    elsewhere = await staff.agent("reception", "paris-20")
    settings = make_settings(
        database_url, booking_requests_per_minute=2, availability_requests_per_minute=100
    )
    app = create_app(settings, clock=clock)
    async with desks(app, "127.0.0.1") as (desk,):
        administrator, at_the_20e = [
            {"Authorization": f"Bearer {(await token_of(desk, who)).json()['access_token']}"}
            for who in (admin, elsewhere)
        ]
        partner = await desk.post(
            "/api/v1/admin/partners",
            json={
                "name": "CCAS du 15e",
                "email": "accueil@ccas15.example.org",
                "sites": ["paris-15"],
            },
            headers=administrator,
        )
        key = {"Authorization": f"Bearer {partner.json()['key']}"}
        found = await desk.get(SEARCH, params={"service": "caf"})
        starts = [slot["start"] for slot in found.json()["slots"]]
        found_elsewhere = await desk.get(
            "/api/v1/sites/paris-20/availability", params={"service": "caf"}
        )
        starts_elsewhere = [slot["start"] for slot in found_elsewhere.json()["slots"]]
        referred = Bookings(starts[:7], channel="partner")
        made = [(await referred.make(desk, **key)).json() for _ in range(7)]
        tokens = [appointment["token"] for appointment in made]
        booked_elsewhere = Bookings(starts_elsewhere[:3], site="paris-20", name="Hortense Delaunay")
        made_elsewhere = [
            (await booked_elsewhere.make(desk, **at_the_20e)).json() for _ in range(3)
        ]
        others = [appointment["token"] for appointment in made_elsewhere]
        moved = [
            await desk.post(
                f"/api/v1/appointments/{token}/reschedule", json={"start": start}, headers=key
            )
            for token, start in zip(tokens[:3], starts[7:10], strict=True)
        ]
        cancelled = [
            await desk.post(f"/api/v1/appointments/{token}/cancel", headers=key)
            for token in tokens[3:6]
        ]
        moved_elsewhere = await desk.post(
            f"/api/v1/appointments/{others[0]}/reschedule",
            json={"start": starts_elsewhere[3]},
            headers=key,
        )
        cancelled_elsewhere = await desk.post(
            f"/api/v1/appointments/{others[1]}/cancel", headers=key
        )
        beyond_the_budget_elsewhere = await desk.post(
            f"/api/v1/appointments/{others[2]}/cancel", headers=key
        )
        anyone = await desk.post(f"/api/v1/appointments/{tokens[6]}/cancel")
        still_spared = await desk.post(f"/api/v1/appointments/{tokens[6]}/cancel", headers=key)
    async with staff.db.session() as session:
        journal = await session.execute(
            select(AuditEvent.action, AuditEvent.target, AuditEvent.agent_id)
            .where(AuditEvent.action.like("appointment.%"))
            .order_by(AuditEvent.id)
        )
        written = [tuple(row) for row in journal]
        agent_of_the_20e = await session.scalar(select(Agent.id).where(Agent.email == elsewhere))

    assert partner.status_code == 201, partner.text
    assert [answer["channel"] for answer in made] == ["partner"] * 7
    assert [answer.status_code for answer in moved] == [200] * 3, moved[-1].text
    assert [answer.json()["start"] for answer in moved] == starts[7:10]
    assert [answer.status_code for answer in cancelled] == [200] * 3, cancelled[-1].text
    assert [answer.json()["status"] for answer in cancelled] == ["cancelled"] * 3
    assert moved_elsewhere.status_code == 200, "the link is what these routes ask"
    assert cancelled_elsewhere.status_code == 200
    assert waited(beyond_the_budget_elsewhere, 60), "at another mairie a key keeps to the budget"
    assert waited(anyone, 60)
    assert still_spared.status_code == 200, still_spared.text
    assert still_spared.json()["status"] == "cancelled"
    assert written == [
        ("appointment.booked", f"appointment:{appointment['reference']}", agent_of_the_20e)
        for appointment in made_elsewhere
    ]


async def test_staff_signed_in_to_the_console_are_spared_the_budget_by_link_with_its_csrf_token(
    database_url: str, staff: Staff, clock: Clock
) -> None:
    # Two changes a minute per address. Reception of the 15e, signed in through the staff
    # pages, moves and cancels bookings of its mairie by their links with its session
    # cookie and the CSRF token of its console in the X-CSRF-Token header, far more often
    # than that, and the journal names it. The same cookie without the token, or with a
    # wrong one, is a request like anyone's: it keeps to the budget, is never refused for
    # its credentials, and names nobody.
    clock.set("2026-12-01 09:00")
    email = await staff.agent("reception", "paris-15")
    settings = make_settings(
        database_url, booking_requests_per_minute=2, availability_requests_per_minute=100
    )
    app = create_app(settings, clock=clock)
    async with desks(app, "127.0.0.1") as (desk,):
        signed_in = await desk.post(
            "/connexion",
            data={"email": email, "password": STAFF_PASSWORD},
            follow_redirects=False,
        )
        cookie = {"Cookie": f"{COOKIE}={signed_in.cookies[COOKIE]}"}
        desk.cookies.clear()
        console = await desk.get("/console", headers=cookie)
        with_token = {**cookie, "X-CSRF-Token": csrf_of(console.text)}
        found = await desk.get(SEARCH, params={"service": "caf"})
        starts = [slot["start"] for slot in found.json()["slots"]]
        booking = Bookings(starts[:10])
        made = [(await booking.make(desk, **with_token)).json() for _ in range(10)]
        tokens = [appointment["token"] for appointment in made]
        moved = [
            await desk.post(
                f"/api/v1/appointments/{token}/reschedule",
                json={"start": start},
                headers=with_token,
            )
            for token, start in zip(tokens[:3], starts[10:13], strict=True)
        ]
        cancelled = [
            await desk.post(f"/api/v1/appointments/{token}/cancel", headers=with_token)
            for token in tokens[3:6]
        ]
        without_token = [
            await desk.post(
                f"/api/v1/appointments/{tokens[6]}/reschedule",
                json={"start": starts[13]},
                headers=cookie,
            ),
            await desk.post(f"/api/v1/appointments/{tokens[7]}/cancel", headers=cookie),
        ]
        beyond_the_budget = await desk.post(
            f"/api/v1/appointments/{tokens[8]}/cancel", headers=cookie
        )
        wrong_token = await desk.post(
            f"/api/v1/appointments/{tokens[8]}/cancel",
            headers={**cookie, "X-CSRF-Token": "0" * 64},
        )
        still_spared = await desk.post(
            f"/api/v1/appointments/{tokens[9]}/cancel", headers=with_token
        )
    async with staff.db.session() as session:
        journal = await session.execute(
            select(AuditEvent.action, AuditEvent.target, Agent.email)
            .join(Agent, Agent.id == AuditEvent.agent_id, isouter=True)
            .where(AuditEvent.action.in_(["appointment.moved", "appointment.cancelled"]))
            .order_by(AuditEvent.id)
        )
        named = [tuple(row) for row in journal]

    assert signed_in.status_code == 303, signed_in.text
    assert [answer["channel"] for answer in made] == ["counter"] * 10
    assert [answer.status_code for answer in moved] == [200] * 3, moved[-1].text
    assert [answer.json()["start"] for answer in moved] == starts[10:13]
    assert [answer.status_code for answer in cancelled] == [200] * 3, cancelled[-1].text
    assert [answer.json()["status"] for answer in cancelled] == ["cancelled"] * 3
    assert [answer.status_code for answer in without_token] == [200] * 2, without_token[-1].text
    assert waited(beyond_the_budget, 60), "a cookie without its token is a request like anyone's"
    assert waited(wrong_token, 60)
    assert still_spared.status_code == 200, still_spared.text
    references = [f"appointment:{appointment['reference']}" for appointment in made]
    assert named == [
        *[("appointment.moved", reference, email) for reference in references[:3]],
        *[("appointment.cancelled", reference, email) for reference in references[3:6]],
        ("appointment.cancelled", references[9], email),
    ]


async def token_of(desk: httpx.AsyncClient, email: str) -> httpx.Response:
    return await desk.post("/api/v1/auth/token", json={"email": email, "password": STAFF_PASSWORD})


@pytest.mark.slow
async def test_an_ipv6_client_has_one_budget_for_its_whole_64(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    # Behind the proxy, a client holding a /64 sends each request from another address of
    # it: requests, logins and websockets are counted for the /64 as bookings already were.
    email = await new_agent(db, "reception")
    settings = environment(
        database_url,
        requests_per_minute="3",
        login_attempts_per_minute="2",
        websockets_per_address="2",
        trusted_proxies="127.0.0.1",
    )

    def at(address: str) -> dict[str, str]:
        return {"X-Forwarded-For": address}

    with running(tmp_path, settings) as (server,):
        async with from_address(server, "127.0.0.1") as proxy:
            requests = [
                await proxy.get("/api/v1/sites", headers=at(f"2001:db8:a:1::{n}"))
                for n in range(1, 5)
            ]
            next_64 = await proxy.get("/api/v1/sites", headers=at("2001:db8:a:2::1"))
            logins = [
                await proxy.post(
                    "/api/v1/auth/token",
                    json={"email": email, "password": "wrong password"},
                    headers=at(f"2001:db8:b:1:{n}::1"),
                )
                for n in range(1, 4)
            ]
            login_next_64 = await proxy.post(
                "/api/v1/auth/token",
                json={"email": email, "password": "wrong password"},
                headers=at("2001:db8:b:2::1"),
            )
        assert [answer.status_code for answer in requests[:3]] == [200] * 3
        assert waited(requests[3], 20)
        assert next_64.status_code == 200
        assert [answer.status_code for answer in logins[:2]] == [401, 401]
        assert waited(logins[2], 30), "the third try on the account from the same /64"
        assert login_next_64.status_code == 401
        display = f"{server.ws}/ws/sites/paris-15/display"
        async with (
            websockets.connect(display, additional_headers=at("2001:db8:c:1::1")),
            websockets.connect(display, additional_headers=at("2001:db8:c:1::2")),
        ):
            with pytest.raises(InvalidStatus) as third:
                async with websockets.connect(
                    display, additional_headers=at("2001:db8:c:1:ffff::3")
                ):
                    pass
            async with websockets.connect(display, additional_headers=at("2001:db8:c:2::1")):
                pass  # another /64 connects

    assert third.value.response.status_code == 403


async def test_forwarded_values_that_are_not_addresses_share_one_budget(
    database_url: str, tmp_path: Path
) -> None:
    # A proxy that passes on whatever a client wrote in X-Forwarded-For would otherwise
    # give each new word a budget of its own.
    settings = environment(database_url, requests_per_minute="3", trusted_proxies="127.0.0.1")
    with running(tmp_path, settings) as (server,):
        async with from_address(server, "127.0.0.1") as proxy:
            words = [
                await proxy.get("/api/v1/sites", headers={"X-Forwarded-For": word})
                for word in ("alice", "bob", "carol", "dave")
            ]
            address = await proxy.get("/api/v1/sites", headers={"X-Forwarded-For": "203.0.113.9"})

    assert [answer.status_code for answer in words[:3]] == [200] * 3
    assert waited(words[3], 20)
    assert address.status_code == 200
