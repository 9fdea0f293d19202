"""The consoles through HTTP, on both databases: login, session cookie, CSRF, reception,
the agent console, the printed ticket and the tracking page."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import quote

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db import Database
from app.queue.models import Ticket, TicketStatus
from app.visits.models import Visit
from tests.commands import in_session
from tests.conftest import STAFF_PASSWORD, Clock, Staff

pytestmark = pytest.mark.usefixtures("tuesday_morning")


@pytest.fixture
def tuesday_morning(clock: Clock) -> None:
    clock.set("2026-12-01 09:00")


async def log_in(client: AsyncTestClient[object], email: str, target: str = "") -> Any:
    return await client.post(
        "/connexion",
        data={"email": email, "password": STAFF_PASSWORD, "suite": target},
        follow_redirects=False,
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


async def console(client: AsyncTestClient[object], staff: Staff, role: str, path: str) -> str:
    """Log a new agent of paris-15 in; return the page at `path`."""
    email = await staff.agent(role, "paris-15")
    response = await log_in(client, email)
    assert response.status_code == 303, response.text
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return page.text


async def test_a_console_without_a_session_sends_to_the_login_page(
    client: AsyncTestClient[object],
) -> None:
    response = await client.get("/accueil/paris-15", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/connexion?suite=/accueil/paris-15"


async def test_login_sets_a_protected_session_cookie_and_goes_where_asked(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    email = await staff.agent("reception", "paris-15")

    wrong = await client.post(
        "/connexion", data={"email": email, "password": "wrong one"}, follow_redirects=False
    )
    right = await log_in(client, email, "/accueil/paris-15")
    elsewhere = await log_in(client, email, "https://evil.example.org/")

    assert wrong.status_code == 401
    assert "Adresse e-mail ou mot de passe incorrect." in wrong.text
    assert "set-cookie" not in wrong.headers
    assert right.status_code == 303
    assert right.headers["location"] == "/accueil/paris-15"
    cookie = right.headers["set-cookie"]
    assert cookie.startswith("guichet_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    assert elsewhere.headers["location"] == "/console"


async def test_a_post_without_the_csrf_token_is_refused(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    page = await console(client, staff, "reception", "/accueil/paris-15")

    missing = await client.post("/accueil/paris-15/tickets", data={"service": "caf"})
    forged = await client.post(
        "/accueil/paris-15/tickets", data={"service": "caf", "csrf": "0" * 40}
    )
    genuine = await client.post(
        "/accueil/paris-15/tickets",
        data={"service": "caf", "csrf": csrf_of(page)},
        follow_redirects=False,
    )

    assert missing.status_code == 403
    assert forged.status_code == 403
    assert genuine.status_code == 303
    # A stale tab is told what to do, not that the account may not open the page.
    assert "Ce formulaire a expiré : rechargez la page" in forged.text
    assert "Votre compte ne permet pas" not in forged.text


async def test_the_session_cookie_works_for_the_api_with_the_csrf_header(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    page = await console(client, staff, "reception", "/accueil/paris-15")

    reading = await client.get("/api/v1/sites/paris-15/queue")
    without_header = await client.post("/api/v1/sites/paris-15/tickets", json={"service": "caf"})
    with_header = await client.post(
        "/api/v1/sites/paris-15/tickets",
        json={"service": "caf"},
        headers={"X-CSRF-Token": csrf_of(page)},
    )

    assert reading.status_code == 200
    assert without_header.status_code == 403
    assert with_header.status_code == 201


async def test_a_cross_site_body_sent_as_text_with_the_session_cookie_changes_nothing(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    """A body another site's page may send without asking first (`text/plain`, or a form)
    is not read as JSON (415), and carries no CSRF header, without which the session
    cookie is refused (403) on a body sent as JSON."""
    await console(client, staff, "manager", "/admin/sites/paris-15")
    before = (await client.get("/api/v1/sites/paris-15")).json()
    body = '{"walk_in_percent": 7}'

    plain = await client.patch(
        "/api/v1/admin/sites/paris-15", content=body, headers={"Content-Type": "text/plain"}
    )
    form = await client.patch(
        "/api/v1/admin/sites/paris-15",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    as_json = await client.patch(
        "/api/v1/admin/sites/paris-15", content=body, headers={"Content-Type": "application/json"}
    )
    after = (await client.get("/api/v1/sites/paris-15")).json()

    assert plain.status_code == 415
    assert form.status_code == 415
    assert as_json.status_code == 403
    assert after == before


async def test_a_session_cookie_is_no_bearer_token(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    email = await staff.agent("reception", "paris-15")
    cookie = (await log_in(client, email)).cookies["guichet_session"]
    client.cookies.clear()

    response = await client.get(
        "/api/v1/sites/paris-15/queue", headers={"Authorization": f"Bearer {cookie}"}
    )

    assert response.status_code == 401


async def test_a_session_ends_after_two_hours_without_activity(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    await console(client, staff, "reception", "/accueil/paris-15")
    clock.set("2026-12-01 10:55")
    still = await client.get("/accueil/paris-15", follow_redirects=False)
    clock.set("2026-12-01 12:50")
    kept_alive = await client.get("/accueil/paris-15", follow_redirects=False)
    clock.set("2026-12-01 14:51")
    ended = await client.get("/accueil/paris-15", follow_redirects=False)

    assert still.status_code == 200
    assert kept_alive.status_code == 200
    assert ended.status_code == 303
    assert ended.headers["location"].startswith("/connexion")


async def test_reception_issues_a_ticket_in_one_click_and_prints_it(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    page = await console(client, staff, "reception", "/accueil/paris-15")

    issued = await client.post(
        "/accueil/paris-15/tickets",
        data={"service": "caf", "csrf": csrf_of(page), "prioritaire": "oui"},
        follow_redirects=False,
    )
    shown = await client.get(issued.headers["location"])
    ticket_id = issued.headers["location"].split("ticket=")[1]
    printed = await client.get(f"/accueil/paris-15/tickets/{ticket_id}/imprimer")

    assert 'Ticket <strong class="big-number">A001</strong>' in shown.text
    assert "prioritaire" in shown.text
    assert printed.status_code == 200
    assert ">A001</h1>" in printed.text
    assert "<svg" in printed.text
    assert "Code QR" in printed.text
    assert re.search(r"http://127\.0\.0\.1:8000/ticket/[A-Za-z0-9_-]{32}", printed.text)


async def booked_at_11_30(client: AsyncTestClient[object], name: str, email: str) -> Any:
    """A booking at the 15e on Tuesday 1 December at 11:30, as the API answers it."""
    made = await client.post(
        "/api/v1/appointments",
        json={
            "site": "paris-15",
            "service": "caf",
            "start": "2026-12-01T11:30:00+01:00",
            "name": name,
            "email": email,
        },
    )
    assert made.status_code == 201, made.text
    return made.json()


async def test_reception_finds_and_checks_in_a_booking(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    booked = await booked_at_11_30(client, "Ada Lovelace", "ada@example.org")
    clock.set("2026-12-01 11:10")
    page = await console(client, staff, "reception", "/accueil/paris-15?q=lovelace")

    done = await client.post(
        "/accueil/paris-15/arrivees",
        data={"reference": booked["reference"], "csrf": csrf_of(page)},
        follow_redirects=False,
    )
    again = await client.post(
        "/accueil/paris-15/arrivees",
        data={"reference": booked["reference"], "csrf": csrf_of(page)},
        follow_redirects=False,
    )
    after_again = await client.get(again.headers["location"])

    assert "Ada Lovelace" in page
    assert booked["reference"] in page
    assert "Arrivée enregistrée" in (await client.get(done.headers["location"])).text
    assert "déjà enregistré" in after_again.text


async def test_the_agent_console_calls_starts_and_finishes(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    from app.queue.commands import issue_walk_in

    ticket = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    site = (await client.get("/api/v1/sites/paris-15")).json()
    station = site["stations"][0]["id"]
    page = await console(client, staff, "facilitator", f"/poste/{station}")
    csrf = csrf_of(page)

    await client.post(f"/poste/{station}/appeler", data={"csrf": csrf})
    called = await client.get(f"/poste/{station}")
    await client.post(f"/poste/{station}/tickets/{ticket.id}/commencer", data={"csrf": csrf})
    tracking_while_served = await client.get(f"/ticket/{ticket.token}")
    serving = await client.get(f"/poste/{station}")
    no_outcome = await client.post(
        f"/poste/{station}/tickets/{ticket.id}/terminer", data={"csrf": csrf}
    )
    await client.post(
        f"/poste/{station}/tickets/{ticket.id}/terminer",
        data={"csrf": csrf, "issue": "alone", "demarches": ["caf", "ants"], "note": " Dossier  "},
    )
    finished = await client.get(f"/poste/{station}")
    empty = await client.post(f"/poste/{station}/appeler", data={"csrf": csrf})
    async with db.session() as session:
        visit = await session.scalar(select(Visit))

    assert "Ticket A001 – appelé" in called.text
    assert "au <strong>Poste 1</strong> : on s'occupe de vous en ce moment." in (
        tracking_while_served.text
    )
    assert "Issue de la visite" in serving.text
    assert 'value="caf" checked' in serving.text
    assert "Choisissez l&#39;issue de la visite." in no_outcome.text
    assert "Aucun ticket à ce poste pour l'instant." in finished.text
    assert "Personne n&#39;attend pour ce poste." in empty.text
    assert visit is not None
    assert (visit.outcome, visit.services, visit.note, visit.channel) == (
        "alone",
        ["caf", "ants"],
        "Dossier",
        "walk_in",
    )


async def take_out_of_service(
    client: AsyncTestClient[object], admin: dict[str, str], station: int, starts: str
) -> None:
    """Put a station of paris-15 out of service on 1 December, from `starts` to noon, as an
    administrator does."""
    response = await client.post(
        "/api/v1/admin/sites/paris-15/outages",
        json={
            "station_id": station,
            "starts_at": f"2026-12-01T{starts}:00+01:00",
            "ends_at": "2026-12-01T12:00:00+01:00",
            "reason": "Écran cassé",
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text


async def test_calling_at_a_station_out_of_service_says_so_on_the_console(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    from app.queue.commands import issue_walk_in

    ticket = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    station = (await client.get("/api/v1/sites/paris-15")).json()["stations"][0]["id"]
    await take_out_of_service(client, await staff.headers("admin"), station, "09:00")
    page = await console(client, staff, "facilitator", f"/poste/{station}")

    refused = await client.post(
        f"/poste/{station}/appeler", data={"csrf": csrf_of(page)}, follow_redirects=False
    )
    shown = await client.get(refused.headers["location"])
    still = (await client.get(f"/api/v1/tickets/{ticket.token}")).json()

    assert refused.status_code == 303
    assert refused.headers["location"] == f"/poste/{station}?erreur=station_out_of_service"
    assert shown.status_code == 200
    assert (
        '<div class="error-summary" role="alert" tabindex="-1"><p>Ce poste est hors service '
        "en ce moment : appelez depuis un autre poste.</p></div>"
    ) in shown.text
    assert still["status"] == "waiting"


async def test_stations_out_of_service_now_do_not_count_in_the_waiting_estimates(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    from app.queue.commands import issue_walk_in

    ticket = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    stations = [s["id"] for s in (await client.get("/api/v1/sites/paris-15")).json()["stations"]]
    display = "/api/v1/sites/paris-15/display"
    before = (await client.get(display)).json()["waiting"]["eta_minutes"]
    admin = await staff.headers("admin")
    for station in stations:  # all of them from now, but Poste 1 only from ten o'clock
        await take_out_of_service(
            client, admin, station, "10:00" if station == stations[0] else "09:00"
        )
    one_left = (await client.get(display)).json()["waiting"]["eta_minutes"]
    tracked_one_left = await client.get(f"/ticket/{ticket.token}")
    clock.set("2026-12-01 10:00")
    none_left = (await client.get(display)).json()["waiting"]["eta_minutes"]
    tracked_none_left = await client.get(f"/ticket/{ticket.token}")

    assert len(stations) > 2
    assert before[0] == 0  # several stations: the one person waiting is called at once
    assert one_left[0] > 0  # one station: a newcomer waits for that person's visit first
    assert "Attente estimée" in tracked_one_left.text
    assert none_left is None
    assert "Attente estimée" not in tracked_none_left.text
    assert "Vous êtes la prochaine personne appelée" in tracked_none_left.text


async def test_consoles_are_for_their_own_site_and_roles(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    elsewhere = await staff.agent("reception", "paris-20")
    await log_in(client, elsewhere)

    other_site = await client.get("/accueil/paris-15")
    site = (await client.get("/api/v1/sites/paris-15")).json()
    station = await client.get(f"/poste/{site['stations'][0]['id']}")

    assert other_site.status_code == 403
    assert "Accès refusé" in other_site.text
    assert station.status_code == 403


async def test_the_tracking_page_shows_the_place_then_the_call(
    client: AsyncTestClient[object], db: Any, clock: Clock
) -> None:
    from app.queue.commands import call_next, issue_walk_in

    first = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    mine = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    site = (await client.get("/api/v1/sites/paris-15")).json()

    waiting = await client.get(f"/ticket/{mine.token}")
    await in_session(db, call_next, site["stations"][0]["id"], agent_id=None, now=clock())
    await in_session(db, call_next, site["stations"][1]["id"], agent_id=None, now=clock())
    state = await client.get(f"/ticket/{mine.token}/etat")
    unknown = await client.get("/ticket/" + "y" * 32)

    assert first.number == "A001"
    assert waiting.status_code == 200
    assert "<strong>1</strong> personne avant vous" in waiting.text
    assert 'aria-live="polite"' in waiting.text
    assert waiting.headers["cache-control"] == "no-store"
    assert '<p class="turn-station">Poste 2</p>' in state.text
    assert "Présentez-vous au <strong>Poste 2</strong>" in state.text
    assert unknown.status_code == 404


async def test_reception_books_for_someone_on_the_phone(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    page = await console(
        client, staff, "reception", "/accueil/paris-15/rendez-vous?service=caf&jour=2026-12-02"
    )

    booked = await client.post(
        "/accueil/paris-15/rendez-vous",
        data={
            "csrf": csrf_of(page),
            "service": "caf",
            "jour": "2026-12-02",
            "debut": "2026-12-02T14:00:00+01:00",
            "nom": "Marcel Proust",
            "telephone": "06 98 76 54 32",
            "canal": "telephone",
            "rappels_sms": "oui",
        },
        follow_redirects=False,
    )
    shown = await client.get(booked.headers["location"])
    token = re.search(r"/rendez-vous/([A-Za-z0-9_-]{32})", shown.text)

    assert 'value="2026-12-02T14:00:00+01:00"' in page
    assert booked.status_code == 303
    assert "Marcel Proust" in shown.text
    assert "mercredi 2 décembre 2026 à 14\u00a0h\u00a000" in shown.text
    assert token is not None
    api = (await client.get(f"/api/v1/appointments/{token.group(1)}")).json()
    assert api["channel"] == "phone"
    assert api["phone"] == "+33698765432"
    assert api["reminders_by_sms"] is True


async def test_a_facilitator_transfers_a_ticket_to_a_double_station(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    from app.queue.commands import issue_walk_in

    ticket = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    station = (await client.get("/api/v1/sites/paris-15")).json()["stations"][0]["id"]
    page = await console(client, staff, "facilitator", f"/poste/{station}")
    csrf = csrf_of(page)
    await client.post(f"/poste/{station}/appeler", data={"csrf": csrf})

    await client.post(
        f"/poste/{station}/tickets/{ticket.id}/transferer",
        data={"csrf": csrf, "service": "logement", "poste": ""},
    )
    moved = (await client.get(f"/api/v1/tickets/{ticket.token}")).json()
    refused = await client.post(
        f"/poste/{station}/tickets/{ticket.id}/terminer",
        data={"csrf": csrf},
        follow_redirects=False,
    )

    assert moved["status"] == "waiting"
    assert moved["service_name"] == "Demande de logement social"
    assert refused.headers["location"] == f"/poste/{station}?erreur=cannot_finish"


async def test_a_manager_moves_requests_forward_from_the_requests_page(
    client: AsyncTestClient[object], staff: Staff, db: Any, clock: Clock
) -> None:
    from app.queue.commands import act, call_next, issue_walk_in
    from app.visits.service import VisitReport

    ticket = await in_session(
        db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
    )
    site = (await client.get("/api/v1/sites/paris-15")).json()
    await in_session(db, call_next, site["stations"][0]["id"], agent_id=None, now=clock())
    await in_session(db, act, ticket.id, "start", agent_id=None, now=clock())
    report = VisitReport(outcome="escalated", department="impots")
    await in_session(db, act, ticket.id, "finish", agent_id=None, now=clock(), report=report)

    page = await console(client, staff, "manager", "/demandes/paris-15")
    reference = re.search(r"DM15-[0-9A-Z]{6}", page).group(0)  # type: ignore[union-attr]
    moved = await client.post(
        f"/demandes/paris-15/{reference}",
        data={"csrf": csrf_of(page), "statut": "answered", "message": "Réponse par courrier"},
    )
    backwards = await client.post(
        f"/demandes/paris-15/{reference}", data={"csrf": csrf_of(page), "statut": "received"}
    )
    answered = await client.get("/demandes/paris-15?filtre=repondues")
    await log_in(client, await staff.agent("manager", "paris-20"))
    elsewhere = await client.get("/demandes/paris-15")

    assert "Impôts (Finances publiques)" in page
    assert "transmise au service" in page
    assert f"Demande {reference} mise à jour" in moved.text
    assert "Cette demande est déjà à cette étape ou plus loin." in backwards.text
    assert reference in answered.text
    assert "réponse reçue" in answered.text
    assert elsewhere.status_code == 403


async def test_reception_finds_a_booking_without_its_accents_or_its_arrondissement(
    client: AsyncTestClient[object], staff: Staff, clock: Clock
) -> None:
    booked = await booked_at_11_30(client, "Zoé O'Brien-Lefèvre", "zoe@example.org")
    clock.set("2026-12-01 11:10")
    reference = booked["reference"]
    own = reference.split("-")[1]
    searches = [
        *("zoe", "LEFEVRE", "zoé lef", "lefevre zoe", "O’Brien", "o brien-lef"),
        *(reference, reference.replace("-", " "), own),
    ]
    pages = [
        await console(client, staff, "reception", f"/accueil/paris-15?q={quote(q)}")
        for q in searches
    ]
    nobody = await console(client, staff, "reception", f"/accueil/paris-15?q={own[:4]}")

    assert [reference in page for page in pages] == [True] * len(searches)
    assert reference not in nobody  # part of a reference is no one's
    assert "Aucun rendez-vous ne correspond." in nobody


async def test_calling_the_next_while_a_ticket_is_still_at_the_station_asks_first(
    client: AsyncTestClient[object], staff: Staff, db: Database, clock: Clock
) -> None:
    # A click on "Appeler le suivant" while A001 is served would send a second person to
    # a busy desk (and the screens would show both there): the console asks first, and
    # its "call anyway" names the tickets it asked about.
    from app.queue.commands import issue_walk_in

    tickets = [
        await in_session(
            db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
        )
        for _ in range(3)
    ]
    site = (await client.get("/api/v1/sites/paris-15")).json()
    station = site["stations"][0]["id"]
    csrf = csrf_of(await console(client, staff, "facilitator", f"/poste/{station}"))
    call = f"/poste/{station}/appeler"

    await client.post(call, data={"csrf": csrf})
    asked = await client.post(call, data={"csrf": csrf})
    forged = await client.post(call, data={"csrf": csrf, "quand_meme": "oui"})
    anyway = await client.post(
        call, data={"csrf": csrf, "quand_meme": str(tickets[0].id)}, follow_redirects=False
    )
    stale = await client.post(call, data={"csrf": csrf, "quand_meme": str(tickets[0].id)})
    async with db.session() as session:
        called = await session.scalars(
            select(Ticket.number).where(Ticket.status == TicketStatus.CALLED)
        )
        numbers = sorted(called)

    assert asked.status_code == 409
    assert "Le ticket A001 est encore en cours à ce poste" in asked.text
    assert f'name="quand_meme" value="{tickets[0].id}"' in asked.text
    assert "Appeler quand même la personne suivante" in asked.text
    assert forged.status_code == 409
    assert anyway.status_code == 303
    assert stale.status_code == 409  # A002 came meanwhile: asked again
    assert "Les tickets A001, A002 sont encore en cours à ce poste" in stale.text
    assert numbers == ["A001", "A002"]


async def test_calls_made_at_once_to_a_free_station_call_one_person(
    client: AsyncTestClient[object], db: Database, clock: Clock
) -> None:
    # Three tabs (or a request sent again) all find the station free: the check is made
    # under the queue's lock, so only one calls and the others are refused, for the
    # console to ask, rather than sending a second person to the desk.
    from app.errors import Conflict
    from app.queue.commands import call_next, issue_walk_in

    for _ in range(3):
        await in_session(
            db, issue_walk_in, "paris-15", service_code="caf", agent_id=None, now=clock()
        )
    station = (await client.get("/api/v1/sites/paris-15")).json()["stations"][0]["id"]

    async def call() -> str:
        try:
            ticket = await in_session(
                db, call_next, station, agent_id=None, now=clock(), busy_with=()
            )
        except Conflict as refused:
            return refused.code
        return ticket.number if ticket else "nobody"

    answers = await asyncio.gather(call(), call(), call())

    assert sorted(answers) == ["A001", "station_busy", "station_busy"]
