"""Every page route and form, fuzzed: no 5xx, ever.

The pages are not in the OpenAPI document, so schemathesis never sees them. Here each
page route of the app (every route outside /api, /schema, /ws and the static files) has
a row naming the query parameters or form fields its handler reads; hypothesis fills
them, and the path's own segments, with what a careless user or an attacker sends:
other scripts' digits ("²", "٣", "४"), far days (0001-01-01, 9999-12-31), 20-digit and
negative numbers, 10,000-character strings and control characters. Each request goes
as a visitor or as the reception, a facilitator, the manager of paris-15 or an
administrator (session cookie and a valid CSRF token), on SQLite and on PostgreSQL.

The budget is GUICHET_FUZZ_EXAMPLES rounds per database, each one request to every
page route (default 12, about 1,000 requests, half a minute per database):
`GUICHET_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/hostile/test_page_fuzz.py`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as fuzz_settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.accounts.models import Agent
from app.asgi import create_app
from app.config import Settings
from app.db import Database
from app.notify.models import OutboxMessage
from app.queue.station_pages import ACTIONS
from app.sites.hours import WEEKDAYS
from app.sites.rules import MAX_RANGES_PER_DAY, SETTINGS
from tests.conftest import STAFF_PASSWORD, Clock, Staff, make_settings

ROUNDS = int(os.environ.get("GUICHET_FUZZ_EXAMPLES", "12"))
NOT_PAGES = ("/api/", "/schema", "/ws/", "/static/", "/display/static/")
METHODS = ("GET", "POST")
STAFF_ROLES = ("reception", "facilitator", "manager", "admin")

# The fields each page reads, by (method, route template): query parameters for GET,
# form fields for POST. "{station_id}" and "{weekday}" stand for the path's values.
PERIOD = [f"{{p}}-{end}-{part}" for end in ("debut", "fin") for part in ("jour", "heure")]
RANGES = [
    f"{{p}}-{n}-{end}"
    for n in range(1, MAX_RANGES_PER_DAY + 1)
    for end in ("ouverture", "fermeture")
]
CATALOG_SERVICE = ["code", "name", "documents", "description", "duration_minutes"]
CATALOG_SERVICE += ["station_kind", "position", "active"]
# The activity record's part of the form that finishes a visit.
ACTIVITY_FIELDS = ["thematiques", "thematiques_proposees", "materiel", "materiel_propose"]
ACTIVITY_FIELDS += ["duree", "autonomie", "orientation", "aidants_connect", "tranche_age"]
ACTIVITY_FIELDS += ["statut_social"]
CATALOG_NEED = ["code", "name", "extra_minutes", "station_kind", "requires_accessible"]
CATALOG_NEED += ["position", "active"]
AGENT = ["name", "role", "sites", "email", "password"]
DONE = ["fait", "deplaces", "a_replanifier", "liberes", "prevenus"]
CONTACT = ["nom", "email", "telephone", "rappels_email", "rappels_sms"]
FIELDS: dict[tuple[str, str], list[str]] = {
    ("GET", "/"): ["q"],
    ("GET", "/favicon.ico"): [],
    ("GET", "/mairies/{slug:str}"): [],
    ("GET", "/premier-creneau"): ["demarche", "besoins", "pres-de", "ordre"],
    ("GET", "/health/live"): [],
    ("GET", "/health/ready"): [],
    ("GET", "/metrics"): [],
    ("GET", "/open-data/lieux-mediation-numerique.csv"): [],
    ("GET", "/open-data/lieux-mediation-numerique.json"): [],
    ("GET", "/open-data/data-inclusion/structures.json"): [],
    ("GET", "/open-data/data-inclusion/services.json"): [],
    ("GET", "/display/{slug:str}"): [],
    # The booking pages
    ("GET", "/mairies/{slug:str}/rendez-vous"): ["erreur"],
    ("GET", "/mairies/{slug:str}/rendez-vous/creneaux"): [
        "service",
        "besoins",
        "du",
        "jour",
        "debut",
    ],
    ("GET", "/mairies/{slug:str}/rendez-vous/coordonnees"): ["service", "besoins", "debut"],
    ("POST", "/mairies/{slug:str}/rendez-vous/coordonnees"): [
        "service",
        "besoins",
        "debut",
        *CONTACT,
        "rappels_vus",
        "confirmer",
        "modifier",
    ],
    ("GET", "/rendez-vous/retrouver"): [],
    ("POST", "/rendez-vous/retrouver"): ["reference", "contact"],
    ("GET", "/rendez-vous/{token:str}"): ["confirme", "deplace", "annule", "sans-rappels"],
    ("GET", "/r/{token:str}"): [],
    ("POST", "/rendez-vous/{token:str}/rappels"): [],
    ("GET", "/rendez-vous/{token:str}/annuler"): [],
    ("POST", "/rendez-vous/{token:str}/annuler"): [],
    ("GET", "/rendez-vous/{token:str}/deplacer"): ["du", "jour", "debut"],
    ("POST", "/rendez-vous/{token:str}/deplacer"): ["debut"],
    ("GET", "/rendez-vous/{token:str}/reprendre"): ["du", "jour", "debut"],
    ("POST", "/rendez-vous/{token:str}/reprendre"): ["debut"],
    ("GET", "/rendez-vous/{token:str}/plus-tot"): ["demande", "laisse", "arrete", "expire"],
    ("POST", "/rendez-vous/{token:str}/plus-tot"): ["avant"],
    ("POST", "/rendez-vous/{token:str}/plus-tot/prendre"): [],
    ("POST", "/rendez-vous/{token:str}/plus-tot/laisser"): [],
    ("POST", "/rendez-vous/{token:str}/plus-tot/arreter"): [],
    ("GET", "/p/{token:str}"): [],
    ("GET", "/accueil/{slug:str}/plus-tot"): [],
    # The ticket pages
    ("GET", "/ticket/{token:str}"): ["confirmer"],
    ("GET", "/ticket/{token:str}/etat"): [],
    ("GET", "/t/{token:str}"): [],
    ("GET", "/a/{token:str}"): [],
    ("GET", "/ticket/{token:str}/avis"): ["merci"],
    ("POST", "/ticket/{token:str}/avis"): ["note", "commentaire"],
    ("GET", "/ticket/{token:str}/quitter"): [],
    ("POST", "/ticket/{token:str}/quitter"): [],
    # The queue from a phone: joining, and arriving with the mairie's code
    ("GET", "/mairies/{slug:str}/file"): [],
    ("POST", "/mairies/{slug:str}/file"): ["service", "besoins", "telephone", "trajet"],
    ("POST", "/ticket/{token:str}/arrivee"): ["code"],
    ("GET", "/arrivee/{slug:str}"): ["code"],
    # The page of an expert department, behind the private link of its email
    ("GET", "/demande-transmise/{token:str}"): ["fait"],
    ("POST", "/demande-transmise/{token:str}"): ["jeton", "statut", "message"],
    # The consoles
    ("GET", "/connexion"): ["suite"],
    ("POST", "/connexion"): ["email", "password", "suite"],
    ("POST", "/deconnexion"): [],
    ("GET", "/agents/connexion"): ["suite"],
    ("GET", "/agents/connexion/retour"): ["code", "state", "iss", "error"],
    ("GET", "/console"): [],
    ("GET", "/accueil/{slug:str}"): ["q", "ticket", "rdv", "arrivee", "erreur"],
    ("GET", "/accueil/{slug:str}/file"): [],
    ("GET", "/accueil/{slug:str}/code-arrivee"): [],
    ("POST", "/accueil/{slug:str}/tickets"): [
        "service",
        "besoins",
        "prioritaire",
        "telephone",
        "poste",
        "forcer",
        "raison",
    ],
    ("POST", "/accueil/{slug:str}/arrivees"): ["reference"],
    ("POST", "/accueil/{slug:str}/arrivees-a-distance"): ["numero"],
    ("GET", "/accueil/{slug:str}/rendez-vous"): ["service", "besoins", "jour"],
    ("POST", "/accueil/{slug:str}/rendez-vous"): [
        "service",
        "besoins",
        "jour",
        "canal",
        "debut",
        *CONTACT,
    ],
    ("GET", "/accueil/{slug:str}/tickets/{ticket_id:int}/imprimer"): [],
    ("GET", "/accueil/{slug:str}/rendez-vous/{reference:str}/imprimer"): [],
    ("GET", "/poste/{station_id:int}"): ["erreur", "ticket", "termine"],
    ("GET", "/poste/{station_id:int}/file"): [],
    ("POST", "/poste/{station_id:int}/appeler"): [],
    ("POST", "/poste/{station_id:int}/tickets/{ticket_id:int}/{action:str}"): [
        "demarches",
        "issue",
        "note",
        "service_expert",
        "service",
        "poste",
        *ACTIVITY_FIELDS,
    ],
    ("GET", "/demandes/{slug:str}"): ["filtre", "deplacee", "erreur"],
    ("POST", "/demandes/{slug:str}/{reference:str}"): ["statut", "message", "filtre"],
    ("GET", "/statistiques"): ["par", "du", "au"],
    # The partners' page (a social worker books for a person with the partner's key)
    ("GET", "/partenaires"): ["rdv", "mairie"],
    ("POST", "/partenaires/connexion"): ["cle"],
    ("POST", "/partenaires/deconnexion"): [],
    ("GET", "/partenaires/demandes/{reference:str}"): ["fait"],
    ("POST", "/partenaires/demandes/{reference:str}"): ["csrf", "statut", "message"],
    ("GET", "/partenaires/mairies/{slug:str}/rendez-vous"): ["service", "besoins", "jour"],
    ("POST", "/partenaires/mairies/{slug:str}/rendez-vous"): [
        "service",
        "besoins",
        "jour",
        "debut",
        *CONTACT,
    ],
    ("GET", "/statistiques/{slug:str}"): ["par", "du", "au"],
    # A resident's space and their sign-in (404 here: no GUICHET_OIDC_ISSUER)
    ("GET", "/mon-espace"): [],
    ("GET", "/mon-espace/connexion"): [],
    ("GET", "/mon-espace/connexion/retour"): ["code", "state", "iss", "error"],
    ("POST", "/mon-espace/deconnexion"): ["csrf"],
    ("GET", "/mon-espace/coordonnees"): [],
    ("POST", "/mon-espace/coordonnees"): [
        "csrf",
        "nom",
        "email",
        "telephone",
        "rappels_email",
        "rappels_sms",
    ],
    ("GET", "/mon-espace/suppression"): [],
    ("POST", "/mon-espace/suppression"): ["csrf"],
    # Administration: people and catalog
    ("GET", "/admin/agents"): ["mairie", "fait"],
    ("POST", "/admin/agents"): AGENT,
    ("GET", "/admin/agents/{agent_id:int}"): ["fait"],
    ("POST", "/admin/agents/{agent_id:int}"): AGENT,
    ("POST", "/admin/agents/{agent_id:int}/activation"): ["active"],
    ("POST", "/admin/agents/{agent_id:int}/mot-de-passe"): ["password"],
    ("POST", "/admin/agents/{agent_id:int}/deblocage"): [],
    ("GET", "/admin/journal"): ["mairie", "action", "agent", "avant", "du", "au"],
    ("GET", "/admin/donnees-personnelles"): ["fait", "lignes"],
    ("POST", "/admin/donnees-personnelles"): ["email", "telephone", "mairie"],
    ("POST", "/admin/donnees-personnelles/effacement"): [
        "email",
        "telephone",
        "mairie",
        "vu",
        "confirme",
    ],
    ("GET", "/admin/catalogue"): ["fait"],
    ("GET", "/admin/catalogue/demarches/nouvelle"): [],
    ("POST", "/admin/catalogue/demarches"): CATALOG_SERVICE,
    ("GET", "/admin/catalogue/demarches/{code:str}"): [],
    ("POST", "/admin/catalogue/demarches/{code:str}"): CATALOG_SERVICE,
    ("GET", "/admin/catalogue/besoins/nouveau"): [],
    ("POST", "/admin/catalogue/besoins"): CATALOG_NEED,
    ("GET", "/admin/catalogue/besoins/{code:str}"): [],
    ("POST", "/admin/catalogue/besoins/{code:str}"): CATALOG_NEED,
    # Administration: sites
    ("GET", "/admin"): ["fait"],
    ("GET", "/admin/sites/{slug:str}"): [*DONE, "onglet"],
    ("POST", "/admin/sites/{slug:str}/reglages"): list(SETTINGS),
    ("POST", "/admin/sites/{slug:str}/postes"): [
        "nouveau-nom",
        "nouveau-type",
        "nouveau-accessible",
    ],
    ("POST", "/admin/sites/{slug:str}/postes/{station_id:int}"): [
        f"poste-{{station_id}}-{name}" for name in ("nom", "type", "accessible", "actif")
    ],
    ("POST", "/admin/sites/{slug:str}/postes/{station_id:int}/hors-service"): [
        name.format(p="panne-{station_id}") for name in PERIOD
    ]
    + ["panne-{station_id}-motif"],
    ("POST", "/admin/sites/{slug:str}/hors-service/{outage_id:int}/fin"): [],
    ("POST", "/admin/sites/{slug:str}/horaires/{weekday:str}"): [
        name.format(p="horaires-{weekday}") for name in RANGES
    ],
    ("POST", "/admin/sites/{slug:str}/exceptions"): [
        "exception-jour",
        "exception-fermee",
        "exception-motif",
        *(name.format(p="exception") for name in RANGES),
    ],
    ("POST", "/admin/sites/{slug:str}/exceptions/{day:date}/suppression"): [],
    ("POST", "/admin/sites/{slug:str}/fermetures"): [
        *(name.format(p="fermeture") for name in PERIOD),
        "fermeture-motif",
    ],
    ("POST", "/admin/sites/{slug:str}/fermetures/{closure_id:int}/suppression"): [],
    ("POST", "/admin/sites/{slug:str}/ecrans"): ["ecran-nom"],
    ("POST", "/admin/sites/{slug:str}/alertes/{day:date}/liberer"): [],
    ("POST", "/admin/sites/{slug:str}/ecrans/{screen_id:int}/retrait"): [],
}

# What careless users and attackers type.
OTHER_DIGITS = "²³¹٣٤४৪๓１２⁹"
HOSTILE = [
    "",
    "²",
    "٣",
    "४",
    "１２",
    "2026-12-0٣",
    "0",
    "-1",
    "1",
    "3",
    "99999999999999999999",
    "-99999999999999999999",
    "9" * 40,
    "0001-01-01",
    "9999-12-31",
    "2100-12-31",
    "2026-02-30",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-05:00",
    "9999-12-31T23:59:59+14:00",
    "2100-12-31T23:30:00-12:00",
    "2026-12-01T09:00:00+01:00",
    "2026-12-01T09:00:00",
    "24:00",
    "08:30",
    "x" * 10_000,
    "\x00",
    "a\x00b",
    "\r\n",
    "\u202e",
    "oui",
    "non",
    "caf",
    "paris-15",
    "recall",
    "solved",
    "admin",
    "ada@example.org",
    "josé@exämple.org",
    "06 12 34 56 78",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
]
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
# What each field would hold when filled in right: half the values are these, so that
# the handlers get past their first check to the values that hurt further on.
SLOT = "2026-12-02T10:30:00+01:00"
PLAUSIBLE: dict[str, list[str]] = {
    "service": ["caf"],
    "besoins": ["premiere-fois", "fauteuil"],
    "du": ["2026-12-01", "2026-12-08"],
    "au": ["2026-12-31"],
    "jour": ["2026-12-02"],
    "debut": [SLOT],
    "nom": ["Ada Lovelace"],
    "name": ["Ada Lovelace"],
    "email": ["ada@example.org"],
    "telephone": ["06 12 34 56 78"],
    "note": ["4"],
    "issue": ["solved", "escalated"],
    "par": ["jour", "semaine", "mois"],
    "canal": ["telephone"],
    "role": ["facilitator", "manager"],
    "sites": ["paris-15"],
    "mairie": ["paris-15"],
    "exception-jour": ["2026-12-24"],
    "fait": ["reglages", "poste"],
    "statut": ["in_progress", "answered"],
    "trajet": ["10", "20", "60"],
    "thematiques": ["logement", "email"],
    "materiel": ["ordinateur", "aucun"],
    "duree": ["20", "480"],
    "autonomie": ["autonome"],
    "orientation": ["administration"],
    "aidants_connect": ["oui"],
    "tranche_age": ["soixante_dix_plus"],
    "statut_social": ["retraite"],
}
# The values that broke pages before: digits of other scripts, far days and instants,
# numbers too large for the database, a long string, control characters.
KILLERS = [
    *OTHER_DIGITS,
    "99999999999999999999",
    "-99999999999999999999",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-05:00",
    "x" * 10_000,
    "\x00",
    "\r\n",
    "\u202e",
]
DIGITS = st.text(OTHER_DIGITS + "0123456789-:T+ ", min_size=1, max_size=25)
VALUES = st.one_of(
    st.sampled_from(KILLERS),
    st.sampled_from(HOSTILE),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    st.dates(min_value=date(1, 1, 1)).map(date.isoformat),
    st.builds(
        lambda day, minutes: (
            datetime.combine(day, datetime.min.time(), UTC)
            .replace(tzinfo=timezone(timedelta(minutes=minutes)))
            .isoformat()
        ),
        st.sampled_from([date(1, 1, 1), date(1, 1, 2), date(9999, 12, 31), date(2100, 12, 31)])
        | st.dates(min_value=date(1, 1, 1)),
        st.integers(min_value=-14 * 60, max_value=14 * 60),
    ),
    DIGITS,
    TEXT,
)


def plausible(name: str) -> list[str]:
    return PLAUSIBLE.get(name) or PLAUSIBLE.get(name.rsplit("-", 1)[-1]) or []


SEGMENTS = st.one_of(
    st.sampled_from(HOSTILE).filter(bool),
    st.integers(min_value=-(10**25), max_value=10**25).map(str),
    TEXT.filter(lambda text: text.strip(".") != ""),
)


@dataclass
class Identity:
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""


@dataclass
class World:
    """The app, who may use it, and the real things the paths may point at."""

    client: AsyncTestClient[Litestar]
    identities: dict[str, Identity]
    known: dict[str, list[str]]


def page_routes(app: Litestar) -> set[tuple[str, str]]:
    """(method, template) of every GET and POST route that is a page, not the API."""
    found = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(NOT_PAGES):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method in METHODS:
                    found.add((method, route.path))
    return found


def test_every_page_route_has_a_row_in_the_fuzz_table() -> None:
    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))

    routes = page_routes(app)

    assert sorted(routes - FIELDS.keys()) == [], "page routes the fuzz suite does not know"
    assert sorted(FIELDS.keys() - routes) == [], "rows of the fuzz table for no route"


async def _log_in(client: AsyncTestClient[Litestar], email: str, page: str) -> Identity:
    client.cookies.clear()
    response = await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', (await client.get(page)).text)
    assert found, f"no CSRF token on {page}"
    identity = Identity(dict(client.cookies.items()), found.group(1))
    client.cookies.clear()
    return identity


async def a_request_sent_on_to_the_caf(
    client: AsyncTestClient[Litestar],
    staff: Staff,
    reception: dict[str, str],
    station: str,
    db: Database,
) -> str:
    """A walk-in's request sent on to the CAF, which has an email: the token of the link
    the CAF received."""
    admin = await staff.headers("admin")
    facilitator = await staff.headers("facilitator", "paris-15")
    changed = await client.patch(
        "/api/v1/departments/caf", json={"email": "caf@partenaires.example.org"}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    served = await client.post(
        "/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=reception
    )
    ticket_id = served.json()["id"]
    await client.post(f"/api/v1/stations/{station}/call-next", headers=facilitator)
    await client.post(f"/api/v1/tickets/{ticket_id}/start", headers=facilitator)
    finished = await client.post(
        f"/api/v1/tickets/{ticket_id}/finish",
        json={"outcome": "escalated", "department": "caf"},
        headers=facilitator,
    )
    assert finished.status_code == 200, finished.text
    async with db.session() as session:
        data = await session.scalar(
            select(OutboxMessage.data).where(OutboxMessage.kind == "department_request")
        )
    assert data is not None
    return str(data["department_token"])


@pytest.fixture
async def world(
    client: AsyncTestClient[Litestar], staff: Staff, clock: Clock, db: Database
) -> World:
    clock.set("2026-12-01 09:00")
    reception = await staff.headers("reception", "paris-15")
    site = (await client.get("/api/v1/sites/paris-15")).json()
    station = str(site["stations"][0]["id"])
    booked = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": "2026-12-02T10:00:00+01:00",
            "name": "Ada Lovelace",
            "email": "ada@example.org",
        },
    )
    assert booked.status_code == 201, booked.text
    department_token = await a_request_sent_on_to_the_caf(client, staff, reception, station, db)
    ticket = await client.post(
        "/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=reception
    )
    assert ticket.status_code == 201, ticket.text
    remote = await client.post(
        "/api/v1/sites/paris-15/remote-tickets",
        json={"service": "caf", "phone": "07 98 76 54 32", "travel_minutes": 20},
    )
    assert remote.status_code == 201, remote.text
    target = await staff.agent("facilitator", "paris-15")
    pages = {
        "reception": "/accueil/paris-15",
        "facilitator": f"/poste/{station}",
        "manager": "/accueil/paris-15",
        "admin": "/admin",
    }
    identities = {"visitor": Identity()}
    for role in STAFF_ROLES:
        sites = () if role == "admin" else ("paris-15",)
        identities[role] = await _log_in(client, await staff.agent(role, *sites), pages[role])
    async with db.session() as session:
        target_id = await session.scalar(select(Agent.id).where(Agent.email == target))
    known = {
        "slug": ["paris-15", "paris-20"],
        "token": [
            booked.json()["token"],
            ticket.json()["token"],
            remote.json()["token"],
            department_token,
        ],
        "reference": [booked.json()["reference"]],
        "station_id": [station],
        "ticket_id": [str(ticket.json()["id"])],
        "agent_id": [str(target_id)],
        "code": ["caf"],
        "action": list(ACTIONS),
        "weekday": list(WEEKDAYS),
        "day": ["2026-12-24"],
        "outage_id": ["1"],
        "closure_id": ["1"],
    }
    return World(client, identities, known)


@st.composite
def requests(
    draw: st.DrawFn, route: tuple[str, str], known: dict[str, list[str]]
) -> dict[str, Any]:
    """One request to `route`: hostile or real path segments, and hostile or plausible
    values in the fields its handler reads."""
    method, template = route
    path_values: dict[str, str] = {}
    for name, kind in re.findall(r"{(\w+):(\w+)}", template):
        if kind == "int":
            made = st.integers(min_value=-(10**25), max_value=10**25).map(str)
        elif kind == "date":
            made = st.sampled_from(["0001-01-01", "9999-12-31", "2100-12-31", "2000-01-01"])
        else:
            made = SEGMENTS
        choices = known.get(name, [])
        real = choices and draw(st.integers(0, 3)) > 0
        path_values[name] = draw(st.sampled_from(choices) if real else made)
    path = re.sub(
        r"{(\w+):\w+}", lambda found: quote(path_values[found.group(1)], safe=""), template
    )
    # One field attacked, with one or two hostile values; the others mostly filled in
    # right, so that the request gets as far as the attacked field.
    names = [name.format(**path_values) for name in FIELDS[route]]
    attacked = draw(st.sampled_from(names)) if names else None
    fields: dict[str, list[str]] = {}
    for name in names:
        if name == attacked:
            fields[name] = draw(st.lists(VALUES, min_size=1, max_size=2))
        elif plausible(name) and draw(st.integers(0, 3)) > 0:
            fields[name] = [draw(st.sampled_from(plausible(name)))]
        elif draw(st.integers(0, 3)) == 0:
            fields[name] = [draw(VALUES)]
    return {
        "method": method,
        "path": path,
        "fields": fields,
        "who": draw(st.sampled_from(["visitor", *STAFF_ROLES])),
        "valid_csrf": draw(st.integers(0, 3)) > 0 if method == "POST" else False,
    }


async def _send(world: World, request: dict[str, Any]) -> Any:
    identity = world.identities[request["who"]]
    client = world.client
    client.cookies.clear()
    client.cookies.update(identity.cookies)
    fields = dict(request["fields"])
    if request["method"] == "GET":
        return await client.get(request["path"], params=fields, follow_redirects=False)
    # A valid token on every POST but the logout, which would end the identity's session.
    if request["valid_csrf"] and identity.csrf and request["path"] != "/deconnexion":
        fields["csrf"] = [identity.csrf]
    return await client.post(request["path"], data=fields, follow_redirects=False)


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Budgets per address wide enough for thousands of requests from one test client."""
    return make_settings(
        database_url,
        login_attempts_per_minute=10_000,
        booking_requests_per_minute=1_000_000,
        availability_requests_per_minute=1_000_000,
        bookings_per_address_per_day=10_000,
    )


