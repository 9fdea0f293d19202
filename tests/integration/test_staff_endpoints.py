"""Every staff endpoint of the OpenAPI document, walked four times, on both databases:

- without credentials: 401;
- by an agent with an allowed role at another mairie: 403 (site-bound endpoints);
- by an agent of the mairie whose role is too low: 403 (endpoints not open to every role);
- by the right agent: the answer its rule gives, a 2xx, or a 4xx about the body or the
  state the walk left (the walk follows the order of the rules, destructive calls last).

The rules below say who may use each endpoint. An endpoint the document lists and the
rules do not is a failure: a new staff endpoint cannot slip in unchecked. Set
GUICHET_ENDPOINT_TABLE to a file name to get the table of results in Markdown.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from tests.conftest import Clock, Staff

ALL = frozenset({"reception", "facilitator", "manager"})
RECEPTION = frozenset({"reception", "manager"})
FACILITATORS = frozenset({"facilitator", "manager"})
DESK = frozenset({"reception", "facilitator", "manager"})
MANAGERS = frozenset({"manager"})
ADMINS: frozenset[str] = frozenset()
HERE, ELSEWHERE = "paris-15", "paris-20"


@dataclass(frozen=True)
class Rule:
    """Who may call an endpoint (administrators always may), whether it is bound to a
    mairie, a request the right agent would make and the status it gets."""

    roles: frozenset[str]
    site_bound: bool
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)
    answer: int = 200


RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/api/v1/auth/me"): Rule(ALL, site_bound=False),
    ("GET", "/api/v1/sites/{slug}/agents"): Rule(ALL, site_bound=True),
    ("POST", "/api/v1/appointments"): Rule(
        RECEPTION, site_bound=True, body="{booking}", answer=201
    ),
    ("POST", "/api/v1/sites/{slug}/tickets"): Rule(
        RECEPTION, site_bound=True, body={"service": "caf"}, answer=201
    ),
    # No booking has this reference.
    ("POST", "/api/v1/sites/{slug}/check-ins"): Rule(
        RECEPTION, site_bound=True, body={"reference": "PC-NOPE00"}, answer=404
    ),
    ("GET", "/api/v1/sites/{slug}/queue"): Rule(ALL, site_bound=True),
    ("GET", "/api/v1/sites/{slug}/arrival-code"): Rule(RECEPTION, site_bound=True),
    # No ticket has this number today.
    ("POST", "/api/v1/sites/{slug}/remote-check-ins"): Rule(
        RECEPTION, site_bound=True, body={"number": "Z999"}, answer=404
    ),
    # The waiting ticket is called, called again, served and finished; done, it can then be
    # neither absent, nor cancelled, nor transferred.
    ("POST", "/api/v1/stations/{station_id}/call-next"): Rule(FACILITATORS, site_bound=True),
    ("POST", "/api/v1/tickets/{ticket_id}/recall"): Rule(FACILITATORS, site_bound=True),
    ("POST", "/api/v1/tickets/{ticket_id}/start"): Rule(FACILITATORS, site_bound=True),
    ("POST", "/api/v1/tickets/{ticket_id}/finish"): Rule(
        FACILITATORS, site_bound=True, body={"outcome": "solved"}
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/no-show"): Rule(
        FACILITATORS, site_bound=True, answer=409
    ),
    ("POST", "/api/v1/tickets/{ticket_id}/cancel"): Rule(DESK, site_bound=True, answer=409),
    # Reception may send a ticket back for another service, as it may cancel one.
    ("POST", "/api/v1/tickets/{ticket_id}/transfer"): Rule(
        DESK, site_bound=True, body={"station_kind": "double"}, answer=409
    ),
    ("GET", "/api/v1/admin/outbox"): Rule(MANAGERS, site_bound=True, query={"site": HERE}),
    ("POST", "/api/v1/admin/outbox/{message_id}/retry"): Rule(MANAGERS, site_bound=True),
    ("GET", "/api/v1/audit"): Rule(MANAGERS, site_bound=True, query={"site": HERE}),
    ("GET", "/api/v1/escalations"): Rule(MANAGERS, site_bound=True, query={"site": HERE}),
    ("GET", "/api/v1/escalations/{reference}"): Rule(MANAGERS, site_bound=True),
    ("POST", "/api/v1/escalations/{reference}/status"): Rule(
        MANAGERS, site_bound=True, body={"status": "in_progress", "message": ""}
    ),
    ("GET", "/api/v1/departments"): Rule(ALL, site_bound=False),
    ("POST", "/api/v1/departments"): Rule(
        ADMINS,
        site_bound=False,
        body={"code": "walk-test", "name": "Test", "answer_days": 10},
        answer=201,
    ),
    ("PATCH", "/api/v1/departments/{code}"): Rule(
        ADMINS, site_bound=False, body={"answer_days": 12}
    ),
    # One person's data (RGPD): looked up and erased by managers, at their mairies.
    ("GET", "/api/v1/admin/people"): Rule(
        MANAGERS, site_bound=True, query={"email": "a@example.org", "site": HERE}
    ),
    ("POST", "/api/v1/admin/people/erase"): Rule(
        MANAGERS, site_bound=True, body={"email": "personne@example.org", "site": HERE}
    ),
    ("GET", "/api/v1/stats"): Rule(MANAGERS, site_bound=True, query={"site": HERE}),
    ("GET", "/api/v1/stats.csv"): Rule(MANAGERS, site_bound=True, query={"site": HERE}),
    ("GET", "/api/v1/activities"): Rule(MANAGERS, site_bound=True, query={"site": HERE}),
    ("GET", "/api/v1/activities.csv"): Rule(MANAGERS, site_bound=True, query={"site": HERE}),
    # Administration of the mairies.
    ("GET", "/api/v1/admin/sites"): Rule(MANAGERS, site_bound=False),
    ("GET", "/api/v1/admin/sites/{slug}"): Rule(MANAGERS, site_bound=True),
    ("PATCH", "/api/v1/admin/sites/{slug}"): Rule(
        MANAGERS, site_bound=True, body={"walk_in_percent": 35}
    ),
    ("GET", "/api/v1/admin/sites/{slug}/stations"): Rule(MANAGERS, site_bound=True),
    ("POST", "/api/v1/admin/sites/{slug}/stations"): Rule(
        MANAGERS, site_bound=True, body={"name": "Poste essai", "kind": "standard"}, answer=201
    ),
    ("PATCH", "/api/v1/admin/sites/{slug}/stations/{station_id}"): Rule(
        MANAGERS, site_bound=True, body={"accessible": True}
    ),
    ("GET", "/api/v1/admin/sites/{slug}/outages"): Rule(MANAGERS, site_bound=True),
    ("POST", "/api/v1/admin/sites/{slug}/outages"): Rule(
        MANAGERS, site_bound=True, body="{outage}", answer=201
    ),
    ("DELETE", "/api/v1/admin/sites/{slug}/outages/{outage_id}"): Rule(
        MANAGERS, site_bound=True, answer=204
    ),
    ("GET", "/api/v1/admin/sites/{slug}/hours"): Rule(MANAGERS, site_bound=True),
    ("PUT", "/api/v1/admin/sites/{slug}/hours/{weekday}"): Rule(
        MANAGERS,
        site_bound=True,
        body={
            "ranges": [{"opens": "08:30", "closes": "12:00"}, {"opens": "13:00", "closes": "19:30"}]
        },
    ),
    ("GET", "/api/v1/admin/sites/{slug}/hours-exceptions"): Rule(MANAGERS, site_bound=True),
    ("PUT", "/api/v1/admin/sites/{slug}/hours-exceptions/{day}"): Rule(
        MANAGERS, site_bound=True, body={"ranges": [], "reason": "Inventaire"}
    ),
    ("DELETE", "/api/v1/admin/sites/{slug}/hours-exceptions/{day}"): Rule(
        MANAGERS, site_bound=True, answer=204
    ),
    ("GET", "/api/v1/admin/sites/{slug}/closures"): Rule(MANAGERS, site_bound=True),
    ("POST", "/api/v1/admin/sites/{slug}/closures"): Rule(
        MANAGERS, site_bound=True, body="{closure}", answer=201
    ),
    ("DELETE", "/api/v1/admin/sites/{slug}/closures/{closure_id}"): Rule(
        MANAGERS, site_bound=True, answer=204
    ),
    ("GET", "/api/v1/admin/sites/{slug}/appointments-to-reschedule"): Rule(
        MANAGERS, site_bound=True
    ),
    ("GET", "/api/v1/admin/sites/{slug}/screens"): Rule(MANAGERS, site_bound=True),
    ("POST", "/api/v1/admin/sites/{slug}/screens"): Rule(
        MANAGERS, site_bound=True, body={"label": "Salle d'attente"}, answer=201
    ),
    ("DELETE", "/api/v1/admin/sites/{slug}/screens/{screen_id}"): Rule(
        MANAGERS, site_bound=True, answer=204
    ),
    ("GET", "/api/v1/admin/sites/{slug}/booking-alerts"): Rule(MANAGERS, site_bound=True),
    ("POST", "/api/v1/admin/sites/{slug}/booking-alerts/{day}/release"): Rule(
        MANAGERS, site_bound=True
    ),
    # The catalogs are the City's: managers read them, administrators change them.
    ("GET", "/api/v1/admin/services"): Rule(MANAGERS, site_bound=False),
    ("GET", "/api/v1/admin/services/{code}"): Rule(MANAGERS, site_bound=False),
    ("POST", "/api/v1/admin/services"): Rule(
        ADMINS,
        site_bound=False,
        body={"code": "walk-test", "name": "Essai", "duration_minutes": 30},
        answer=201,
    ),
    ("PATCH", "/api/v1/admin/services/{code}"): Rule(
        ADMINS, site_bound=False, body={"description": "Aide pour la CAF"}
    ),
    ("GET", "/api/v1/admin/needs"): Rule(MANAGERS, site_bound=False),
    ("GET", "/api/v1/admin/needs/{code}"): Rule(MANAGERS, site_bound=False),
    ("POST", "/api/v1/admin/needs"): Rule(
        ADMINS,
        site_bound=False,
        body={"code": "walk-test", "name": "Essai", "extra_minutes": 5},
        answer=201,
    ),
    ("PATCH", "/api/v1/admin/needs/{code}"): Rule(
        ADMINS, site_bound=False, body={"extra_minutes": 10}
    ),
    # Accounts: a manager runs those of their mairies.
    ("GET", "/api/v1/admin/agents"): Rule(MANAGERS, site_bound=False),
    ("GET", "/api/v1/admin/agents/{agent_id}"): Rule(MANAGERS, site_bound=True),
    ("POST", "/api/v1/admin/agents"): Rule(
        MANAGERS, site_bound=True, body="{new_agent}", answer=201
    ),
    ("PATCH", "/api/v1/admin/agents/{agent_id}"): Rule(
        MANAGERS, site_bound=True, body={"name": "Nouveau nom"}
    ),
    ("POST", "/api/v1/admin/agents/{agent_id}/password"): Rule(
        MANAGERS, site_bound=True, body={"password": "a new long enough passphrase"}
    ),
    ("POST", "/api/v1/admin/agents/{agent_id}/unlock"): Rule(MANAGERS, site_bound=True),
    # Partners who refer people: the City's administrators give and revoke their keys.
    ("GET", "/api/v1/admin/partners"): Rule(ADMINS, site_bound=False),
    ("POST", "/api/v1/admin/partners"): Rule(
        ADMINS,
        site_bound=False,
        body={"name": "CCAS du 15e", "email": "ccas@example.org", "sites": [HERE]},
        answer=201,
    ),
    ("DELETE", "/api/v1/admin/partners/{partner_id}"): Rule(ADMINS, site_bound=False, answer=204),
    # Webhooks are the City's: administrators only.
    ("GET", "/api/v1/admin/webhooks"): Rule(ADMINS, site_bound=False),
    ("GET", "/api/v1/admin/webhooks/{webhook_id}/deliveries"): Rule(ADMINS, site_bound=False),
    ("POST", "/api/v1/admin/webhooks"): Rule(
        ADMINS,
        site_bound=False,
        body={
            "url": "http://127.0.0.1:9/walk",
            "secret": "a-walk-test-secret-0123",
            "events": ["ticket.called"],
        },
        answer=201,
    ),
    ("DELETE", "/api/v1/admin/webhooks/{webhook_id}"): Rule(ADMINS, site_bound=False, answer=204),
}


def staff_operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(method, path) of every operation of the document that takes staff credentials."""
    found = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and any(
                "staff" in requirement for requirement in operation.get("security", [])
            ):
                found.append((method.upper(), path))
    return found


