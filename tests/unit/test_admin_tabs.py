"""The tabs of a mairie's administration page, without a database: which tab each form
and each confirmation comes back to (the week's hours apart from the closures and the
days apart), the weekdays of the month said as French says them, and the public
holidays the closures' tab lists."""

from __future__ import annotations

from datetime import date

import pytest

from app.sites.admin_tabs import DONE_TABS, FORM_TABS, TABS, chosen_tab, tab_of_form
from app.sites.admin_view import IN_MONTH, holidays_between, in_month


@pytest.mark.parametrize(
    ("posted", "tab"),
    [
        ("horaires-mon", "horaires"),
        ("horaires-sun", "horaires"),
        ("exception", "fermetures"),
        ("fermeture", "fermetures"),
        ("poste-12", "postes"),
        ("panne-12", "postes"),
        ("nouveau", "postes"),
        ("ecran", "ecrans"),
        ("reglages", "general"),
    ],
)
def test_each_form_comes_back_to_its_tab(posted: str, tab: str) -> None:
    assert tab_of_form(posted) == tab


def test_each_confirmation_without_a_tab_shows_the_tab_of_its_form() -> None:
    assert chosen_tab({"fait": "horaires"}) == "horaires"
    for done in ("exception", "exception_supprimee", "fermeture", "fermeture_supprimee"):
        assert chosen_tab({"fait": done}) == "fermetures", done
    assert set(DONE_TABS.values()) | set(FORM_TABS.values()) <= set(TABS)
    assert list(TABS).index("horaires") + 1 == list(TABS).index("fermetures")


@pytest.mark.parametrize(
    ("nth", "weekday", "said"),
    [
        (1, 0, "1er lundi du mois"),
        (2, 1, "2e mardi du mois"),
        (3, 2, "3e mercredi du mois"),
        (4, 3, "4e jeudi du mois"),
        (5, 4, "5e vendredi du mois"),
        (-1, 5, "Dernier samedi du mois"),
    ],
)
def test_a_weekday_of_the_month_is_said_as_french_says_it(
    nth: int, weekday: int, said: str
) -> None:
    assert in_month(nth, weekday) == said


def test_each_rank_of_a_weekday_has_a_sentence_of_its_own() -> None:
    # One msgid per rank, so that no suffix is glued to a number ("1e").
    assert set(IN_MONTH) == {1, 2, 3, 4, 5, -1}
    assert all("%(weekday)s" in text and "%(nth)" not in text for text in IN_MONTH.values())


def test_the_public_holidays_ahead_are_listed_in_order_with_their_names() -> None:
    found = holidays_between(date(2026, 12, 3), date(2027, 5, 8))

    assert found[0] == (date(2026, 12, 25), "Noël")
    assert found[1] == (date(2027, 1, 1), "Jour de l'an")
    assert found[-1] == (date(2027, 5, 8), "Fête de la Victoire")
    assert [day for day, _ in found] == sorted(day for day, _ in found)
    assert holidays_between(date(2026, 12, 26), date(2026, 12, 31)) == []