@fuzz_settings(
    max_examples=ROUNDS,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    # Each example is a round over every page: the failing request is in the message,
    # shrinking would replay rounds for minutes.
    phases=[Phase.explicit, Phase.generate],
)
@given(data=st.data())
async def test_no_page_answers_a_fuzzed_query_or_form_with_a_server_error(
    world: World, data: st.DataObject
) -> None:
    for route in sorted(FIELDS):
        request = data.draw(requests(route, world.known))

        response = await _send(world, request)

        shown = {key: [value[:80] for value in values] for key, values in request["fields"].items()}
        assert response.status_code < 500, (
            f"{request['method']} {request['path'][:200]} as {request['who']} with {shown}: "
            f"{response.status_code}\n{response.text[:500]}"
        )


# What the outside review sent: refused in plain words, never a 500.
FAR_STARTS = ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00", "9999-12-31T10:00:00Z"]


@dataclass
class Booked:
    client: AsyncTestClient[Litestar]
    appointment: str
    ticket: str
    reception: dict[str, str]


@pytest.fixture
async def booked(client: AsyncTestClient[Litestar], staff: Staff, clock: Clock) -> Booked:
    """An appointment and a ticket of paris-15, and the reception's page session."""
    clock.set("2026-12-01 09:00")
    email = await staff.agent("reception", "paris-15")
    bearer = {"Authorization": f"Bearer {await staff.token(email)}"}
    appointment = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": "2026-12-02T10:00:00+01:00",
            "name": "Ada Lovelace",
            "email": "ada@example.org",
        },
    )
    ticket = await client.post(
        "/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=bearer
    )
    assert appointment.status_code == ticket.status_code == 201
    reception = await _log_in(client, email, "/accueil/paris-15")
    return Booked(client, appointment.json()["token"], ticket.json()["token"], reception.cookies)