@dataclass
class World:
    """The ids the paths need, all at paris-15."""

    values: dict[str, str]
    bodies: dict[str, Any]

    def path(self, template: str) -> str:
        values = dict(self.values)
        if "/needs/" in template:
            values["code"] = values["need"]
        return template.format(**values)

    def body(self, rule: Rule) -> Any:
        if isinstance(rule.body, str):
            return self.bodies[rule.body.strip("{}")]
        return rule.body


async def build_world(client: AsyncTestClient[object], staff: Staff) -> World:
    admin = await staff.headers("admin")
    reception = await staff.headers("reception", HERE)
    facilitator = await staff.headers("facilitator", HERE)
    site = (await client.get(f"/api/v1/sites/{HERE}")).json()
    station = site["stations"][0]["id"]
    slots = await client.get(
        f"/api/v1/sites/{HERE}/availability",
        params={"service": "caf", "from": "2026-12-03", "to": "2026-12-04"},
    )
    starts = [slot["start"] for slot in slots.json()["slots"]]
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "site": HERE,
            "service": "caf",
            "start": starts[0],
            "name": "A",
            "email": "a@example.org",
        },
    )
    assert booked.status_code == 201, booked.text
    # A request sent on to a department, and a waiting ticket for the moves.
    served = await client.post(
        f"/api/v1/sites/{HERE}/tickets",
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
    assert finished.status_code == 200, finished.text
    escalations = await client.get("/api/v1/escalations", params={"site": HERE}, headers=admin)
    waiting = await client.post(
        f"/api/v1/sites/{HERE}/tickets", json={"service": "caf"}, headers=reception
    )
    messages = await client.get(
        "/api/v1/admin/outbox", params={"site": HERE, "status": "pending"}, headers=admin
    )
    colleague = await staff.agent("facilitator", HERE)
    agents = await client.get(f"/api/v1/sites/{HERE}/agents", headers=admin)
    colleague_id = next(a["id"] for a in agents.json() if a["email"] == colleague)
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
    outage = await client.post(
        f"/api/v1/admin/sites/{HERE}/outages", json=outage_body, headers=admin
    )
    closure = await client.post(
        f"/api/v1/admin/sites/{HERE}/closures", json=closure_body, headers=admin
    )
    exception = await client.put(
        f"/api/v1/admin/sites/{HERE}/hours-exceptions/2026-12-14",
        json={"ranges": [], "reason": "Inventaire"},
        headers=admin,
    )
    screen = await client.post(
        f"/api/v1/admin/sites/{HERE}/screens", json={"label": "Hall"}, headers=admin
    )
    partner = await client.post(
        "/api/v1/admin/partners",
        json={"name": "CCAS", "email": "ccas@example.org", "sites": [HERE]},
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
        (outage, 201),
        (closure, 201),
        (exception, 200),  # a PUT replaces the day's exception
        (messages, 200),
        (escalations, 200),
        (waiting, 201),
        (screen, 201),
        (partner, 201),
    ):
        assert response.status_code == status, response.text
    return World(
        values={
            "slug": HERE,
            "station_id": str(station),
            "ticket_id": str(waiting.json()["id"]),
            "message_id": str(messages.json()[0]["id"]),
            "reference": escalations.json()[0]["reference"],
            "code": "caf",
            "agent_id": str(colleague_id),
            "outage_id": str(outage.json()["outage"]["id"]),
            "closure_id": str(closure.json()["closure"]["id"]),
            "screen_id": str(screen.json()["id"]),
            "partner_id": str(partner.json()["id"]),
            "webhook_id": str(webhook.json()["id"]),
            "day": "2026-12-14",
            "weekday": "thu",
            "need": (await client.get("/api/v1/needs")).json()[0]["code"],
        },
        bodies={
            "booking": {
                "site": HERE,
                "service": "caf",
                "start": starts[1],
                "name": "Par téléphone",
                "phone": "0698765432",
                "channel": "phone",
            },
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
                "email": "walk.new@agents.example.org",
                "name": "Nouvelle",
                "role": "reception",
                "password": "a long enough passphrase",
                "sites": [HERE],
            },
        },
    )


