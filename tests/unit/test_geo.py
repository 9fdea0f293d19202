"""Where the mairies are: distances, and the place a resident's words point to."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.sites import geo
from app.sites.demo import mairies
from app.sites.geo import arrondissement_of, distance_km, folded, place_of, search, site_for


@dataclass
class Mairie:
    slug: str
    name: str
    arrondissements: list[int]
    latitude: float | None
    longitude: float | None
    address: str = ""
    access: str = ""


def paris() -> list[Mairie]:
    return [
        Mairie(
            slug=entry["slug"],
            name=entry["name"],
            arrondissements=entry["arrondissements"],
            latitude=entry["latitude"],
            longitude=entry["longitude"],
            address=entry["address"],
            access=entry["access"],
        )
        for entry in mairies()["mairies"]
    ]


def by_slug(slug: str) -> Mairie:
    return next(site for site in paris() if site.slug == slug)


def test_the_distance_from_a_point_to_itself_is_zero() -> None:
    assert distance_km(48.8412, 2.2991, 48.8412, 2.2991) == 0


def test_one_degree_of_latitude_is_about_111_km() -> None:
    assert distance_km(48.0, 2.35, 49.0, 2.35) == pytest.approx(111.2, abs=0.1)


def test_the_15e_and_the_14e_mairies_are_a_little_over_two_km_apart() -> None:
    fifteenth, fourteenth = by_slug("paris-15"), by_slug("paris-14")
    assert fifteenth.latitude
    assert fifteenth.longitude
    assert fourteenth.latitude
    assert fourteenth.longitude

    distance = distance_km(
        fifteenth.latitude, fifteenth.longitude, fourteenth.latitude, fourteenth.longitude
    )

    assert 1.5 < distance < 3.0


@given(
    st.floats(48.7, 49.0),
    st.floats(2.2, 2.5),
    st.floats(48.7, 49.0),
    st.floats(2.2, 2.5),
)
def test_distance_is_symmetric_and_never_negative(
    lat1: float, lon1: float, lat2: float, lon2: float
) -> None:
    there = distance_km(lat1, lon1, lat2, lon2)
    back = distance_km(lat2, lon2, lat1, lon1)
    assert there >= 0
    assert there == pytest.approx(back, abs=1e-9)


def test_every_mairie_of_the_citys_list_lies_within_paris_and_says_how_to_come() -> None:
    for site in paris():
        assert site.latitude is not None
        assert site.longitude is not None
        assert 48.81 < site.latitude < 48.91, site.slug
        assert 2.22 < site.longitude < 2.47, site.slug
        assert "ligne" in site.access, site.slug
        assert len(site.access) <= 300


def test_no_two_mairies_share_a_position() -> None:
    positions = {(site.latitude, site.longitude) for site in paris()}
    assert len(positions) == 17


@pytest.mark.parametrize(
    ("query", "arrondissement"),
    [
        ("15", 15),
        ("15e", 15),
        ("15E", 15),
        ("15ème", 15),
        ("15 e", 15),
        ("1er", 1),
        ("paris 18", 18),
        ("75015", 15),
        ("75001", 1),
        ("75020", 20),
        ("75116", 16),
        (" 75 012 ", 12),
        ("Paris 75015", 15),
        ("75116 Paris", 16),
        ("75 015 PARIS", 15),
        ("Paris 15e", 15),
        ("15e, Paris, France", 15),
    ],
)
def test_a_postcode_or_a_number_names_an_arrondissement(query: str, arrondissement: int) -> None:
    assert arrondissement_of(query) == arrondissement


@pytest.mark.parametrize(
    "query",
    ["", "0", "21", "75000", "75021", "75117", "92100", "abc", "paris", "٧٥٠١٥", "١٥", "Paris ٤"],
)
def test_anything_else_names_no_arrondissement(query: str) -> None:
    assert arrondissement_of(query) is None


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("paris-15", "paris-15"),
        ("PARIS-CENTRE", "paris-centre"),
        ("75003", "paris-centre"),
        ("2e", "paris-centre"),
        ("4", "paris-centre"),
        ("75116", "paris-16"),
        ("19e", "paris-19"),
    ],
)
def test_the_mairie_of_a_slug_postcode_or_arrondissement(query: str, slug: str) -> None:
    site = site_for(query, paris())
    assert site is not None
    assert site.slug == slug


def test_place_of_gives_the_position_of_the_named_mairie() -> None:
    fifteenth = by_slug("paris-15")

    assert place_of("75015", paris()) == (fifteenth.latitude, fifteenth.longitude)
    assert place_of("15e", paris()) == (fifteenth.latitude, fifteenth.longitude)
    assert place_of("paris-15", paris()) == (fifteenth.latitude, fifteenth.longitude)


@pytest.mark.parametrize("query", ["", "nulle part", "75021", "21e", "paris-99"])
def test_place_of_anything_else_is_none(query: str) -> None:
    assert place_of(query, paris()) is None


def test_place_of_a_mairie_without_a_position_is_none() -> None:
    sites = [Mairie("paris-15", "Mairie du 15e arrondissement", [15], None, None)]
    assert place_of("15", sites) is None


def test_folding_forgets_accents_case_and_dashes() -> None:
    assert folded("  Mairie du 15ÈME — Péclet ") == folded("mairie du 15eme   peclet")
    assert folded("Château-d'Eau") == "chateau d eau"


def test_a_search_puts_the_named_mairie_first_then_the_others_nearest_first() -> None:
    found, others = search("75015", paris())

    assert found is not None
    assert found.slug == "paris-15"
    assert len(others) == 16
    assert found.latitude is not None
    assert found.longitude is not None
    distances = [
        distance_km(found.latitude, found.longitude, site.latitude or 0, site.longitude or 0)
        for site in others
    ]
    assert distances == sorted(distances)
    assert others[0].slug in {"paris-14", "paris-7", "paris-16"}


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("Panthéon", "paris-5"),
        ("pantheon", "paris-5"),
        ("Péclet", "paris-15"),
        ("GAMBETTA", "paris-20"),
    ],
)
def test_a_search_by_street_or_metro_without_accents_finds_the_mairie(
    query: str, slug: str
) -> None:
    found, _ = search(query, paris())
    assert found is not None
    assert found.slug == slug


@pytest.mark.parametrize("query", ["mairie", "arrondissement", "zzz", "21"])
def test_a_search_naming_no_single_mairie_keeps_the_whole_list_in_order(query: str) -> None:
    found, others = search(query, paris())

    assert found is None
    assert [site.slug for site in others] == [site.slug for site in paris()]


def test_a_map_link_marks_the_position_or_searches_the_address() -> None:
    @dataclass
    class Place:
        slug: str = "paris-99"
        name: str = "Mairie"
        address: str = "1 place de l'Hôtel de Ville, 75004 Paris"
        latitude: float | None = None
        longitude: float | None = None

    assert geo.map_link(Place(latitude=48.8412, longitude=2.2991)) == (
        "https://www.openstreetmap.org/?mlat=48.84120&mlon=2.29910#map=17/48.84120/2.29910"
    )
    assert geo.map_link(Place()) == (
        "https://www.openstreetmap.org/search?query=1+place+de+l%27H%C3%B4tel+de+Ville%2C+75004+Paris"
    )