async def test_a_booking_or_a_move_to_a_far_year_is_a_plain_400(booked: Booked) -> None:
    client = booked.client
    for start in FAR_STARTS:
        made = await client.post(
            "/api/v1/appointments",
            json={"site": "paris-15", "service": "caf", "name": "Ada Lovelace", "start": start},
        )
        moved = await client.post(
            f"/api/v1/appointments/{booked.appointment}/reschedule", json={"start": start}
        )

        for response in (made, moved):
            assert response.status_code == 400, response.text
            assert "`start` must lie between 2000-01-01 and 2100-12-31" in response.text


async def test_a_far_first_day_on_the_booking_pages_shows_the_weeks_open_not_an_error(
    booked: Booked,
) -> None:
    """A day years ahead is the last week open, saying so; one long past is this week."""
    not_open_yet = "Les rendez-vous ne sont pas encore ouverts pour la date demandée"
    for path, beyond in (
        ("/mairies/paris-15/rendez-vous/creneaux?service=caf&du=9999-12-31", True),
        ("/mairies/paris-15/rendez-vous/creneaux?service=caf&du=0001-01-01", False),
        (f"/rendez-vous/{booked.appointment}/deplacer?du=9999-12-31", True),
    ):
        page = await booked.client.get(path)

        assert page.status_code == 200, path
        assert (not_open_yet in page.text) is beyond, path