@dataclass
class Row:
    method: str
    path: str
    anonymous: int
    other_site: int | None
    low_role: int | None
    right: int


async def call(
    client: AsyncTestClient[object],
    method: str,
    url: str,
    rule: Rule,
    world: World,
    headers: dict[str, str] | None,
) -> int:
    response = await client.request(
        method, url, params=rule.query, json=world.body(rule), headers=headers or {}
    )
    return response.status_code


LOW_ROLE_ORDER = ("reception", "facilitator", "manager")


class Agents:
    """One agent per role and mairie, logged in once."""

    def __init__(self, staff: Staff) -> None:
        self.staff = staff
        self.known: dict[tuple[str, str], dict[str, str]] = {}

    async def headers(self, role: str, site: str = "") -> dict[str, str]:
        if (role, site) not in self.known:
            sites = (site,) if site else ()
            self.known[(role, site)] = await self.staff.headers(role, *sites)
        return self.known[(role, site)]


async def test_every_staff_endpoint_refuses_who_it_must_and_serves_who_it_should(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    clock.set("2026-12-01 09:30")
    agents = Agents(staff)
    document = (await client.get("/schema/openapi.json")).json()
    operations = staff_operations(document)
    missing = [f"{method} {path}" for method, path in operations if (method, path) not in RULES]
    assert not missing, f"staff endpoints without a rule in this test: {missing}"
    stale = [f"{m} {p}" for m, p in RULES if (m, p) not in operations]
    assert not stale, f"rules for endpoints the document no longer has: {stale}"

    world = await build_world(client, staff)
    # Destructive calls last, so that they do not take away what the others need; otherwise
    # in the order of the rules, so that each call meets the state its rule's answer expects.
    walk = list(RULES)
    order = sorted(operations, key=lambda op: (op[0] == "DELETE", op[0] != "GET", walk.index(op)))
    rows: list[Row] = []
    wrong: list[str] = []
    for method, template in order:
        rule = RULES[(method, template)]
        url = world.path(template)
        anonymous = await call(client, method, url, rule, world, None)

        other_site = None
        if rule.site_bound:
            role = min(rule.roles, key=LOW_ROLE_ORDER.index) if rule.roles else None
            if role is not None:
                other_site = await call(
                    client, method, url, rule, world, await agents.headers(role, ELSEWHERE)
                )

        low_role = None
        too_low = [role for role in LOW_ROLE_ORDER if role not in rule.roles]
        if too_low:
            low_role = await call(
                client, method, url, rule, world, await agents.headers(too_low[-1], HERE)
            )

        allowed = [role for role in LOW_ROLE_ORDER if role in rule.roles]
        right_headers = (
            await agents.headers(allowed[0], HERE) if allowed else await agents.headers("admin")
        )
        right = await call(client, method, url, rule, world, right_headers)

        rows.append(Row(method, template, anonymous, other_site, low_role, right))
        if anonymous != 401:
            wrong.append(f"{method} {template}: {anonymous} without credentials")
        if other_site is not None and other_site != 403:
            wrong.append(f"{method} {template}: {other_site} for another mairie's agent")
        if low_role is not None and low_role != 403:
            wrong.append(f"{method} {template}: {low_role} for a role too low")
        if right != rule.answer:
            wrong.append(f"{method} {template}: {right} for the right agent, not {rule.answer}")

    table = os.environ.get("GUICHET_ENDPOINT_TABLE")
    if table:
        write_table(Path(table), rows)
    assert not wrong, "\n".join(wrong)


def write_table(path: Path, rows: list[Row]) -> None:
    def cell(status: int | None) -> str:
        return "n/a" if status is None else str(status)

    lines = [
        "| endpoint | no credentials | other mairie | role too low | right agent |",
        "|---|---|---|---|---|",
    ]
    for row in sorted(rows, key=lambda r: (r.path, r.method)):
        lines.append(
            f"| {row.method} `{row.path}` | {row.anonymous} | {cell(row.other_site)} "
            f"| {cell(row.low_role)} | {row.right} |"
        )
    path.write_text("\n".join(lines) + "\n")
