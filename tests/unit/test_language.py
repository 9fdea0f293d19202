"""`?lang=` read as a language tag, the first of several winning; and the switch of a page
answering a form, which goes back to the page the form came from (of this service only),
else home."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from litestar.types import Scope

from app.web.language import _query_value, chosen, switch_of


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("en-GB", "en"),
        ("EN", "en"),
        ("en-us", "en"),
        ("en-Latn-GB", "en"),
        ("fr-CA", "fr"),
        ("FR-fr", "fr"),
        (" fr-BE ", "fr"),
    ],
)
def test_a_tag_whose_primary_subtag_is_ours_chooses_it(value: str, expected: str) -> None:
    assert chosen(value) == expected


@pytest.mark.parametrize(
    "value", ["de-DE", "en_GB", "en-", "-en", "en--GB", "en-toolongsub", "e", "eng-GB", "en GB"]
)
def test_any_other_value_is_ignored(value: str) -> None:
    assert chosen(value) is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"lang=en&lang=fr", "en"),
        (b"lang=fr&lang=en", "fr"),
        (b"lang=&lang=en", "en"),  # a blank value is left out, as `query_params` does
        (b"a=1", None),
    ],
)
def test_of_repeated_lang_parameters_the_first_is_read(query: bytes, expected: str) -> None:
    assert _query_value(cast(Scope, {"query_string": query})) == expected


def _request(
    method: str, referer: str | None, path: str = "/mairies/paris-15/x"
) -> SimpleNamespace:
    headers = {"referer": referer} if referer is not None else {}
    url = SimpleNamespace(path=path, query="", netloc="guichet.example.org")
    return SimpleNamespace(method=method, url=url, headers=headers)


def _link(href: str) -> tuple[str, list[tuple[str, str]]]:
    link = urlsplit(href)
    assert not link.scheme
    assert not link.netloc
    return link.path, parse_qsl(link.query, keep_blank_values=True)


def test_a_page_answering_a_form_switches_to_the_page_the_form_came_from() -> None:
    query = urlencode([("service", "caf"), ("lang", "fr"), ("vide", "")])
    request = _request("POST", f"https://guichet.example.org/mairies/paris-15/rendez-vous?{query}")

    assert _link(switch_of(request).href) == (
        "/mairies/paris-15/rendez-vous",
        [("service", "caf"), ("vide", ""), ("lang", "en")],
    )


def test_a_page_answered_to_get_keeps_its_own_address_whatever_its_referrer() -> None:
    request = _request("GET", "https://guichet.example.org/ailleurs")

    assert _link(switch_of(request).href) == ("/mairies/paris-15/x", [("lang", "en")])


@pytest.mark.parametrize(
    "referer",
    [
        None,
        "",
        "https://evil.example.org/mairies/paris-15",
        "https://guichet.example.org.evil.example.org/",
        "https://guichet.example.org//evil.example.org/x",
        "https://guichet.example.org/\\evil.example.org/x",
        "ftp://guichet.example.org/x",
        "javascript:alert(1)",
        "/mairies/paris-15",  # no host: not a page we can vouch for
        "https://[broken/",
    ],
)
def test_a_form_s_page_without_a_referrer_of_ours_switches_home(referer: str | None) -> None:
    resident = switch_of(_request("POST", referer))
    agent = switch_of(_request("DELETE", referer), home="/console")

    assert resident.href == "/?lang=en"
    assert agent.href == "/console?lang=en"


def test_the_referrer_s_path_is_escaped_in_the_link() -> None:
    request = _request("POST", 'https://guichet.example.org/mairies/a"b<c> d')

    assert switch_of(request).href == "/mairies/a%22b%3Cc%3E%20d?lang=en"
