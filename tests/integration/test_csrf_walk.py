"""Every form of the staff pages, walked from the router, on both databases: a post with
the session cookie but without the session's CSRF token, with another session's token or
with a made-up one is refused with 403 and changes nothing in the database; the same post
with the session's own token acts. A form route that the tables below do not name fails
the walk, and so does a name that is no longer a route."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.accounts.sessions import COOKIE
from app.asgi import create_app
from app.config import Settings
from app.db import Base, Database
from app.privacy import service as privacy
from app.sites.models import Site
from tests.conftest import STAFF_PASSWORD, Clock, Staff, make_settings
from tests.integration.test_admin_site_pages import settings_form
from tests.integration.test_staff_pages import csrf_of
from tests.routes import asks_for, fill, page_forms

CLIENT = AsyncTestClient[object]
SITE = "paris-15"
AT_SITE = {"slug": SITE}
FOUND = "Gaston Lagaffe"  # the name of the person the search finds
Values = dict[str, object]
Prepare = Callable[["Desk"], Awaitable[tuple[Values, dict[str, str]]]]


@pytest.fixture
def settings(database_url: str) -> Settings:
    # A day's alert from its second online booking within an hour, for the form that
    # releases it; the walk logs in often, and the per-minute login limit is tested elsewhere.
    return make_settings(database_url, booking_alert_per_hour=1, login_attempts_per_minute=10_000)


@dataclass
class Desk:
    """What prepares each form: the API with a bearer token of each role, at paris-15."""

    client: CLIENT
    staff: Staff
    clock: Clock
    emails: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    people: int = 0

    async def email(self, role: str) -> str:
        if role not in self.emails:
            sites = () if role == "admin" else (SITE,)
            self.emails[role] = await self.staff.agent(role, *sites)
        return self.emails[role]

    async def api(self, method: str, path: str, role: str | None = None, **kwargs: Any) -> Any:
        """The JSON answer of an API call that must succeed, by an agent of `role`."""
        self.client.cookies.clear()
        headers = {}
        if role is not None:
            if role not in self.tokens:
                token = await self.staff.token(await self.email(role))
                self.tokens[role] = {"Authorization": f"Bearer {token}"}
            headers = self.tokens[role]
        response = await self.client.request(method, path, headers=headers, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    async def stations(self) -> list[int]:
        site = await self.api("GET", f"/api/v1/sites/{SITE}")
        return [station["id"] for station in site["stations"]]

    async def book(self, day: str, email: str = "", name: str = "") -> dict[str, Any]:
        """An online booking of the first free slot of `day`."""
        slots = await self.api(
            "GET",
            f"/api/v1/sites/{SITE}/availability",
            params={"service": "caf", "from": day, "to": day},
        )
        self.people += 1
        return dict(
            await self.api(
                "POST",
                "/api/v1/appointments",
                json={
                    "site": SITE,
                    "service": "caf",
                    "start": slots["slots"][0]["start"],
                    "name": name or f"Rosalie Vernet {self.people}",
                    "email": email or f"rosalie.{self.people}@example.org",
                },
            )
        )

    async def walk_in(self) -> None:
        await self.api(
            "POST", f"/api/v1/sites/{SITE}/tickets", "reception", json={"service": "caf"}
        )

    async def called_at(self, station: int) -> int:
        """A walk-in called at `station`: the ticket's id."""
        await self.walk_in()
        called = await self.api("POST", f"/api/v1/stations/{station}/call-next", "facilitator")
        return int(called["id"])

    async def agent_id(self, email: str) -> int:
        people = await self.api("GET", f"/api/v1/sites/{SITE}/agents", "manager")
        return int(next(person["id"] for person in people if person["email"] == email))

    async def colleague(self) -> int:
        """A new reception agent of paris-15, for a manager to change."""
        return await self.agent_id(await self.staff.agent("reception", SITE))


@dataclass(frozen=True)
class Form:
    """How to post one form: as whom, and what to prepare for it (its path's values and a
    body that, with the token, the page accepts)."""

    role: str
    prepare: Prepare
    answer: int = 303
    # A form that only reads (a search): what its answer shows, and a refused one must not.
    shows: str = ""


def given(values: Values | None = None, **fields: str) -> Prepare:
    """A form that needs nothing prepared: its path's values and its fields."""

    async def prepare(_desk: Desk) -> tuple[Values, dict[str, str]]:
        return dict(values or {}), dict(fields)

    return prepare