async def test_a_far_start_on_the_booking_pages_is_never_a_500(booked: Booked) -> None:
    client = booked.client
    for start in FAR_STARTS:
        shown = await client.get(
            "/mairies/paris-15/rendez-vous/coordonnees",
            params={"service": "caf", "debut": start},
            follow_redirects=False,
        )
        made = await client.post(
            "/mairies/paris-15/rendez-vous/coordonnees",
            data={"service": "caf", "debut": start, "nom": "Ada", "email": "a@example.org"},
            follow_redirects=False,
        )
        moved = await client.post(
            f"/rendez-vous/{booked.appointment}/deplacer", data={"debut": start}
        )

        assert shown.status_code == made.status_code == 303  # back to the choice of a démarche
        assert moved.status_code == 409
        assert "choisissez un créneau" in moved.text


async def test_a_rating_in_other_digits_is_a_french_400(booked: Booked) -> None:
    for note in ("²", "٣", "४", "99999999999999999999"):
        answered = await booked.client.post(f"/ticket/{booked.ticket}/avis", data={"note": note})

        assert answered.status_code == 400, note
        assert "Choisissez une note de 1 à 5." in answered.text


async def test_a_ticket_number_the_database_cannot_hold_shows_the_reception_page(
    booked: Booked,
) -> None:
    client = booked.client
    client.cookies.update(booked.reception)
    for ticket in ("²", "٣", "99999999999999999999", "-1"):
        page = await client.get("/accueil/paris-15", params={"ticket": ticket})

        assert page.status_code == 200, ticket


async def test_a_far_day_of_special_hours_is_a_plain_400(booked: Booked, staff: Staff) -> None:
    manager = await staff.headers("manager", "paris-15")
    for day in ("9999-12-31", "0001-01-01"):
        path = f"/api/v1/admin/sites/paris-15/hours-exceptions/{day}"

        put = await booked.client.put(path, json={"ranges": []}, headers=manager)
        deleted = await booked.client.delete(path, headers=manager)

        for response in (put, deleted):
            assert response.status_code == 400, response.text
            assert "between 2000-01-01 and 2100-12-31" in response.text
