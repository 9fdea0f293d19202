"""The staff's pages in French as the service speaks it, on both databases: the agents
who take people at a station are "facilitateurs"; a weekday of the month is the "1er",
"2e" or "dernier"; the journal says a screen was associated; a department's page gives a
number to call and names the department without an article; the figures of one day are
"le mardi…", not "du mardi… au mardi…"."""

from __future__ import annotations

import html
import re
from datetime import time

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db import Database
from app.sites.models import Site, WeeklyHours
from tests.conftest import Clock, Staff
from tests.integration.test_admin_site_pages import logged_in, post_form
from tests.integration.test_departments import (
    CAF,
    ada_is_sent_on_to_the_caf,
    caf_has_an_email,
    link_in,
)
from tests.integration.test_staff_pages import log_in
from tests.post import Post

CLIENT = AsyncTestClient[object]
PAGE = "/admin/sites/paris-15"


def visible(page: str) -> str:
    """The page's text as read: no tags, entities decoded, spaces folded."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text))).strip()


@pytest.fixture
def monday_morning(clock: Clock) -> None:
    clock.set("2026-11-30 08:00")


@pytest.mark.usefixtures("monday_morning")
async def test_the_settings_say_facilitateurs_and_the_weekdays_of_the_month_in_french(
    client: CLIENT, staff: Staff, db: Database
) -> None:
    async with db.writing() as session:
        site = await session.scalar(select(Site).where(Site.slug == "paris-15"))
        assert site is not None
        for nth, weekday in ((1, 0), (2, 1), (-1, 4)):
            session.add(
                WeeklyHours(
                    site_id=site.id,
                    weekday=weekday,
                    nth_in_month=nth,
                    opens=time(13),
                    closes=time(17),
                )
            )
    await logged_in(client, staff, "manager")

    queue = visible((await client.get(PAGE, params={"onglet": "file"})).text)
    hours = visible((await client.get(PAGE, params={"onglet": "horaires"})).text)

    assert "Les facilitateurs peuvent aussi donner des tickets sans rendez-vous" in queue
    assert "animateur" not in queue.lower()
    assert "1er lundi du mois : 13:00 – 17:00" in hours
    assert "2e mardi du mois : 13:00 – 17:00" in hours
    assert "Dernier vendredi du mois : 13:00 – 17:00" in hours
    assert not re.search(r"\b1e\b", hours)


@pytest.mark.usefixtures("monday_morning")
async def test_the_journal_says_a_screen_was_associated(client: CLIENT, staff: Staff) -> None:
    csrf = await logged_in(client, staff, "manager")
    paired = await post_form(client, f"{PAGE}/ecrans", csrf, **{"ecran-nom": "Hall"})
    await log_in(client, await staff.agent("admin"))

    journal = visible((await client.get("/admin/journal")).text)

    assert paired.status_code == 200
    assert "a associé l'écran d'affichage « Hall »" in journal
    assert "a connecté l'écran" not in journal


async def test_a_department_s_page_gives_a_number_to_call_and_needs_no_article(
    post: Post, db: Database
) -> None:
    await caf_has_an_email(post, db)
    await ada_is_sent_on_to_the_caf(post, db)

    page = await post.client.get(link_in(post.mails(CAF)[0]))
    text = visible(page.text)

    assert page.status_code == 200
    assert (
        "Transmise par la Mairie du 15e arrondissement le mardi 1er décembre 2026, au service "
        "suivant : Caisse d'allocations familiales (CAF)." in text
    )
    assert "Une question sur cette demande ? Appelez le 3975 (Ville de Paris)" in text
    assert '<a href="tel:3975">3975</a>' in page.text
    assert "à Caisse" not in text
    assert "Appelez la" not in text


async def test_the_figures_of_one_day_say_le_and_of_several_days_du_au(
    client: CLIENT, staff: Staff
) -> None:
    await log_in(client, await staff.agent("manager", "paris-15"))

    page = "/statistiques/paris-15"
    one = await client.get(page, params={"du": "2026-12-01", "au": "2026-12-01"})
    two = await client.get(page, params={"du": "2026-12-01", "au": "2026-12-02"})

    assert one.status_code == 200
    assert '<p class="lead">Le mardi 1er décembre 2026.</p>' in one.text
    assert "au mardi 1er décembre 2026" not in one.text
    assert '<p class="lead">Du mardi 1er décembre 2026 au mercredi 2 décembre 2026.</p>' in two.text
    # Each chart's description for screen readers: a sentence per bar, no bare semicolons.
    descriptions = re.findall(r'<desc id="[^"]+">([^<]*)</desc>', one.text)
    assert descriptions
    for description in descriptions:
        assert ";" not in description, description
        assert description.endswith("."), description
