"""How a waiting estimate reads: the phrase `eta_words` chooses for each kind of range,
and the sentence the tracking page's template writes with it (never "0 à N minutes",
"entre 7843 et 7844 minutes" nor "1 minutes")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader

from app import i18n
from app.queue.eta_words import EtaKind, EtaWords, eta_words

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "queue" / "templates"


@pytest.mark.parametrize(
    ("eta", "words"),
    [
        (None, None),
        # Nothing to wait for
        ((0, 1), EtaWords(EtaKind.SOON)),
        ((0, 0), EtaWords(EtaKind.SOON)),
        # A low end of 0: "less than" the high end
        ((0, 2), EtaWords(EtaKind.UNDER, 2)),
        ((0, 38), EtaWords(EtaKind.UNDER, 38)),
        ((0, 90), EtaWords(EtaKind.UNDER, 90)),
        # ... in hours past 90 minutes, rounded up to the half hour
        ((0, 91), EtaWords(EtaKind.UNDER, 120)),
        ((0, 150), EtaWords(EtaKind.UNDER, 150)),
        ((0, 151), EtaWords(EtaKind.UNDER, 180)),
        # ... and past four hours, no figure at all
        ((0, 7844), EtaWords(EtaKind.UNKNOWN)),
        # Two equal ends: "about"
        ((20, 20), EtaWords(EtaKind.ABOUT, 20)),
        ((2, 2), EtaWords(EtaKind.ABOUT, 2)),
        ((1, 1), EtaWords(EtaKind.SOON)),
        # A range within 90 minutes
        ((12, 27), EtaWords(EtaKind.BETWEEN, 27, 12)),
        ((1, 2), EtaWords(EtaKind.BETWEEN, 2, 1)),
        ((60, 90), EtaWords(EtaKind.BETWEEN, 90, 60)),
        # Past 90 minutes: about its middle, to the nearest half hour, an hour at least
        ((100, 140), EtaWords(EtaKind.ABOUT, 120)),
        ((30, 95), EtaWords(EtaKind.ABOUT, 60)),
        ((80, 110), EtaWords(EtaKind.ABOUT, 90)),
        ((100, 100), EtaWords(EtaKind.ABOUT, 90)),
        ((200, 240), EtaWords(EtaKind.ABOUT, 210)),
        # Past four hours: "more than four hours"
        ((7843, 7844), EtaWords(EtaKind.LONG, 240)),
        ((230, 400), EtaWords(EtaKind.LONG, 240)),
        # Ends given the wrong way round, or below zero
        ((27, 12), EtaWords(EtaKind.BETWEEN, 27, 12)),
        ((-5, 10), EtaWords(EtaKind.UNDER, 10)),
    ],
)
def test_each_range_of_minutes_gets_its_phrase(
    eta: tuple[int, int] | None, words: EtaWords | None
) -> None:
    assert eta_words(eta) == words


def render_state(**values: Any) -> str:
    """The tracking state of a waiting ticket, rendered by the page's own template."""
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    i18n.install(environment)
    context: dict[str, Any] = {
        "token": "t" * 32,
        "number": "A007",
        "site": "Mairie du 15e arrondissement",
        "slug": "paris-15",
        "service": "Démarches CAF en ligne",
        "status": "waiting",
        "position": 3,
        "next": False,
        "station": "",
        "calls": 0,
        "updated": "9\u00a0h\u00a030",
        **values,
    }
    return environment.get_template("_tracking_state.html").render(context)


def estimate_of(eta: tuple[int, int] | None) -> str:
    html = render_state(eta=eta, eta_words=eta_words(eta))
    start = html.find('<p class="track-eta">')
    if start < 0:
        return ""
    return html[start + len('<p class="track-eta">') : html.index("</p>", start)]


@pytest.mark.parametrize(
    ("eta", "sentence"),
    [
        ((0, 1), "Attente estimée : votre tour arrive dans un instant."),
        ((0, 38), "Attente estimée : moins de 38 minutes."),
        ((0, 2), "Attente estimée : moins de 2 minutes."),
        ((0, 100), "Attente estimée : moins de 2 heures."),
        ((20, 20), "Attente estimée : environ 20 minutes."),
        ((2, 2), "Attente estimée : environ 2 minutes."),
        ((1, 1), "Attente estimée : votre tour arrive dans un instant."),
        ((12, 27), "Attente estimée : entre 12 et 27 minutes."),
        ((100, 140), "Attente estimée : environ 2 heures."),
        ((80, 110), "Attente estimée : environ 1\u00a0h\u00a030."),
        ((7843, 7844), "Attente estimée : plus de 4 heures."),
        ((0, 7844), ""),
        (None, ""),
    ],
)
def test_the_page_says_each_estimate_in_plain_words(
    eta: tuple[int, int] | None, sentence: str
) -> None:
    shown = estimate_of(eta)

    assert shown == sentence
    assert "0 à" not in shown
    assert "1 minutes" not in shown
    assert "entre 0" not in shown


def test_the_next_person_is_told_so_and_never_that_nobody_is_before_them_in_figures() -> None:
    html = render_state(position=1, next=True, eta=(0, 1), eta_words=eta_words((0, 1)))

    assert "Vous êtes la prochaine personne appelée" in html
    assert "0</strong> personne" not in html
    assert "0 personne" not in html


def test_the_place_counts_the_people_before_in_words_with_real_plurals() -> None:
    one = render_state(position=2, eta=None, eta_words=None)
    two = render_state(position=3, eta=None, eta_words=None)

    assert "Il y a <strong>1</strong> personne avant vous." in one
    assert "Il y a <strong>2</strong> personnes avant vous." in two
    assert "(s)" not in one + two