def to_colleague(**fields: str) -> Prepare:
    async def prepare(desk: Desk) -> tuple[Values, dict[str, str]]:
        return {"agent_id": await desk.colleague()}, dict(fields)

    return prepare


async def arrival(desk: Desk) -> tuple[Values, dict[str, str]]:
    booked = await desk.book("2026-12-01")
    # Ten minutes before the appointment: within the site's minutes for an early arrival.
    desk.clock.now = datetime.fromisoformat(booked["start"]) - timedelta(minutes=10)
    return {"slug": SITE}, {"reference": booked["reference"]}


async def remote_arrival(desk: Desk) -> tuple[Values, dict[str, str]]:
    """A ticket taken from a phone while the 15e is open, its holder at the desk."""
    desk.clock.now = datetime.fromisoformat("2026-12-01T09:00:00+01:00")
    joined = await desk.api(
        "POST",
        f"/api/v1/sites/{SITE}/remote-tickets",
        json={"service": "caf", "phone": "06 11 22 33 44", "travel_minutes": 20},
    )
    return {"slug": SITE}, {"numero": joined["number"]}


async def booking_by_phone(desk: Desk) -> tuple[Values, dict[str, str]]:
    slots = await desk.api(
        "GET",
        f"/api/v1/sites/{SITE}/availability",
        params={"service": "caf", "from": "2026-12-02", "to": "2026-12-02"},
    )
    return {"slug": SITE}, {
        "service": "caf",
        "debut": slots["slots"][0]["start"],
        "nom": "Odette Lampion",
        "telephone": "06 98 76 54 32",
        "canal": "telephone",
    }


async def call_next(desk: Desk) -> tuple[Values, dict[str, str]]:
    await desk.walk_in()
    return {"station_id": (await desk.stations())[0]}, {}


async def start_serving(desk: Desk) -> tuple[Values, dict[str, str]]:
    station = (await desk.stations())[1]
    ticket = await desk.called_at(station)
    return {"station_id": station, "ticket_id": ticket, "action": "commencer"}, {}


async def escalated(desk: Desk) -> tuple[Values, dict[str, str]]:
    ticket = await desk.called_at((await desk.stations())[2])
    await desk.api("POST", f"/api/v1/tickets/{ticket}/start", "facilitator")
    await desk.api(
        "POST",
        f"/api/v1/tickets/{ticket}/finish",
        "facilitator",
        json={"outcome": "escalated", "department": "caf"},
    )
    (request,) = await desk.api("GET", "/api/v1/escalations", "manager")
    return {"slug": SITE, "reference": request["reference"]}, {
        "statut": "in_progress",
        "message": "Dossier transmis à la CAF",
    }


async def paired_screen(desk: Desk) -> tuple[Values, dict[str, str]]:
    paired = await desk.api(
        "POST", f"/api/v1/admin/sites/{SITE}/screens", "manager", json={"label": "Hall"}
    )
    return {"slug": SITE, "screen_id": paired["id"]}, {}


async def site_settings(_desk: Desk) -> tuple[Values, dict[str, str]]:
    return {"slug": SITE}, settings_form(walk_in_percent="25")


async def station_change(desk: Desk) -> tuple[Values, dict[str, str]]:
    station = (await desk.stations())[-1]
    prefix = f"poste-{station}"
    return {"slug": SITE, "station_id": station}, {
        f"{prefix}-nom": "Poste du fond",
        f"{prefix}-type": "standard",
        f"{prefix}-actif": "oui",
    }


async def station_outage(desk: Desk) -> tuple[Values, dict[str, str]]:
    station = (await desk.stations())[-2]
    prefix = f"panne-{station}"
    return {"slug": SITE, "station_id": station}, {
        f"{prefix}-debut-jour": "2026-12-10",
        f"{prefix}-debut-heure": "08:00",
        f"{prefix}-fin-jour": "2026-12-10",
        f"{prefix}-fin-heure": "20:00",
        f"{prefix}-motif": "Écran cassé",
    }


async def outage(desk: Desk) -> tuple[Values, dict[str, str]]:
    added = await desk.api(
        "POST",
        f"/api/v1/admin/sites/{SITE}/outages",
        "manager",
        json={
            "station_id": (await desk.stations())[-3],
            "starts_at": "2026-12-11T08:00:00+01:00",
            "ends_at": "2026-12-11T20:00:00+01:00",
            "reason": "Panne",
        },
    )
    return {"slug": SITE, "outage_id": added["outage"]["id"]}, {}


