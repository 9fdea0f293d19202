"""A manager acts only where they run every mairie the thing acted on touches, on both
databases.

The finding behind it: a paris-15 manager promoted a facilitator who also works at
paris-20, reset their password, logged in as them, and was then a manager at paris-20;
paris-20's log showed nothing. So an agent of several mairies is changed by a manager
only if all of them are the manager's (an administrator otherwise), and every change of
an account goes to the log of every mairie the agent works at.

The walk below goes through every staff operation of the OpenAPI document as a manager of
paris-15 aimed at a thing of paris-20 (or of paris-15 and paris-20: an agent of both),
named in the path, the query or the body, also under paris-15's address: each attempt is
refused with 403 and changes nothing in the database. An operation the document lists and
the rules below do not is a failure, so that a new one cannot slip in unchecked.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app import models  # noqa: F401  (every table in the metadata)
from app.config import Settings
from app.db import Base, Database
from tests.conftest import STAFF_PASSWORD, Clock, Staff, make_settings
from tests.integration.test_staff_endpoints import staff_operations

CLIENT = AsyncTestClient[object]
HERE, ELSEWHERE = "paris-15", "paris-20"
NEW_PASSWORD = "un nouveau mot de passe bien long"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The tests log several agents in from the one test address."""
    return make_settings(database_url, login_attempts_per_minute=1000)


@pytest.fixture(autouse=True)
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:30")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def log_in(client: CLIENT, email: str, password: str = STAFF_PASSWORD) -> int:
    response = await client.post("/api/v1/auth/token", json={"email": email, "password": password})
    return response.status_code


