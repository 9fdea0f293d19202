"""French elision before a name (app/i18n/elision.py): "d'Inès", "d'Hélène", "d'Yves", but
"de Jeanne", "de Hugues", "de Yann", and nothing elided before what is not a letter; and
the journal's sentences that say "de" before a name have their "d'" form."""

from __future__ import annotations

import pytest

from app.audit.sentences import ELIDED, SENTENCES, sentence
from app.i18n.elision import elides, of_name


@pytest.mark.parametrize(
    "name",
    [
        "Inès Benali",
        "inès",
        "Élodie",
        "Émile",
        "Ève",
        "Arnaud",
        "Olivier",
        "Ursule",
        "Île-de-France",
        "Œdipe",
        "Hélène",
        "Hugo",
        "Henri",
        "Yves",
        "Yvonne",
        "  Inès",
        "ANTS",
        "Anne-Marie",
    ],
)
def test_a_name_starting_with_a_vowel_sound_elides(name: str) -> None:
    assert elides(name), name


@pytest.mark.parametrize(
    "name",
    [
        "Jeanne Martin",
        "Bernard",
        "Yann",
        "Yacine",
        "Hugues",
        "Hall d'accueil",
        "hors service",
        "Hauts-de-Seine",
        "Onze",
        "huit",
        "« Accueil »",
        "2 postes",
        "(inconnu)",
        "",
        "   ",
        "…",
    ],
)
def test_a_consonant_an_aspirate_h_or_no_letter_does_not_elide(name: str) -> None:
    assert not elides(name), name


def test_of_name_writes_de_or_d_apostrophe() -> None:
    assert of_name("Inès Benali") == "d'Inès Benali"
    assert of_name("Hélène") == "d'Hélène"
    assert of_name("Jeanne Martin") == "de Jeanne Martin"
    assert of_name(" Yann ") == "de Yann"


def test_each_journal_sentence_saying_de_before_a_name_has_its_elided_form() -> None:
    saying_de = {action for action, text in SENTENCES.items() if "de %(name)s" in text}

    assert saying_de == set(ELIDED)
    for action in saying_de:
        assert ELIDED[action] == SENTENCES[action].replace("de %(name)s", "d'%(name)s")


def test_the_journal_sentence_is_chosen_by_the_name() -> None:
    assert sentence("agent.created", "Inès Benali") == "a créé le compte d'%(name)s"
    assert sentence("agent.created", "Jeanne Martin") == "a créé le compte de %(name)s"
    assert sentence("agent.unlocked", "Hélène") == "a débloqué le compte d'%(name)s"
    assert sentence("station.created", "Accueil") == "a ajouté le poste « %(name)s »"
    assert sentence("screen.paired", "Hall") == "a associé l'écran d'affichage « %(name)s »"