async def hours_exception(desk: Desk) -> tuple[Values, dict[str, str]]:
    await desk.api(
        "PUT",
        f"/api/v1/admin/sites/{SITE}/hours-exceptions/2026-12-31",
        "manager",
        json={"ranges": [], "reason": "Saint-Sylvestre"},
    )
    return {"slug": SITE, "day": "2026-12-31"}, {}


async def closure(desk: Desk) -> tuple[Values, dict[str, str]]:
    added = await desk.api(
        "POST",
        f"/api/v1/admin/sites/{SITE}/closures",
        "manager",
        json={
            "starts_at": "2026-12-16T08:00:00+01:00",
            "ends_at": "2026-12-16T20:00:00+01:00",
            "reason": "Formation",
        },
    )
    return {"slug": SITE, "closure_id": added["closure"]["id"]}, {}


async def booking_alert(desk: Desk) -> tuple[Values, dict[str, str]]:
    # Two bookings of one day by one person within the hour: an alert, both suspects.
    for _ in range(2):
        await desk.book("2026-12-04", email="bot+1@example.org")
    return {"slug": SITE, "day": "2026-12-04"}, {}


async def person_found(desk: Desk) -> tuple[Values, dict[str, str]]:
    await desk.book("2026-12-07", email="personne.cherchee@example.org", name=FOUND)
    return {}, {"email": "personne.cherchee@example.org", "mairie": ""}


async def person_erased(desk: Desk) -> tuple[Values, dict[str, str]]:
    email = "personne.effacee@example.org"
    await desk.book("2026-12-08", email=email)
    # The digest of what the page listed, which its erase form carries.
    async with desk.staff.db.session() as session:
        site_ids = list(await session.scalars(select(Site.id).where(Site.slug == SITE)))
        found = await privacy.find(session, privacy.contact_of(email, None), site_ids)
    return {}, {"email": email, "mairie": "", "vu": found.digest(), "confirme": "oui"}


# Every form of the staff pages. Each is posted by an agent of the role that may use it,
# so that a 403 is the CSRF check's and nothing else's: the post with the token acts.
STAFF_FORMS: dict[str, Form] = {
    "/deconnexion": Form("reception", given()),
    "/accueil/{slug:str}/tickets": Form("reception", given(AT_SITE, service="caf")),
    "/accueil/{slug:str}/arrivees": Form("reception", arrival),
    "/accueil/{slug:str}/arrivees-a-distance": Form("reception", remote_arrival),
    "/accueil/{slug:str}/rendez-vous": Form("reception", booking_by_phone),
    "/poste/{station_id:int}/appeler": Form("facilitator", call_next),
    "/poste/{station_id:int}/tickets/{ticket_id:int}/{action:str}": Form(
        "facilitator", start_serving
    ),
    "/demandes/{slug:str}/{reference:str}": Form("manager", escalated),
    "/admin/catalogue/demarches": Form(
        "admin",
        given(
            code="permis-de-conduire",
            name="Permis de conduire",
            duration_minutes="30",
            station_kind="standard",
            documents="Une pièce d'identité",
        ),
    ),
    "/admin/catalogue/demarches/{code:str}": Form(
        "admin",
        given(
            {"code": "caf"},
            name="Démarches CAF",
            duration_minutes="30",
            station_kind="standard",
            documents="Votre numéro allocataire",
        ),
    ),
    "/admin/catalogue/besoins": Form(
        "admin", given(code="braille", name="Je lis le braille", extra_minutes="10")
    ),
    "/admin/catalogue/besoins/{code:str}": Form(
        "admin",
        given({"code": "audition"}, name="J'entends mal ou pas du tout", extra_minutes="10"),
    ),
    "/admin/agents": Form(
        "manager",
        given(
            name="Camille Nouvel",
            role="reception",
            sites=SITE,
            email="camille.nouvel@paris.fr",
            password="une phrase de passe assez longue",
        ),
    ),
    "/admin/agents/{agent_id:int}": Form(
        "manager", to_colleague(name="Nom changé", role="reception", sites=SITE)
    ),
    "/admin/agents/{agent_id:int}/activation": Form("manager", to_colleague(active="non")),
    "/admin/agents/{agent_id:int}/mot-de-passe": Form(
        "manager", to_colleague(password="un tout nouveau mot de passe")
    ),
    "/admin/agents/{agent_id:int}/deblocage": Form("manager", to_colleague()),
    "/admin/sites/{slug:str}/ecrans": Form("manager", given(AT_SITE, **{"ecran-nom": "Hall"}), 200),
    "/admin/sites/{slug:str}/ecrans/{screen_id:int}/retrait": Form("manager", paired_screen),
    "/admin/sites/{slug:str}/reglages": Form("manager", site_settings),
    "/admin/sites/{slug:str}/postes": Form(
        "manager", given(AT_SITE, **{"nouveau-nom": "Poste 9", "nouveau-type": "standard"})
    ),
    "/admin/sites/{slug:str}/postes/{station_id:int}": Form("manager", station_change),
    "/admin/sites/{slug:str}/postes/{station_id:int}/hors-service": Form("manager", station_outage),
    "/admin/sites/{slug:str}/hors-service/{outage_id:int}/fin": Form("manager", outage),
    "/admin/sites/{slug:str}/horaires/{weekday:str}": Form(
        "manager",
        given(
            {"slug": SITE, "weekday": "wed"},
            # Longer hours: no appointment to call off, which the page would ask about first.
            **{"horaires-wed-1-ouverture": "08:00", "horaires-wed-1-fermeture": "19:00"},
        ),
    ),
    "/admin/sites/{slug:str}/exceptions": Form(
        "manager",
        given(
            AT_SITE,
            **{
                "exception-jour": "2026-12-24",
                "exception-1-ouverture": "08:30",
                "exception-1-fermeture": "12:00",
                "exception-motif": "Veille de Noël",
            },
        ),
    ),
    "/admin/sites/{slug:str}/exceptions/{day:date}/suppression": Form("manager", hours_exception),
    "/admin/sites/{slug:str}/fermetures": Form(
        "manager",
        given(
            AT_SITE,
            **{
                "fermeture-debut-jour": "2026-12-15",
                "fermeture-debut-heure": "08:00",
                "fermeture-fin-jour": "2026-12-15",
                "fermeture-fin-heure": "20:00",
                "fermeture-motif": "Formation",
            },
        ),
    ),
    "/admin/sites/{slug:str}/fermetures/{closure_id:int}/suppression": Form("manager", closure),
    "/admin/sites/{slug:str}/alertes/{day:date}/liberer": Form("manager", booking_alert),
    "/admin/donnees-personnelles": Form("manager", person_found, 200, shows=FOUND),
    "/admin/donnees-personnelles/effacement": Form("manager", person_erased),
}

