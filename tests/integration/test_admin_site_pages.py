"""The administration pages of a mairie through HTTP, on both databases: who may open
them, forms posted with the CSRF field, refusals shown in French next to each field,
confirmations after each change, and the appointments left to reschedule."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.db import Database
from app.notify.models import OutboxMessage
from tests.conftest import Clock, Staff
from tests.integration.test_staff_pages import csrf_of, log_in

pytestmark = pytest.mark.usefixtures("monday_morning")
PAGE = "/admin/sites/paris-15"


@pytest.fixture
def monday_morning(clock: Clock) -> None:
    clock.set("2026-11-30 08:00")


async def logged_in(client: AsyncTestClient[object], staff: Staff, role: str) -> str:
    """Log a new agent of paris-15 in; return the CSRF token of the site's page."""
    response = await log_in(client, await staff.agent(role, "paris-15"))
    assert response.status_code == 303, response.text
    page = await client.get("/console")
    return csrf_of(page.text)


async def post_form(client: AsyncTestClient[object], path: str, csrf: str, **fields: Any) -> Any:
    return await client.post(path, data={"csrf": csrf, **fields}, follow_redirects=False)


def settings_form(**changes: str) -> dict[str, str]:
    values = {
        "walk_in_percent": "30",
        "booking_min_notice_minutes": "120",
        "booking_horizon_days": "60",
        "max_future_bookings_per_contact": "2",
        "check_in_early_minutes": "30",
        "check_in_late_minutes": "15",
        "late_grace_minutes": "10",
        "late_check_in_limit_minutes": "30",
        "priority_after_minutes": "30",
        "no_show_after_calls": "3",
        "turn_near_position": "3",
        "service_level_minutes": "15",
        "service_level_goal": "80",
        "reminder_hours": "24, 2",
        "sms_quiet_from": "20:00",
        "sms_quiet_until": "08:00",
        "remote_per_hour": "20",
        "remote_head_start_minutes": "60",
        "remote_rejoin_minutes": "15",
        "offer_hold_minutes": "15",
    }
    return {**values, **changes}


