"""The tabs of a mairie's administration page through HTTP, on both databases: each tab
shows its own forms only, each form sent comes back to its tab (with its confirmation,
or refused with what was typed), a settings tab changes its settings only, and an
unknown tab shows the first rather than failing. The week's hours are a compact row per
day, the closures and days apart a tab of their own, and long lists are folded."""

from __future__ import annotations

import re

import pytest
from litestar.testing import AsyncTestClient

from app.sites.admin_tabs import SETTING_TABS, TABS, settings_in
from app.sites.rules import SETTINGS
from tests.conftest import Clock, Staff
from tests.integration.test_admin_site_pages import logged_in, post_form

pytestmark = pytest.mark.usefixtures("monday_morning")
PAGE = "/admin/sites/paris-15"
ACTIVE = re.compile(r'<a href="/admin/sites/paris-15\?onglet=([a-z-]+)" aria-current="page">')
ACTIONS = re.compile(r'<form method="post" action="/admin/sites/paris-15/([a-z-]+)')
# The first part of the address of every form each tab shows (after /admin/sites/paris-15/).
FORMS = {
    "general": set(),
    "rendez-vous": {"reglages"},
    "file": {"reglages"},
    "messages": {"reglages"},
    "horaires": {"horaires"},
    "fermetures": {"exceptions", "fermetures"},
    "postes": {"postes"},
    "ecrans": {"ecrans"},
}


@pytest.fixture
def monday_morning(clock: Clock) -> None:
    clock.set("2026-11-30 08:00")


def active_tab(html: str) -> list[str]:
    return ACTIVE.findall(html)


def value_of(html: str, name: str) -> str:
    found = re.search(rf'id="{name}" name="{name}" value="([^"]*)"', html)
    assert found is not None, f"no field {name}"
    return found.group(1)


def test_the_settings_tabs_hold_every_setting_once() -> None:
    held = [name for tab in SETTING_TABS for name in settings_in(tab)]

    assert sorted(held) == sorted(SETTINGS)
    assert set(SETTING_TABS) <= set(TABS)