# The forms posted without a staff session, so without a CSRF token: nothing in the
# browser speaks for anyone there, and a forged post could do no more than its sender can.
WITHOUT_SESSION: dict[str, str] = {
    "/connexion": "logging in opens the session (no token yet); a post from another "
    "origin is refused (test_security.py)",
    "/mairies/{slug:str}/rendez-vous/coordonnees": "anyone books online, no credentials",
    "/rendez-vous/retrouver": "a reference and the phone or email it was booked with lead "
    "to the private link; nothing changes",
    "/rendez-vous/{token:str}/rappels": "the private link's token is the credential",
    "/rendez-vous/{token:str}/annuler": "the private link's token is the credential",
    "/rendez-vous/{token:str}/deplacer": "the private link's token is the credential",
    "/rendez-vous/{token:str}/reprendre": "the private link's token is the credential",
    "/rendez-vous/{token:str}/plus-tot": "the private link's token is the credential",
    "/rendez-vous/{token:str}/plus-tot/prendre": "the private link's token is the credential",
    "/rendez-vous/{token:str}/plus-tot/laisser": "the private link's token is the credential",
    "/rendez-vous/{token:str}/plus-tot/arreter": "the private link's token is the credential",
    "/ticket/{token:str}/avis": "the ticket link's token is the credential",
    "/ticket/{token:str}/quitter": "the ticket link's token is the credential",
    "/ticket/{token:str}/arrivee": "the ticket link's token and the mairie's arrival code "
    "of the moment (shown only in the mairie) are the credentials",
    "/mairies/{slug:str}/file": "anyone joins the queue from a phone, no credentials; the "
    "number is confirmed by the link of the text sent to it",
    "/demande-transmise/{token:str}": "the department's link token is the credential",
    # A resident's space has its own session and CSRF token
    # (tests/oidc/test_resident_sign_in.py checks that signing out needs it).
    "/mon-espace/deconnexion": "the resident's own session and CSRF token",
    "/mon-espace/coordonnees": "the resident's own session and CSRF token "
    "(tests/oidc/test_resident_space.py)",
    "/mon-espace/suppression": "the resident's own session and CSRF token "
    "(tests/oidc/test_resident_space.py)",
    # The partners' page has its own session and CSRF token (test_partner_pages.py,
    # test_partner_requests.py check that each form needs it).
    "/partenaires/connexion": "the partner's key, posted in the body, opens the partner's "
    "session (no token yet); a post from another origin is refused",
    "/partenaires/deconnexion": "the partner's own session and CSRF token",
    "/partenaires/mairies/{slug:str}/rendez-vous": "the partner's own session and CSRF token",
    "/partenaires/demandes/{reference:str}": "the partner's own session and CSRF token",
}
STAFF_CREDENTIALS = {"staff", "agent", "optional_agent"}


