"""The demo data's pure parts: the mairies file, stations, announced cancellations."""

from __future__ import annotations

from datetime import date

from app.sites.demo import (
    SERVICES,
    STATIONS_PER_SITE,
    demo_stations,
    mairies,
    thursday_evenings_cancelled,
)


def test_the_project_keeps_the_citys_list_of_seventeen_mairies() -> None:
    data = mairies()

    assert len(data["mairies"]) == 17
    assert data["timezone"] == "Europe/Paris"
    assert {entry["slug"] for entry in data["mairies"]} == set(STATIONS_PER_SITE)
    nineteenth = next(entry for entry in data["mairies"] if entry["slug"] == "paris-19")
    assert nineteenth["address"] == "5-7 place Armand Carrel, 75019 Paris"


def test_every_site_gets_three_to_six_stations_of_both_kinds() -> None:
    for slug, count in STATIONS_PER_SITE.items():
        stations = demo_stations(slug)
        assert len(stations) == count
        assert 3 <= count <= 6
        assert {station.kind for station in stations} == {"standard", "double"}
        assert any(station.accessible and station.kind == "standard" for station in stations)
        assert all(station.accessible for station in stations if station.kind == "double")


def test_the_catalog_has_about_ten_services_with_documents() -> None:
    assert 9 <= len(SERVICES) <= 12
    assert len({service["code"] for service in SERVICES}) == len(SERVICES)
    assert all(service["documents"] for service in SERVICES)


def test_announced_cancellations_fall_on_second_thursdays_of_the_next_months() -> None:
    assert thursday_evenings_cancelled(date(2026, 11, 26)) == [
        date(2026, 12, 10),
        date(2027, 1, 14),
    ]
    assert thursday_evenings_cancelled(date(2027, 12, 1)) == [date(2028, 1, 13), date(2028, 2, 10)]
