"""Partners' keys and what a partner may do: a key is recognisable, carries a lookup id
and 256 random bits, is kept as a digest and compared in constant time; a partner has no
staff role and books only at its mairies; its copy of a booking renders in French."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.accounts.actors import MANAGERS, STAFF, Actor, Role
from app.errors import Forbidden
from app.notify import render
from app.partners import rules
from app.partners.models import Partner
from app.sites.models import Site

PARIS_15 = Site(id=15, slug="paris-15", name="Mairie du 15e")
PARIS_19 = Site(id=19, slug="paris-19", name="Mairie du 19e")


def test_a_new_key_says_what_it_is_and_is_kept_as_its_digest_only() -> None:
    made = rules.new_key()

    assert made.key.startswith("gp_")
    assert rules.looks_like_a_key(made.key)
    assert rules.lookup_of(made.key) == made.lookup
    assert made.digest == hashlib.sha256(made.key.encode()).hexdigest()
    assert made.key not in made.digest
    assert rules.key_matches(made.key, made.digest)
    assert len(made.key) == len("gp_") + rules.LOOKUP_LENGTH + 1 + 43  # 256 bits, URL-safe


def test_two_keys_never_share_their_lookup_or_their_secret() -> None:
    keys = [rules.new_key() for _ in range(200)]

    assert len({made.lookup for made in keys}) == len(keys)
    assert len({made.key for made in keys}) == len(keys)


def test_a_key_one_character_off_does_not_match() -> None:
    made = rules.new_key()
    last = "A" if made.key[-1] != "A" else "B"

    assert not rules.key_matches(made.key[:-1] + last, made.digest)
    assert not rules.key_matches(made.key[:-1], made.digest)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "gp_",
        "gp_x",
        "gp_abcdefghij",
        "gp_ABCDEFGHIJ_" + "A" * 43,  # the lookup is lower case
        "gp_abcdefghij_" + "A" * 42,
        "gp_abcdefghij_" + "A" * 44,
        "gp_abcdefghij_" + "A" * 42 + "/",
        "gp_abcdefghij_" + "A" * 500,
        "eyJhbGciOiJIUzI1NiJ9.e30.x",
    ],
)
def test_what_is_not_the_shape_of_a_key_has_no_lookup(value: str) -> None:
    assert rules.lookup_of(value) is None


@given(st.text(max_size=120))
def test_no_text_but_a_well_formed_key_yields_a_lookup(value: str) -> None:
    lookup = rules.lookup_of(value)

    assert lookup is None or (value.startswith(f"gp_{lookup}_") and len(value) == 57)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("  CCAS   du 15e ", "CCAS du 15e"),
        ("France\tServices", "France Services"),
        ("", None),
        ("   ", None),
        ("CCAS\x00", None),
        ("x" * 121, None),
        ("x" * 120, "x" * 120),
    ],
)
def test_a_partner_is_named_in_one_printable_line(value: str, expected: str | None) -> None:
    assert rules.clean_name(value) == expected


def test_a_partner_books_at_its_mairies_only_and_has_no_staff_role() -> None:
    partner = Actor.of_partner(Partner(id=4, name="CCAS", sites=[PARIS_15]))

    partner.refers_at(PARIS_15)
    with pytest.raises(Forbidden, match="Mairie du 19e"):
        partner.refers_at(PARIS_19)
    for roles in (STAFF, MANAGERS, frozenset()):
        assert not partner.may(roles)
        with pytest.raises(Forbidden):
            partner.authorize(roles=roles, site=PARIS_15)
    assert partner.agent_id is None
    assert not partner.is_admin


def test_an_agent_is_no_partner() -> None:
    admin = Actor(role=Role.ADMIN, site_ids=frozenset(), agent_id=1)

    with pytest.raises(Forbidden, match="partner"):
        admin.refers_at(PARIS_15)


def test_the_copy_to_the_partner_names_the_person_and_never_links_their_booking() -> None:
    data = {
        "sequence": 0,
        "reference": "15-7KQ2M9",
        "name": "Ada Lovelace",
        "site": "Mairie du 15e arrondissement",
        "address": "31 rue Péclet, 75015 Paris",
        "service": "Démarches CAF en ligne",
        "when": "jeudi 3 décembre 2026 à 10\u00a0h\u00a000",
        "partner": "CCAS du 15e",
    }

    subject, text, html = render.email("partner_copy", data, "https://x.example.org")

    assert subject == "Copie : rendez-vous 15-7KQ2M9 pris pour Ada Lovelace"
    assert "Bonjour CCAS du 15e," in text
    assert "jeudi 3 décembre 2026" in text
    assert "Mairie du 15e arrondissement" in text
    assert "/rendez-vous/" not in text + html
    assert '<html lang="fr">' in html
    assert "partner_copy" in render.TO_PARTNERS