async def test_each_tab_shows_its_own_forms_only_and_says_which_it_is(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    await logged_in(client, staff, "manager")

    for tab, forms in FORMS.items():
        page = await client.get(PAGE, params={"onglet": tab})

        assert page.status_code == 200, (tab, page.text)
        assert active_tab(page.text) == [tab]
        assert set(ACTIONS.findall(page.text)) == forms, tab
        for other in set(TABS) - {tab}:
            assert f'href="{PAGE}?onglet={other}"' in page.text
    settings = {tab: (await client.get(PAGE, params={"onglet": tab})).text for tab in SETTING_TABS}
    for tab, html in settings.items():
        assert f'<input type="hidden" name="onglet" value="{tab}">' in html
        for name in SETTINGS:
            assert (f'id="{name}"' in html) == (name in settings_in(tab)), (tab, name)


async def test_an_unknown_or_empty_tab_shows_the_first_and_no_tab_shows_the_first_too(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    await logged_in(client, staff, "manager")

    for query in ({"onglet": "inconnu"}, {"onglet": ""}, {"onglet": "x" * 5000}, {}):
        page = await client.get(PAGE, params=query)

        assert page.status_code == 200, query
        assert active_tab(page.text) == ["general"]
        assert ">La mairie</h2>" in page.text


async def test_a_settings_tab_changes_its_settings_only_and_comes_back_to_its_tab(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    csrf = await logged_in(client, staff, "manager")
    queue = {
        "onglet": "file",
        "priority_after_minutes": "45",
        "no_show_after_calls": "2",
        "turn_near_position": "4",
        "service_level_minutes": "20",
        "service_level_goal": "90",
        "facilitators_issue_tickets": "oui",
        "remote_per_hour": "12",
        "remote_head_start_minutes": "45",
        "remote_rejoin_minutes": "10",
    }
    messages = {
        "onglet": "messages",
        "reminder_hours": "48",
        "sms_quiet_from": "21:00",
        "sms_quiet_until": "09:00",
    }

    sent_queue = await post_form(client, f"{PAGE}/reglages", csrf, **queue)
    sent_messages = await post_form(client, f"{PAGE}/reglages", csrf, **messages)
    after = await client.get(sent_messages.headers["location"])
    queue_tab = await client.get(PAGE, params={"onglet": "file"})
    booking_tab = await client.get(PAGE, params={"onglet": "rendez-vous"})

    assert sent_queue.status_code == 303
    assert sent_queue.headers["location"] == f"{PAGE}?onglet=file&fait=reglages#onglet"
    assert sent_messages.headers["location"] == f"{PAGE}?onglet=messages&fait=reglages#onglet"
    assert active_tab(after.text) == ["messages"]
    assert "Les réglages ont été enregistrés." in after.text
    assert value_of(after.text, "reminder_hours") == "48"
    # The messages' form, which has no checkbox of the queue's, left it ticked.
    assert 'name="facilitators_issue_tickets" value="oui" checked' in queue_tab.text
    assert value_of(queue_tab.text, "priority_after_minutes") == "45"
    assert value_of(queue_tab.text, "remote_per_hour") == "12"
    assert value_of(queue_tab.text, "remote_rejoin_minutes") == "10"
    assert value_of(booking_tab.text, "walk_in_percent") == "30"


async def test_a_settings_tab_refused_comes_back_to_that_tab_with_what_was_typed(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    csrf = await logged_in(client, staff, "manager")

    refused = await post_form(
        client,
        f"{PAGE}/reglages",
        csrf,
        onglet="messages",
        reminder_hours="24, 24",
        sms_quiet_from="soir",
        sms_quiet_until="08:00",
    )
    whole = await post_form(
        client,
        f"{PAGE}/reglages",
        csrf,
        **{
            **{name: "" for name in SETTINGS},
            "sms_quiet_from": "20:00",
            "sms_quiet_until": "08:00",
            "reminder_hours": "24",
        },
    )
    unchanged = await client.get(PAGE, params={"onglet": "messages"})

    assert refused.status_code == 400
    assert active_tab(refused.text) == ["messages"]
    assert "Il y a 2 erreurs" in refused.text
    assert value_of(refused.text, "sms_quiet_from") == "soir"
    assert value_of(unchanged.text, "sms_quiet_from") == "20:00"
    # A form of every setting (without a tab) comes back at the tab of its first error.
    assert whole.status_code == 400
    assert active_tab(whole.text) == ["rendez-vous"]


async def test_every_form_of_stations_hours_and_screens_comes_back_to_its_tab(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    csrf = await logged_in(client, staff, "manager")
    period = {
        "debut-jour": "2026-12-10",
        "debut-heure": "08:00",
        "fin-jour": "2026-12-10",
        "fin-heure": "20:00",
    }

    added = await post_form(
        client, f"{PAGE}/postes", csrf, **{"nouveau-nom": "Poste 9", "nouveau-type": "standard"}
    )
    stations = (await client.get(PAGE, params={"onglet": "postes"})).text
    station = re.findall(r'action="/admin/sites/paris-15/postes/(\d+)"', stations)[-1]
    changed = await post_form(
        client,
        f"{PAGE}/postes/{station}",
        csrf,
        **{
            f"poste-{station}-nom": "Poste 9 bis",
            f"poste-{station}-type": "standard",
            f"poste-{station}-actif": "oui",
        },
    )
    out = await post_form(
        client,
        f"{PAGE}/postes/{station}/hors-service",
        csrf,
        **{f"panne-{station}-{key}": value for key, value in period.items()},
    )
    outages = (await client.get(PAGE, params={"onglet": "postes"})).text
    outage = re.search(r"/hors-service/(\d+)/fin", outages)
    back_in = await post_form(
        client, f"{PAGE}/hors-service/{outage.group(1) if outage else 0}/fin", csrf
    )
    hours = await post_form(
        client,
        f"{PAGE}/horaires/wed",
        csrf,
        **{"horaires-wed-1-ouverture": "09:00", "horaires-wed-1-fermeture": "16:00"},
    )
    special = await post_form(
        client,
        f"{PAGE}/exceptions",
        csrf,
        **{"exception-jour": "2026-12-09", "exception-fermee": "oui"},
    )
    unspecial = await post_form(client, f"{PAGE}/exceptions/2026-12-09/suppression", csrf)
    closed = await post_form(
        client,
        f"{PAGE}/fermetures",
        csrf,
        **{f"fermeture-{key}": value for key, value in period.items()},
        **{"fermeture-motif": "Travaux"},
    )
    closures = (await client.get(PAGE, params={"onglet": "fermetures"})).text
    closure = re.search(r"/fermetures/(\d+)/suppression", closures)
    reopened = await post_form(
        client, f"{PAGE}/fermetures/{closure.group(1) if closure else 0}/suppression", csrf
    )

    expected = {
        "postes": [added, changed, out, back_in],
        "horaires": [hours],
        "fermetures": [special, unspecial, closed, reopened],
    }
    for tab, answers in expected.items():
        for answer in answers:
            assert answer.status_code == 303, answer.text
            location = answer.headers["location"]
            assert location.startswith(f"{PAGE}?onglet={tab}&fait="), location
            assert location.endswith("#onglet")
    shown = await client.get(reopened.headers["location"])
    assert active_tab(shown.text) == ["fermetures"]
    assert "La fermeture a été annulée" in shown.text


async def test_a_refused_form_comes_back_in_its_tab_with_what_was_typed(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    csrf = await logged_in(client, staff, "manager")

    closure = await post_form(
        client,
        f"{PAGE}/fermetures",
        csrf,
        **{
            "fermeture-debut-jour": "2026-12-10",
            "fermeture-debut-heure": "18:00",
            "fermeture-fin-jour": "2026-12-10",
            "fermeture-fin-heure": "08:00",
        },
    )
    station = await post_form(client, f"{PAGE}/postes", csrf, **{"nouveau-nom": "  "})
    screen = await post_form(client, f"{PAGE}/ecrans", csrf, **{"ecran-nom": "  "})

    assert closure.status_code == 400
    assert active_tab(closure.text) == ["fermetures"]
    assert value_of(closure.text, "fermeture-fin-heure") == "08:00"
    assert station.status_code == 400
    assert active_tab(station.text) == ["postes"]
    assert screen.status_code == 400
    assert active_tab(screen.text) == ["ecrans"]


async def test_a_screen_revoked_comes_back_to_the_screens_tab(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    csrf = await logged_in(client, staff, "manager")
    paired = await post_form(client, f"{PAGE}/ecrans", csrf, **{"ecran-nom": "Hall"})
    screens = (await client.get(PAGE, params={"onglet": "ecrans"})).text
    screen = re.findall(r"/admin/sites/paris-15/ecrans/(\d+)/retrait", screens)[-1]

    revoked = await post_form(client, f"{PAGE}/ecrans/{screen}/retrait", csrf)
    after = await client.get(revoked.headers["location"])

    assert paired.status_code == 200
    assert f'href="{PAGE}?onglet=ecrans"' in paired.text
    assert revoked.status_code == 303
    assert revoked.headers["location"] == f"{PAGE}?onglet=ecrans&fait=ecran_retire#onglet"
    assert active_tab(after.text) == ["ecrans"]
    assert "L&#39;écran a été retiré" in after.text


async def test_a_booking_alert_released_comes_back_to_the_tab_it_was_released_from(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    csrf = await logged_in(client, staff, "manager")

    from_stations = await post_form(
        client, f"{PAGE}/alertes/2026-12-02/liberer", csrf, onglet="postes"
    )
    without_tab = await post_form(client, f"{PAGE}/alertes/2026-12-02/liberer", csrf)
    unknown_tab = await post_form(
        client, f"{PAGE}/alertes/2026-12-02/liberer", csrf, onglet="inconnu"
    )
    after = await client.get(from_stations.headers["location"])

    assert from_stations.status_code == 303
    assert from_stations.headers["location"] == (
        f"{PAGE}?onglet=postes&liberes=0&prevenus=0#onglet"
    )
    assert without_tab.headers["location"].startswith(f"{PAGE}?onglet=general&liberes=0")
    assert unknown_tab.headers["location"].startswith(f"{PAGE}?onglet=general&liberes=0")
    assert active_tab(after.text) == ["postes"]
    assert "Aucun rendez-vous n&#39;était plus à libérer" in after.text


async def test_the_week_is_a_row_per_day_and_closures_are_a_tab_of_their_own(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    await logged_in(client, staff, "manager")

    week = (await client.get(PAGE, params={"onglet": "horaires"})).text
    closures = (await client.get(PAGE, params={"onglet": "fermetures"})).text

    assert week.count('class="day-hours"') == 7
    # Each time keeps its whole name for screen readers; the eye reads the pair.
    assert (
        '<label for="horaires-thu-1-fermeture" class="visually-hidden">'
        "Plage 1 : fermeture (jeudi)</label>"
    ) in week
    assert 'id="horaires-thu-1-fermeture" name="horaires-thu-1-fermeture" value="19:30"' in week
    assert 'Enregistrer<span class="visually-hidden"> les horaires du jeudi</span>' in week
    assert ">Jours particuliers</h2>" not in week
    assert 'href="/admin/sites/paris-15?onglet=fermetures">Un jour fermé' in week
    for heading in ("Fermetures exceptionnelles", "Jours particuliers", "Jours fériés"):
        assert f">{heading}</h2>" in closures
    assert "La mairie est fermée les jours fériés ; rien à saisir." in closures
    assert "Noël, vendredi 25 décembre 2026" in closures
    assert ">Horaires de la semaine</h2>" not in closures


async def test_long_lists_of_closures_and_days_apart_are_folded_after_five(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    csrf = await logged_in(client, staff, "manager")
    days = [f"2026-12-{day:02d}" for day in (7, 8, 9, 10, 14, 15, 16)]
    for day in days:
        sent = await post_form(
            client,
            f"{PAGE}/exceptions",
            csrf,
            **{"exception-jour": day, "exception-fermee": "oui", "exception-motif": day},
        )
        assert sent.status_code == 303, sent.text

    page = (await client.get(PAGE, params={"onglet": "fermetures"})).text
    shown, folded = page.split('<details class="more-rows">', 1)

    assert all(day in shown for day in days[:5])
    assert not any(day in shown for day in days[5:])
    assert "Voir les 2 jours particuliers suivants" in folded
    assert all(day in folded for day in days[5:])
    # With days listed, the form to add one is folded under its summary.
    assert '<details class="add-form"><summary>Ajouter un jour particulier</summary>' in page
    # With no closure listed, the form to add one is open.
    assert '<details class="add-form"><summary>Ajouter une fermeture</summary>' not in page


async def test_a_day_s_hours_refused_say_why_beside_its_pair_with_what_was_typed(
    client: AsyncTestClient[object], staff: Staff
) -> None:
    csrf = await logged_in(client, staff, "manager")

    refused = await post_form(
        client,
        f"{PAGE}/horaires/wed",
        csrf,
        **{"horaires-wed-1-ouverture": "16:00", "horaires-wed-1-fermeture": "09:00"},
    )

    assert refused.status_code == 400
    assert active_tab(refused.text) == ["horaires"]
    assert value_of(refused.text, "horaires-wed-1-ouverture") == "16:00"
    assert value_of(refused.text, "horaires-wed-1-fermeture") == "09:00"
    pair = refused.text.split('<div class="range-pair has-error">', 1)[1].split("</div>", 1)[0]
    assert 'class="field-error" id="horaires-wed-1-ouverture-erreur"' in pair
    assert 'aria-describedby="horaires-wed-1-ouverture-erreur" aria-invalid="true"' in pair
    # The other days show what is stored, not what was typed for Wednesday.
    assert value_of(refused.text, "horaires-thu-1-fermeture") == "19:30"