async def shared_facilitator(client: CLIENT, admin: dict[str, str]) -> tuple[int, str]:
    """The administrator creates a facilitator who works at paris-15 and paris-20."""
    created = await client.post(
        "/api/v1/admin/agents",
        json={
            "email": "ines.partagee@agents.example.org",
            "name": "Inès",
            "role": "facilitator",
            "password": STAFF_PASSWORD,
            "sites": [HERE, ELSEWHERE],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    return created.json()["id"], created.json()["email"]


async def log_of(client: CLIENT, headers: dict[str, str], slug: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/audit", params={"site": slug}, headers=headers)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events


# The finding, as it was found


async def test_a_manager_cannot_promote_an_agent_who_also_works_elsewhere(
    client: CLIENT, staff: Staff
) -> None:
    admin = await staff.headers("admin")
    manager = await staff.headers("manager", HERE)
    shared, email = await shared_facilitator(client, admin)
    path = f"/api/v1/admin/agents/{shared}"

    promoted = await client.patch(path, json={"role": "manager"}, headers=manager)
    reset = await client.post(f"{path}/password", json={"password": NEW_PASSWORD}, headers=manager)

    assert promoted.status_code == 403, promoted.text
    assert promoted.json()["code"] == "shared_agent"
    assert "paris-20" in promoted.json()["detail"]
    assert "administrator" in promoted.json()["detail"]
    assert reset.status_code == 403, reset.text
    assert reset.json()["code"] == "shared_agent"
    # Nothing changed: the old password still works, the new one does not, and the agent
    # is no manager at paris-20.
    assert await log_in(client, email, NEW_PASSWORD) == 401
    assert await log_in(client, email) == 200
    account = (await client.get(path, headers=admin)).json()
    assert account["role"] == "facilitator"
    as_agent = bearer(await staff.token(email))
    assert (
        await client.get(f"/api/v1/admin/sites/{ELSEWHERE}", headers=as_agent)
    ).status_code == 403


async def test_a_manager_changes_nothing_of_an_agent_who_also_works_elsewhere(
    client: CLIENT, staff: Staff
) -> None:
    admin = await staff.headers("admin")
    manager = await staff.headers("manager", HERE)
    shared, _ = await shared_facilitator(client, admin)
    path = f"/api/v1/admin/agents/{shared}"
    before = (await client.get(path, headers=admin)).json()

    answers = [
        await client.patch(path, json=change, headers=manager)
        for change in (
            {"role": "reception"},
            {"name": "Autre nom"},
            {"sites": [ELSEWHERE]},
            {"active": False},
        )
    ]
    answers.append(await client.post(f"{path}/unlock", headers=manager))

    assert [answer.status_code for answer in answers] == [403] * 5
    assert {answer.json()["code"] for answer in answers} == {"shared_agent"}
    assert (await client.get(path, headers=admin)).json() == before
    # Reading the account of someone who works at one's mairie stays open.
    seen = await client.get(path, headers=manager)
    assert seen.status_code == 200
    assert seen.json()["sites"] == [HERE, ELSEWHERE]


async def test_a_manager_of_every_mairie_of_the_agent_and_an_administrator_still_may(
    client: CLIENT, staff: Staff
) -> None:
    admin = await staff.headers("admin")
    both = await staff.headers("manager", HERE, ELSEWHERE)
    only_here = await staff.headers("manager", HERE)
    shared, _ = await shared_facilitator(client, admin)
    local = (
        await client.post(
            "/api/v1/admin/agents",
            json={
                "email": "local@agents.example.org",
                "name": "Local",
                "role": "reception",
                "password": STAFF_PASSWORD,
                "sites": [HERE],
            },
            headers=only_here,
        )
    ).json()["id"]

    by_both = await client.patch(
        f"/api/v1/admin/agents/{shared}", json={"role": "reception"}, headers=both
    )
    by_admin = await client.patch(
        f"/api/v1/admin/agents/{shared}", json={"role": "manager"}, headers=admin
    )
    own_agent = await client.patch(
        f"/api/v1/admin/agents/{local}", json={"role": "facilitator"}, headers=only_here
    )

    assert by_both.status_code == 200, by_both.text
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json()["role"] == "manager"
    assert own_agent.status_code == 200, own_agent.text


async def test_a_change_to_an_agent_is_in_the_log_of_every_mairie_they_work_at(
    client: CLIENT, staff: Staff
) -> None:
    admin = await staff.headers("admin")
    manager_here = await staff.headers("manager", HERE)
    manager_there = await staff.headers("manager", ELSEWHERE)
    shared, _ = await shared_facilitator(client, admin)
    path = f"/api/v1/admin/agents/{shared}"
    target = f"agent:{shared}"

    await client.patch(path, json={"role": "manager"}, headers=admin)
    await client.post(f"{path}/password", json={"password": NEW_PASSWORD}, headers=admin)
    await client.post(f"{path}/unlock", headers=admin)
    moved = await client.patch(path, json={"sites": ["paris-11"]}, headers=admin)
    assert moved.status_code == 200, moved.text

    for headers, slug in ((manager_here, HERE), (manager_there, ELSEWHERE)):
        actions = [
            e["action"] for e in await log_of(client, headers, slug) if e["target"] == target
        ]
        assert actions == [
            "agent.sites_changed",
            "agent.unlocked",
            "agent.password_reset",
            "agent.role_changed",
            "agent.created",
        ], slug
        events = [e for e in await log_of(client, headers, slug) if e["target"] == target]
        assert {e["site"] for e in events} == {slug}
    # The mairie the agent was moved to reads the move too.
    eleven = await staff.headers("manager", "paris-11")
    moves = [e for e in await log_of(client, eleven, "paris-11") if e["target"] == target]
    assert [e["action"] for e in moves] == ["agent.sites_changed"]
    assert moves[0]["details"] == {
        "sites": ["paris-11"],
        "previous": [HERE, ELSEWHERE],
    }


async def test_paris_20_reads_in_its_journal_the_change_of_its_agent(
    client: CLIENT, staff: Staff
) -> None:
    admin = await staff.headers("admin")
    shared, _ = await shared_facilitator(client, admin)
    await client.patch(f"/api/v1/admin/agents/{shared}", json={"role": "manager"}, headers=admin)
    there = await staff.agent("manager", ELSEWHERE)
    login = await client.post(
        "/connexion", data={"email": there, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert login.status_code == 303

    journal = await client.get("/admin/journal", params={"mairie": ELSEWHERE, "action": "agent."})

    assert journal.status_code == 200
    assert "a changé le rôle d'Inès" in html.unescape(journal.text)


# The agent's page gives the same refusal as the API


async def test_the_agent_page_refuses_a_manager_an_agent_who_also_works_elsewhere(
    client: CLIENT, staff: Staff
) -> None:
    admin = await staff.headers("admin")
    shared, email = await shared_facilitator(client, admin)
    manager = await staff.agent("manager", HERE)
    login = await client.post(
        "/connexion", data={"email": manager, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert login.status_code == 303
    page = await client.get(f"/admin/agents/{shared}")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    before = (await client.get(f"/api/v1/admin/agents/{shared}", headers=admin)).json()

    posts = [
        await client.post(
            f"/admin/agents/{shared}",
            data={"csrf": csrf, "name": "Inès", "role": "manager", "sites": [HERE]},
        ),
        await client.post(
            f"/admin/agents/{shared}/mot-de-passe", data={"csrf": csrf, "password": NEW_PASSWORD}
        ),
        await client.post(
            f"/admin/agents/{shared}/activation", data={"csrf": csrf, "active": "non"}
        ),
        await client.post(f"/admin/agents/{shared}/deblocage", data={"csrf": csrf}),
    ]

    explanation = "travaille aussi dans une mairie qui n'est pas la vôtre"
    assert page.status_code == 200
    assert explanation in html.unescape(page.text)
    assert "Changer le mot de passe" not in page.text
    assert [post.status_code for post in posts] == [403] * 4
    assert all(explanation in html.unescape(post.text) for post in posts)
    assert (await client.get(f"/api/v1/admin/agents/{shared}", headers=admin)).json() == before
    assert await log_in(client, email) == 200


# Every staff operation, aimed at another mairie


@dataclass(frozen=True)
class Attempt:
    """One way of reaching a thing of paris-20 through an operation: the path's names
    (by default those of paris-20's things, see World), a query and a body ("{name}" for
    one of the world's bodies)."""

    path: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True)
class Rule:
    """The attempts that must be refused (403, nothing changed), and those a manager of
    paris-15 may make (a read of something their mairie shares), with the reason."""

    refused: tuple[Attempt, ...] = ()
    reads: tuple[Attempt, ...] = ()
    why: str = ""
    not_shown: str = ""  # a text a read must not show


def refused(*attempts: Attempt) -> Rule:
    return Rule(refused=attempts or (Attempt(),))


HERE_PATH = {"slug": HERE}
ON_PARIS_20 = {"site": ELSEWHERE}
STATION_CHANGE = {"name": "Poste pris", "active": False}
TICKET_MOVES = ("recall", "start", "no-show", "cancel")

RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/api/v1/auth/me"): Rule(reads=(Attempt(),), why="one's own account"),
    ("GET", "/api/v1/sites/{slug}/agents"): refused(),
    ("POST", "/api/v1/appointments"): refused(Attempt(body="{booking}")),
    ("POST", "/api/v1/sites/{slug}/tickets"): refused(Attempt(body={"service": "caf"})),
    ("POST", "/api/v1/sites/{slug}/check-ins"): refused(
        Attempt(body="{check_in}"), Attempt(path=HERE_PATH, body="{check_in}")
    ),
    ("GET", "/api/v1/sites/{slug}/queue"): refused(),
    ("GET", "/api/v1/sites/{slug}/arrival-code"): refused(),
    ("POST", "/api/v1/sites/{slug}/remote-check-ins"): refused(Attempt(body={"number": "A001"})),
    ("POST", "/api/v1/stations/{station_id}/call-next"): refused(),
    **{("POST", f"/api/v1/tickets/{{ticket_id}}/{move}"): refused() for move in TICKET_MOVES},
    ("POST", "/api/v1/tickets/{ticket_id}/finish"): refused(Attempt(body={"outcome": "solved"})),
    ("POST", "/api/v1/tickets/{ticket_id}/transfer"): refused(
        Attempt(body={"station_kind": "double"})
    ),
    ("GET", "/api/v1/admin/outbox"): refused(Attempt(query=ON_PARIS_20)),
    ("POST", "/api/v1/admin/outbox/{message_id}/retry"): refused(),
    ("GET", "/api/v1/audit"): refused(Attempt(query=ON_PARIS_20)),
    ("GET", "/api/v1/escalations"): refused(Attempt(query=ON_PARIS_20)),
    ("GET", "/api/v1/escalations/{reference}"): refused(),
    ("POST", "/api/v1/escalations/{reference}/status"): refused(
        Attempt(body={"status": "in_progress", "message": ""})
    ),
    ("GET", "/api/v1/departments"): Rule(reads=(Attempt(),), why="the City's, for every mairie"),
    ("POST", "/api/v1/departments"): refused(
        Attempt(body={"code": "cross-test", "name": "Test", "answer_days": 10})
    ),
    ("PATCH", "/api/v1/departments/{code}"): refused(Attempt(body={"answer_days": 12})),
    # One person's data: paris-20's is neither shown nor erased.
    ("GET", "/api/v1/admin/people"): Rule(
        refused=(Attempt(query={"email": "a@example.org", **ON_PARIS_20}),),
        reads=(Attempt(query={"email": "a@example.org"}),),
        why="searches the manager's own mairies only",
        not_shown=f'"{ELSEWHERE}"',
    ),
    ("POST", "/api/v1/admin/people/erase"): refused(
        Attempt(body={"email": "a@example.org", **ON_PARIS_20}),
        Attempt(body={"phone": "0612345678", **ON_PARIS_20}),
    ),
    ("GET", "/api/v1/stats"): refused(Attempt(query=ON_PARIS_20)),
    ("GET", "/api/v1/stats.csv"): refused(Attempt(query=ON_PARIS_20)),
    ("GET", "/api/v1/activities"): refused(Attempt(query=ON_PARIS_20)),
    ("GET", "/api/v1/activities.csv"): refused(Attempt(query=ON_PARIS_20)),
    # The mairies: paris-20's, and paris-20's things under paris-15's address.
    ("GET", "/api/v1/admin/sites"): Rule(
        reads=(Attempt(),), why="lists the manager's own mairies", not_shown=f'"{ELSEWHERE}"'
    ),
    ("GET", "/api/v1/admin/sites/{slug}"): refused(),
    ("PATCH", "/api/v1/admin/sites/{slug}"): refused(Attempt(body={"walk_in_percent": 35})),
    ("GET", "/api/v1/admin/sites/{slug}/stations"): refused(),
    ("POST", "/api/v1/admin/sites/{slug}/stations"): refused(
        Attempt(body={"name": "Poste essai", "kind": "standard"})
    ),
    ("PATCH", "/api/v1/admin/sites/{slug}/stations/{station_id}"): refused(
        Attempt(body=STATION_CHANGE), Attempt(path=HERE_PATH, body=STATION_CHANGE)
    ),
    ("GET", "/api/v1/admin/sites/{slug}/outages"): refused(),
    ("POST", "/api/v1/admin/sites/{slug}/outages"): refused(
        Attempt(body="{outage}"), Attempt(path=HERE_PATH, body="{outage}")
    ),
    ("DELETE", "/api/v1/admin/sites/{slug}/outages/{outage_id}"): refused(
        Attempt(), Attempt(path=HERE_PATH)
    ),
    ("GET", "/api/v1/admin/sites/{slug}/hours"): refused(),
    ("PUT", "/api/v1/admin/sites/{slug}/hours/{weekday}"): refused(Attempt(body={"ranges": []})),
    ("GET", "/api/v1/admin/sites/{slug}/hours-exceptions"): refused(),
    ("PUT", "/api/v1/admin/sites/{slug}/hours-exceptions/{day}"): refused(
        Attempt(body={"ranges": [], "reason": "Inventaire"})
    ),
    ("DELETE", "/api/v1/admin/sites/{slug}/hours-exceptions/{day}"): refused(),
    ("GET", "/api/v1/admin/sites/{slug}/closures"): refused(),
    ("POST", "/api/v1/admin/sites/{slug}/closures"): refused(Attempt(body="{closure}")),
    ("DELETE", "/api/v1/admin/sites/{slug}/closures/{closure_id}"): refused(
        Attempt(), Attempt(path=HERE_PATH)
    ),
    ("GET", "/api/v1/admin/sites/{slug}/appointments-to-reschedule"): refused(),
    ("GET", "/api/v1/admin/sites/{slug}/screens"): refused(),
    ("POST", "/api/v1/admin/sites/{slug}/screens"): refused(Attempt(body={"label": "Hall"})),
    ("DELETE", "/api/v1/admin/sites/{slug}/screens/{screen_id}"): refused(
        Attempt(), Attempt(path=HERE_PATH)
    ),
    ("GET", "/api/v1/admin/sites/{slug}/booking-alerts"): refused(),
    ("POST", "/api/v1/admin/sites/{slug}/booking-alerts/{day}/release"): refused(),
    # The catalogs are the City's: read by every manager, changed by administrators only.
    ("GET", "/api/v1/admin/services"): Rule(reads=(Attempt(),), why="the City's catalog"),
    ("GET", "/api/v1/admin/services/{code}"): Rule(reads=(Attempt(),), why="the City's catalog"),
    ("POST", "/api/v1/admin/services"): refused(
        Attempt(body={"code": "cross-test", "name": "Essai", "duration_minutes": 30})
    ),
    ("PATCH", "/api/v1/admin/services/{code}"): refused(Attempt(body={"duration_minutes": 45})),
    ("GET", "/api/v1/admin/needs"): Rule(reads=(Attempt(),), why="the City's catalog"),
    ("GET", "/api/v1/admin/needs/{code}"): Rule(reads=(Attempt(),), why="the City's catalog"),
    ("POST", "/api/v1/admin/needs"): refused(
        Attempt(body={"code": "cross-test", "name": "Essai", "extra_minutes": 5})
    ),
    ("PATCH", "/api/v1/admin/needs/{code}"): refused(Attempt(body={"extra_minutes": 10})),
    # Accounts: the agent of paris-15 and paris-20 is read, never changed.
    ("GET", "/api/v1/admin/agents"): Rule(
        refused=(Attempt(query=ON_PARIS_20),),
        reads=(Attempt(),),
        why="a manager sees everyone who works at their mairie",
    ),
    ("GET", "/api/v1/admin/agents/{agent_id}"): Rule(
        reads=(Attempt(),), why="a manager sees everyone who works at their mairie"
    ),
    ("POST", "/api/v1/admin/agents"): refused(Attempt(body="{new_agent}")),
    ("PATCH", "/api/v1/admin/agents/{agent_id}"): refused(
        Attempt(body={"role": "manager"}),
        Attempt(body={"role": "reception"}),
        Attempt(body={"name": "Autre nom"}),
        Attempt(body={"sites": [ELSEWHERE]}),
        Attempt(body={"sites": [HERE]}),
        Attempt(body={"active": False}),
    ),
    ("POST", "/api/v1/admin/agents/{agent_id}/password"): refused(
        Attempt(body={"password": NEW_PASSWORD})
    ),
    ("POST", "/api/v1/admin/agents/{agent_id}/unlock"): refused(),
    # Partners are the City's: only administrators give, list and revoke their keys.
    ("GET", "/api/v1/admin/partners"): refused(),
    ("POST", "/api/v1/admin/partners"): refused(
        Attempt(body={"name": "CCAS du 20e", "email": "ccas20@example.org", "sites": [ELSEWHERE]}),
        Attempt(body={"name": "CCAS du 15e", "email": "ccas15@example.org", "sites": [HERE]}),
    ),
    ("DELETE", "/api/v1/admin/partners/{partner_id}"): refused(),
    # Webhooks are the City's: a manager reaches none.
    ("GET", "/api/v1/admin/webhooks"): refused(),
    ("POST", "/api/v1/admin/webhooks"): refused(
        Attempt(
            body={
                "url": "http://127.0.0.1:9/cross",
                "secret": "a-cross-test-secret-0123",
                "events": ["ticket.called"],
            }
        )
    ),
    ("GET", "/api/v1/admin/webhooks/{webhook_id}/deliveries"): refused(),
    ("DELETE", "/api/v1/admin/webhooks/{webhook_id}"): refused(),
}


@dataclass
class World:
    """paris-20's things (and an agent of paris-15 and paris-20), by the names of the
    paths, and the bodies that name them."""

    values: dict[str, str]
    bodies: dict[str, Any]

    def url(self, template: str, attempt: Attempt) -> str:
        values = dict(self.values)
        if "/needs/" in template:
            values["code"] = values["need"]
        elif "/departments/" in template:
            values["code"] = values["department"]
        return template.format(**{**values, **attempt.path})

    def body(self, attempt: Attempt) -> Any:
        if isinstance(attempt.body, str):
            return self.bodies[attempt.body.strip("{}")]
        return attempt.body


async def build_world(client: CLIENT, staff: Staff) -> World:
    """At paris-20: a booking (with its confirmation in the outbox), a request sent on to
    a department, a waiting ticket, an outage, a closure, special hours, a paired screen;
    and an agent of paris-15 and paris-20, after wrong passwords."""
    admin = await staff.headers("admin")
    reception = await staff.headers("reception", ELSEWHERE)
    facilitator = await staff.headers("facilitator", ELSEWHERE)
    site = (await client.get(f"/api/v1/sites/{ELSEWHERE}")).json()
    station = site["stations"][0]["id"]
    slots = await client.get(
        f"/api/v1/sites/{ELSEWHERE}/availability",
        params={"service": "caf", "from": "2026-12-01", "to": "2026-12-04"},
    )
    starts = [slot["start"] for slot in slots.json()["slots"]]
    today = [start for start in starts if start.startswith("2026-12-01")]
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "site": ELSEWHERE,
            "service": "caf",
            "start": today[0],
            "name": "A",
            "email": "a@example.org",
        },
    )
    assert booked.status_code == 201, booked.text
    served = await client.post(
        f"/api/v1/sites/{ELSEWHERE}/tickets",
        json={"service": "caf", "phone": "0612345678"},
        headers=reception,
    )
    await client.post(f"/api/v1/stations/{station}/call-next", headers=facilitator)
    await client.post(f"/api/v1/tickets/{served.json()['id']}/start", headers=facilitator)
    finished = await client.post(
        f"/api/v1/tickets/{served.json()['id']}/finish",
        json={"outcome": "escalated", "department": "caf"},
        headers=facilitator,
    )
    escalations = await client.get("/api/v1/escalations", params={"site": ELSEWHERE}, headers=admin)
    waiting = await client.post(
        f"/api/v1/sites/{ELSEWHERE}/tickets", json={"service": "caf"}, headers=reception
    )
    messages = await client.get(
        "/api/v1/admin/outbox", params={"site": ELSEWHERE, "status": "pending"}, headers=admin
    )
    outage_body = {
        "station_id": station,
        "starts_at": "2026-12-10T09:00:00+01:00",
        "ends_at": "2026-12-10T12:00:00+01:00",
        "reason": "Écran cassé",
    }
    closure_body = {
        "starts_at": "2026-12-11T09:00:00+01:00",
        "ends_at": "2026-12-11T17:00:00+01:00",
        "reason": "Élections",
    }
    admin_site = f"/api/v1/admin/sites/{ELSEWHERE}"
    outage = await client.post(f"{admin_site}/outages", json=outage_body, headers=admin)
    closure = await client.post(f"{admin_site}/closures", json=closure_body, headers=admin)
    exception = await client.put(
        f"{admin_site}/hours-exceptions/2026-12-14",
        json={"ranges": [], "reason": "Inventaire"},
        headers=admin,
    )
    screen = await client.post(f"{admin_site}/screens", json={"label": "Hall"}, headers=admin)
    partner = await client.post(
        "/api/v1/admin/partners",
        json={"name": "CCAS du 20e", "email": "ccas@example.org", "sites": [ELSEWHERE]},
        headers=admin,
    )
    webhook = await client.post(
        "/api/v1/admin/webhooks",
        json={
            "url": "http://127.0.0.1:9/world",
            "secret": "a-world-test-secret-0123",
            "events": ["ticket.created"],
        },
        headers=admin,
    )
    for response, status in (
        (webhook, 201),
        (finished, 200),
        (escalations, 200),
        (waiting, 201),
        (messages, 200),
        (outage, 201),
        (closure, 201),
        (exception, 200),  # a PUT replaces the day's exception
        (screen, 201),
        (partner, 201),
    ):
        assert response.status_code == status, response.text
    shared, email = await shared_facilitator(client, admin)
    for _ in range(3):
        assert await log_in(client, email, "not the password") == 401
    return World(
        values={
            "slug": ELSEWHERE,
            "station_id": str(station),
            "ticket_id": str(waiting.json()["id"]),
            "message_id": str(messages.json()[0]["id"]),
            "reference": escalations.json()[0]["reference"],
            "agent_id": str(shared),
            "outage_id": str(outage.json()["outage"]["id"]),
            "closure_id": str(closure.json()["closure"]["id"]),
            "screen_id": str(screen.json()["id"]),
            "partner_id": str(partner.json()["id"]),
            "webhook_id": str(webhook.json()["id"]),
            "day": "2026-12-14",
            "weekday": "thu",
            "code": "caf",
            "need": (await client.get("/api/v1/needs")).json()[0]["code"],
            "department": "caf",
        },
        bodies={
            "booking": {
                "site": ELSEWHERE,
                "service": "caf",
                "start": starts[-1],
                "name": "Par téléphone",
                "phone": "0698765432",
                "channel": "phone",
            },
            "check_in": {"reference": booked.json()["reference"]},
            "outage": {
                **outage_body,
                "starts_at": "2026-12-17T09:00:00+01:00",
                "ends_at": "2026-12-17T10:00:00+01:00",
            },
            "closure": {
                **closure_body,
                "starts_at": "2026-12-18T09:00:00+01:00",
                "ends_at": "2026-12-18T10:00:00+01:00",
            },
            "new_agent": {
                "email": "cross.new@agents.example.org",
                "name": "Nouvelle",
                "role": "reception",
                "password": STAFF_PASSWORD,
                "sites": [HERE, ELSEWHERE],
            },
        },
    )


Snapshot = dict[str, list[tuple[Any, ...]]]


async def snapshot(db: Database) -> Snapshot:
    """Every row of every table, in the order of their keys."""
    found: Snapshot = {}
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            query = select(table).order_by(*table.primary_key.columns)
            found[table.name] = [tuple(row) for row in await session.execute(query)]
    return found


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(
        name for name in before.keys() | after.keys() if before.get(name) != after.get(name)
    )


async def test_every_staff_operation_refuses_a_manager_aimed_at_another_mairie(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    operations = staff_operations(document)
    missing = [f"{method} {path}" for method, path in operations if (method, path) not in RULES]
    assert not missing, f"staff operations without a rule in this test: {missing}"
    stale = [f"{m} {p}" for m, p in RULES if (m, p) not in operations]
    assert not stale, f"rules for operations the document no longer has: {stale}"
    empty = [f"{m} {p}" for (m, p), rule in RULES.items() if not rule.refused and not rule.why]
    assert not empty, f"rules that neither refuse nor say why not: {empty}"

    world = await build_world(client, staff)
    manager = await staff.headers("manager", HERE)
    wrong: list[str] = []
    tried = 0
    for method, template in operations:
        rule = RULES[(method, template)]
        for attempt, expected in [
            *((a, "refused") for a in rule.refused),
            *((a, "read") for a in rule.reads),
        ]:
            url = world.url(template, attempt)
            before = await snapshot(db)
            response = await client.request(
                method,
                url,
                params=dict(attempt.query),
                json=world.body(attempt),
                headers=manager,
            )
            changed = changed_tables(before, await snapshot(db))
            tried += 1
            said = f"{method} {url} {attempt.query or ''} {world.body(attempt) or ''}"
            if expected == "refused" and response.status_code != 403:
                wrong.append(f"{said}: {response.status_code}, not 403: {response.text[:200]}")
            elif expected == "refused" and not response.json().get("detail"):
                wrong.append(f"{said}: a 403 that does not say why")
            if expected == "read" and response.status_code != 200:
                wrong.append(f"{said}: {response.status_code} for a read ({rule.why})")
            if expected == "read" and rule.not_shown and rule.not_shown in response.text:
                wrong.append(f"{said}: shows {rule.not_shown}")
            if changed:
                wrong.append(f"{said}: changed {', '.join(changed)}")
    assert not wrong, "\n".join(wrong)
    assert tried >= len(operations)


async def test_a_manager_cannot_tell_an_administrators_account_from_another_mairies(
    client: CLIENT, staff: Staff
) -> None:
    admin = await staff.headers("admin")
    manager = await staff.headers("manager", HERE)
    administrator = (await client.get("/api/v1/auth/me", headers=admin)).json()["id"]
    elsewhere = (
        await client.post(
            "/api/v1/admin/agents",
            json={"email": "ailleurs@example.org", "name": "Ailleurs", "role": "facilitator",
                  "password": NEW_PASSWORD, "sites": [ELSEWHERE]},
            headers=admin,
        )
    ).json()["id"]  # fmt: skip

    def attempts(agent_id: int) -> list[Any]:
        path = f"/api/v1/admin/agents/{agent_id}"
        return [
            client.get(path, headers=manager),
            client.patch(path, json={"name": "x"}, headers=manager),
            client.post(f"{path}/unlock", headers=manager),
            client.post(f"{path}/password", json={"password": NEW_PASSWORD}, headers=manager),
        ]

    answers = {
        agent_id: [(await attempt).json()["code"] for attempt in attempts(agent_id)]
        for agent_id in (administrator, elsewhere)
    }

    assert answers[administrator] == answers[elsewhere] == ["not_your_agent"] * 4
