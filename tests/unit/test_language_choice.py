"""Which language a request is answered in: `?lang=` beats the cookie, which beats what
the browser prefers, and French when nothing names a language of ours."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from app import i18n
from app.web.language import choose, chosen, negotiated, preferred, switch_of


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-GB,en;q=0.9", "en"),
        ("en-US", "en"),
        ("EN", "en"),
        ("de", None),
        ("fr-CA", "fr"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("de-DE,de;q=0.9,en;q=0.5", "en"),
        ("en;q=0.3,fr;q=0.7", "fr"),
        ("en;q=0,de", None),
        ("*", None),
        ("", None),
        (None, None),
        ("en;q=abc,fr", "fr"),
        (";;,,q=1", None),
    ],
)
def test_the_browser_s_preference_is_negotiated(header: str | None, expected: str | None) -> None:
    assert negotiated(header) == expected


def test_preferences_are_ordered_by_weight_then_by_position() -> None:
    assert preferred("da, en-gb;q=0.8, en;q=0.7") == ["da", "en_gb", "en"]
    assert preferred("en;q=0.5, fr;q=0.5") == ["en", "fr"]


def test_a_browser_that_names_no_language_of_ours_gets_french() -> None:
    assert choose(None, None, "de") == "fr"
    assert choose(None, None, None) == "fr"


def test_the_cookie_beats_the_browser() -> None:
    assert choose(None, "en", "fr-FR,fr") == "en"
    assert choose(None, "fr", "en-GB,en;q=0.9") == "fr"


def test_the_query_beats_the_cookie() -> None:
    assert choose("fr", "en", "en") == "fr"
    assert choose("en", "fr", "fr") == "en"


@pytest.mark.parametrize("value", ["zz", "english", "", "EN_gb", "../fr", "fr;", None])
def test_an_unknown_value_is_ignored(value: str | None) -> None:
    assert chosen(value) is None
    assert choose(value, "en", "fr") == "en"
    assert choose(value, None, "fr-CA") == "fr"


def test_a_known_value_is_read_whatever_its_case() -> None:
    assert chosen(" EN ") == "en"


def test_speaking_sets_the_language_and_gives_it_back_even_on_error() -> None:
    assert i18n.language.get() == "fr"
    with i18n.speaking("en") as lang:
        assert lang == "en"
        assert i18n.language.get() == "en"
        with i18n.speaking("xx"):
            assert i18n.language.get() == "fr"
        assert i18n.language.get() == "en"
    with pytest.raises(RuntimeError), i18n.speaking("en"):
        raise RuntimeError
    assert i18n.language.get() == "fr"


def _request(path: str, query: list[tuple[str, str]]) -> SimpleNamespace:
    return SimpleNamespace(url=SimpleNamespace(path=path, query=urlencode(query)))


def test_the_switch_keeps_the_page_and_its_query_and_drops_an_old_choice() -> None:
    request = _request("/mairies/paris-15/rendez-vous", [("service", "caf"), ("lang", "fr")])
    switch = switch_of(request)
    assert (switch.lang, switch.name) == ("en", "English")
    link = urlsplit(switch.href)
    assert link.path == "/mairies/paris-15/rendez-vous"
    assert parse_qsl(link.query) == [("service", "caf"), ("lang", "en")]
    with i18n.speaking("en"):
        back = switch_of(_request("/", [("q", "15e"), ("besoins", "a"), ("besoins", "b")]))
    assert (back.lang, back.name) == ("fr", "Français")
    assert parse_qsl(urlsplit(back.href).query) == [
        ("q", "15e"),
        ("besoins", "a"),
        ("besoins", "b"),
        ("lang", "fr"),
    ]


def test_the_switch_outside_a_request_goes_home() -> None:
    assert switch_of(None).href == "/?lang=en"


def test_the_switch_writes_the_page_s_address_encoded() -> None:
    """An address the visitor typed with a control character or a space (a 400 page
    still has a switch) is written encoded into the link, never raw."""
    raw = switch_of(_request("/accueil/\x00 é/code-arrivee", [])).href

    assert raw == "/accueil/%00%20%C3%A9/code-arrivee?lang=en"
    assert switch_of(_request("/mairies/paris-15", [])).href == "/mairies/paris-15?lang=en"