async def test_a_manager_sees_their_mairies_and_the_consoles_link_to_them(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    await logged_in(client, staff, "manager")
    console = await client.get("/console")
    listing = await client.get("/admin")
    page = await client.get(PAGE)
    other = await client.get("/admin/sites/paris-20")
    tabs = {
        tab: (await client.get(PAGE, params={"onglet": tab})).text
        for tab in ("rendez-vous", "postes", "horaires", "fermetures")
    }

    assert 'href="/admin"' in console.text
    assert 'href="/admin/sites/paris-15"' in listing.text
    assert "paris-20" not in listing.text
    assert page.status_code == 200
    for tab, heading in (
        ("rendez-vous", "Réglages des rendez-vous"),
        ("postes", "Postes"),
        ("horaires", "Horaires de la semaine"),
        ("fermetures", "Jours particuliers"),
    ):
        assert f">{heading}</h2>" in tabs[tab]
    assert other.status_code == 403
    assert "Accès refusé" in other.text


async def test_reception_has_no_administration(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    await logged_in(client, staff, "reception")
    console = await client.get("/console")
    page = await client.get(PAGE)

    assert 'href="/admin"' not in console.text
    assert page.status_code == 403


async def test_settings_refused_come_back_in_french_next_to_each_field_with_what_was_typed(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    csrf = await logged_in(client, staff, "manager")

    refused = await post_form(
        client,
        f"{PAGE}/reglages",
        csrf,
        **settings_form(walk_in_percent="150", reminder_hours="24, 24", sms_quiet_from="soir"),
    )
    accepted = await post_form(
        client, f"{PAGE}/reglages", csrf, **settings_form(walk_in_percent="40")
    )
    after = await client.get(accepted.headers["location"])

    assert refused.status_code == 400
    html = refused.text
    assert "Il y a 3 erreurs" in html
    assert '<a href="#walk_in_percent">' in html
    assert "doit aller de 0 à 100 %" in html
    assert 'aria-describedby="walk_in_percent-aide walk_in_percent-erreur"' in html
    assert 'aria-invalid="true"' in html
    assert 'value="150"' in html
    assert "Indiquez l&#39;heure sous la forme HH:MM" in html
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"{PAGE}?onglet=rendez-vous&fait=reglages#onglet"
    assert "Les réglages ont été enregistrés." in after.text
    assert 'id="walk_in_percent" name="walk_in_percent" value="40"' in after.text


async def test_the_reminder_rule_refused_by_the_service_is_shown_next_to_its_field(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    csrf = await logged_in(client, staff, "manager")

    refused = await post_form(
        client, f"{PAGE}/reglages", csrf, **settings_form(reminder_hours="24, 24")
    )

    assert refused.status_code == 400
    assert '<a href="#reminder_hours">Deux rappels ne peuvent pas être à la même heure.</a>' in (
        refused.text
    )
    assert 'id="reminder_hours-erreur"' in refused.text


async def test_a_form_without_its_csrf_field_changes_nothing(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    await logged_in(client, staff, "manager")

    forged = await client.post(
        f"{PAGE}/postes", data={"nouveau-nom": "Poste 9"}, follow_redirects=False
    )
    page = await client.get(PAGE)

    assert forged.status_code == 403
    assert "Poste 9" not in page.text


async def test_a_station_taken_out_of_service_lists_what_is_left_to_reschedule(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    booked = []
    for number in range(1, 8):
        response = await client.post(
            "/api/v1/appointments",
            json={
                "site": "paris-15",
                "service": "caf",
                "start": "2026-12-03T10:00:00+01:00",
                "name": f"Usager {number}",
                "email": f"usager{number}@example.org",
            },
        )
        booked.append(response)
    csrf = await logged_in(client, staff, "manager")
    stations = (await client.get("/api/v1/sites/paris-15")).json()["stations"]
    station = next(str(s["id"]) for s in stations if s["name"] == "Poste 2")

    outage = {
        f"panne-{station}-debut-jour": "2026-12-03",
        f"panne-{station}-debut-heure": "08:00",
        f"panne-{station}-fin-jour": "2026-12-03",
        f"panne-{station}-fin-heure": "20:00",
        f"panne-{station}-motif": "Écran cassé",
    }
    asked = await post_form(client, f"{PAGE}/postes/{station}/hors-service", csrf, **outage)
    still = await client.get(f"/api/v1/appointments/{booked[0].json()['token']}")
    out = await post_form(
        client,
        f"{PAGE}/postes/{station}/hors-service",
        csrf,
        **outage,
        confirme=booked[0].json()["reference"],
    )
    after = await client.get(out.headers["location"])
    listed = await client.get(PAGE, params={"onglet": "general"})
    backwards = await post_form(
        client,
        f"{PAGE}/postes/{station}/hors-service",
        csrf,
        **{
            f"panne-{station}-debut-jour": "2026-12-03",
            f"panne-{station}-debut-heure": "18:00",
            f"panne-{station}-fin-jour": "2026-12-03",
            f"panne-{station}-fin-heure": "08:00",
        },
    )

    assert [r.status_code for r in booked] == [201] * 6 + [409]
    # Asked first: one appointment would be called off, and nothing is changed yet.
    assert asked.status_code == 409
    assert "Ce changement annule 1 rendez-vous" in asked.text
    assert booked[0].json()["reference"] in asked.text
    assert f'name="confirme" value="{booked[0].json()["reference"]}"' in asked.text
    assert f'<input type="hidden" name="panne-{station}-motif" value="Écran cassé">' in asked.text
    assert still.json()["status"] == "booked"
    assert out.status_code == 303
    assert "a_replanifier=1" in out.headers["location"]
    assert "1 rendez-vous ne peut pas avoir lieu" in after.text
    assert "Rendez-vous à replanifier" in after.text
    assert booked[0].json()["reference"] in listed.text
    assert "jeudi 3 décembre 2026 à 10\u00a0h\u00a000" in listed.text
    assert (
        "En service ; hors service du jeudi 3 décembre 2026 à 8\u00a0h\u00a000 "
        "au jeudi 3 décembre 2026 à 20\u00a0h\u00a000"
    ) in after.text
    assert backwards.status_code == 400
    assert f'<a href="#panne-{station}-fin-jour">' in backwards.text
    assert "La fin de la mise hors service doit venir après son début." in backwards.text
    assert '<details class="station-admin" open>' in backwards.text


async def test_closing_a_weekday_asks_first_and_again_for_any_appointment_not_shown(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    """Emptying Wednesday's hours would call off its appointment: the page asks first,
    naming it, and changes nothing, not even the hours. Meanwhile its person cancels and
    another books the freed slot: the answer agreeing to the first, as many as before, is
    asked again about the second; agreeing to the second makes the change."""
    desk = await staff.headers("reception", "paris-15")  # books beside the manager's pages

    async def book(number: int) -> dict[str, Any]:
        response = await client.post(
            "/api/v1/appointments",
            json={"site": "paris-15", "service": "caf", "start": "2026-12-02T10:00:00+01:00",
                  "channel": "phone", "name": f"Usager {number}",
                  "email": f"usager{number}@example.org"},
            headers=desk,
        )  # fmt: skip
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    first = await book(1)
    csrf = await logged_in(client, staff, "manager")
    closed = {"horaires-wed-1-ouverture": "", "horaires-wed-1-fermeture": ""}

    asked = await post_form(client, f"{PAGE}/horaires/wed", csrf, **closed)
    hours = (await client.get("/api/v1/sites/paris-15")).json()["opening_hours"]
    kept = await client.get(f"/api/v1/appointments/{first['token']}")
    cancel = await client.post(f"/api/v1/appointments/{first['token']}/cancel", headers=desk)
    second = await book(2)
    stale = await post_form(
        client, f"{PAGE}/horaires/wed", csrf, **closed, confirme=first["reference"]
    )
    agreed = await post_form(
        client, f"{PAGE}/horaires/wed", csrf, **closed, confirme=second["reference"]
    )
    after = [await client.get(f"/api/v1/appointments/{b['token']}") for b in (first, second)]

    assert asked.status_code == 409
    assert "Ce changement annule 1 rendez-vous" in asked.text
    assert first["reference"] in asked.text
    assert hours["weekly"]["wed"] == [["08:30", "17:00"]]  # nothing changed yet
    assert kept.json()["status"] == "booked"
    assert cancel.status_code == 200, cancel.text
    assert stale.status_code == 409
    assert second["reference"] in stale.text
    assert agreed.status_code == 303
    assert "a_replanifier=1" in agreed.headers["location"]
    assert [a.json()["status"] for a in after] == ["cancelled", "called_off"]


async def closing_events(db: Database) -> list[str]:
    """The audit log's changes that closed a day or a period, in order."""
    async with db.session() as session:
        query = select(AuditEvent.action).order_by(AuditEvent.id)
        actions = await session.scalars(query)
        return [a for a in actions if a in ("hours_exception.added", "closure.added")]


async def messages_since(db: Database, after: int) -> list[OutboxMessage]:
    async with db.session() as session:
        query = select(OutboxMessage).where(OutboxMessage.id > after).order_by(OutboxMessage.id)
        return list(await session.scalars(query))


async def last_message_id(db: Database) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.max(OutboxMessage.id))) or 0)


@pytest.mark.parametrize(
    ("path", "fields", "said_before", "said_again"),
    [
        pytest.param(
            "exceptions",
            {"exception-jour": "2026-12-04", "exception-fermee": "oui",
             "exception-motif": "Inventaire"},
            "Les horaires de ce jour ont été enregistrés.",
            "Le vendredi 4 décembre 2026 était déjà fermé toute la journée.",
            id="day",
        ),
        pytest.param(
            "fermetures",
            {"fermeture-debut-jour": "2026-12-04", "fermeture-debut-heure": "08:00",
             "fermeture-fin-jour": "2026-12-04", "fermeture-fin-heure": "20:00",
             "fermeture-motif": "Inventaire"},
            "La fermeture a été enregistrée",
            "Cette fermeture, du vendredi 4 décembre 2026 à 8\u00a0h\u00a000 au vendredi "
            "4 décembre 2026 à 20\u00a0h\u00a000, était déjà enregistrée.",
            id="period",
        ),
    ],
)  # fmt: skip
async def test_closing_a_day_sent_twice_says_it_was_closed_already_and_tells_nobody_again(
    client: AsyncTestClient[object],
    staff: Staff,
    db: Database,
    path: str,
    fields: dict[str, str],
    said_before: str,
    said_again: str,
) -> None:
    """The form that closes Friday, confirmed, then sent again (a double click, the page
    sent back from the browser's history): the second time the page says the day was
    closed already, when, by whom and what that did then, rather than a fresh closing
    that called nobody off; nothing is written, nobody is told a second time."""
    booked = await client.post(
        "/api/v1/appointments",
        json={"site": "paris-15", "service": "caf", "start": "2026-12-04T14:00:00+01:00",
              "name": "Usager 1", "email": "usager1@example.org"},
    )  # fmt: skip
    assert booked.status_code == 201, booked.text
    reference = booked.json()["reference"]
    csrf = await logged_in(client, staff, "manager")

    asked = await post_form(client, f"{PAGE}/{path}", csrf, **fields)
    closed = await post_form(client, f"{PAGE}/{path}", csrf, **fields, confirme=reference)
    first = await client.get(closed.headers["location"])
    told = await last_message_id(db)
    again = await post_form(client, f"{PAGE}/{path}", csrf, **fields, confirme=reference)
    second = await client.get(again.headers["location"])

    assert asked.status_code == 409
    assert closed.status_code == 303
    assert said_before in first.text
    assert "1 rendez-vous ne peut pas avoir lieu" in first.text
    assert again.status_code == 303
    assert "a_replanifier" not in again.headers["location"]
    said = second.text
    assert said_before not in said
    assert f"{said_again} Ce nouvel envoi n&#39;a rien changé, et personne n&#39;a été " in said
    assert "Ce changement avait été fait le lundi 30 novembre 2026 à " in said
    assert " par manager " in said
    assert "Il avait alors annulé 1 rendez-vous, la personne prévenue" in said
    assert "ne peut pas avoir lieu" not in said
    assert await messages_since(db, told) == []
    assert len(await closing_events(db)) == 1


async def test_a_confirmation_of_a_change_made_already_that_names_no_such_change_says_little(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    """An address typed by hand, naming no change of this mairie: no 500, and nothing
    said of a change that is not."""
    await logged_in(client, staff, "manager")

    typed = [
        await client.get(PAGE, params={"fait": "fermeture", "deja": deja})
        for deja in ("abc", "0", "99999999999", "1")
    ]

    for page in typed:
        assert page.status_code == 200
        assert "Ce changement était déjà fait. Ce nouvel envoi n&#39;a rien changé" in page.text
        assert "avait été fait le" not in page.text