async def log_in(client: CLIENT, email: str) -> tuple[str, str]:
    """A new session of `email`: its cookie and the CSRF token its pages carry."""
    client.cookies.clear()
    response = await client.post(
        "/connexion", data={"email": email, "password": STAFF_PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    cookie: str = response.cookies[COOKIE]
    page = await client.get("/console")
    assert page.status_code == 200, page.text
    return cookie, csrf_of(page.text)


async def post_with(client: CLIENT, cookie: str, path: str, data: dict[str, str]) -> Any:
    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)
    return await client.post(path, data=data, follow_redirects=False)


async def fingerprint(db: Database) -> dict[str, str]:
    """A digest of every row of every table, by table."""
    digests = {}
    async with db.session() as session:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            rows = (await session.execute(select(table).order_by(*order))).all()
            digests[table.name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in before if before[name] != after[name])


def test_the_walk_names_every_form_route_of_the_pages_and_only_those(tmp_path: Path) -> None:
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"))
    routes = set(page_forms(app))
    named = set(STAFF_FORMS) | set(WITHOUT_SESSION)
    uncovered = sorted(routes - named)
    gone = sorted(named - routes)

    assert not set(STAFF_FORMS) & set(WITHOUT_SESSION)
    assert not uncovered, f"form routes that the CSRF walk does not cover: {uncovered}"
    assert not gone, f"named in the walk but no longer routes: {gone}"


def test_the_forms_without_a_session_are_the_ones_that_take_no_staff_credentials(
    tmp_path: Path,
) -> None:
    app = create_app(make_settings(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"))
    taking = {
        path
        for path, handlers in page_forms(app).items()
        if any(asks_for(handler) & STAFF_CREDENTIALS for handler in handlers)
    }

    assert not taking & set(WITHOUT_SESSION)
    # The logout reads its session itself; every other staff form takes the agent.
    assert taking == set(STAFF_FORMS) - {"/deconnexion"}


async def test_every_staff_form_refuses_a_post_without_its_sessions_csrf_token_and_changes_nothing(
    client: CLIENT, staff: Staff, clock: Clock, db: Database
) -> None:
    desk = Desk(client, staff, clock)
    problems: list[str] = []
    for template, form in STAFF_FORMS.items():
        clock.set("2026-12-01 09:00")
        desk.tokens.clear()  # each form's own time; tokens are not issued ahead of it
        values, data = await form.prepare(desk)
        path = fill(template, values)
        email = await desk.email(form.role)
        _, other_csrf = await log_in(client, email)
        cookie, csrf = await log_in(client, email)

        before = await fingerprint(db)
        refused = {
            "no token": await post_with(client, cookie, path, data),
            "another session's token": await post_with(
                client, cookie, path, {**data, "csrf": other_csrf}
            ),
            "a made-up token": await post_with(client, cookie, path, {**data, "csrf": "0" * 40}),
        }
        after = await fingerprint(db)
        genuine = await post_with(client, cookie, path, {**data, "csrf": csrf})
        acted = await fingerprint(db)

        for how, answer in refused.items():
            if answer.status_code != 403:
                problems.append(f"{path} with {how}: {answer.status_code}, not 403")
            if form.shows and form.shows in answer.text:
                problems.append(f"{path} with {how} shows what it found")
        if changed(before, after):
            problems.append(f"{path} refused, yet changed {changed(before, after)}")
        if genuine.status_code != form.answer:
            problems.append(f"{path} with its token: {genuine.status_code} {genuine.text[:300]}")
        if form.shows:
            if form.shows not in genuine.text:
                problems.append(f"{path} with its token does not show {form.shows}")
        elif not changed(after, acted):
            problems.append(f"{path} with its token changed nothing: the walk proves nothing")

    assert not problems, "\n".join(problems)
