"""The public read API of the mairies, their hours and the catalogs, on both databases."""

from __future__ import annotations

import json
from importlib import resources

from litestar.testing import AsyncTestClient

SHARED = json.loads(
    resources.files("app.sites").joinpath("data/paris-mairies.json").read_text("utf-8")
)


async def test_the_seventeen_mairies_are_listed_with_their_real_addresses(
    client: AsyncTestClient[object],
) -> None:
    response = await client.get("/api/v1/sites")

    assert response.status_code == 200
    sites = response.json()
    assert len(sites) == 17
    expected = {entry["slug"]: entry["address"] for entry in SHARED["mairies"]}
    assert {site["slug"]: site["address"] for site in sites} == expected
    assert sites[0] == {
        "slug": "paris-centre",
        "name": "Mairie de Paris Centre",
        "address": "2 rue Eugène Spuller, 75003 Paris",
        "timezone": "Europe/Paris",
        "arrondissements": [1, 2, 3, 4],
    }


async def test_paris_15_lists_its_stations_with_their_kinds(
    client: AsyncTestClient[object],
) -> None:
    response = await client.get("/api/v1/sites/paris-15")

    assert response.status_code == 200
    site = response.json()
    assert site["address"] == "31 rue Péclet, 75015 Paris"
    stations = site["stations"]
    assert 3 <= len(stations) <= 6
    assert {station["kind"] for station in stations} == {"standard", "double"}
    assert any(station["accessible"] for station in stations)
    assert all(set(station) == {"id", "name", "kind", "accessible"} for station in stations)
    assert site["opening_hours"]["weekly"]["thu"] == [["08:30", "19:30"]]
    assert site["opening_hours"]["weekly"]["sat"] == []


async def test_every_mairie_has_both_kinds_of_station_and_an_accessible_one(
    client: AsyncTestClient[object],
) -> None:
    for summary in (await client.get("/api/v1/sites")).json():
        stations = (await client.get(f"/api/v1/sites/{summary['slug']}")).json()["stations"]
        assert 3 <= len(stations) <= 6, summary["slug"]
        assert {station["kind"] for station in stations} == {"standard", "double"}
        assert any(station["accessible"] for station in stations)


async def test_an_unknown_mairie_is_a_404_problem(client: AsyncTestClient[object]) -> None:
    response = await client.get("/api/v1/sites/paris-21")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "No mairie has the identifier 'paris-21'."


async def test_the_services_catalog_has_durations_station_kinds_and_documents(
    client: AsyncTestClient[object],
) -> None:
    response = await client.get("/api/v1/services")

    assert response.status_code == 200
    services = response.json()
    assert 8 <= len(services) <= 14
    codes = {service["code"] for service in services}
    assert {"compte-paris", "caf", "logement", "dansmarue", "ants"} <= codes
    for service in services:
        assert service["duration_minutes"] > 0
        assert service["station_kind"] in ("standard", "double")
        assert service["documents"], service["code"]
    assert {s["code"]: s["station_kind"] for s in services}["logement"] == "double"


async def test_the_needs_catalog_says_what_each_need_changes(
    client: AsyncTestClient[object],
) -> None:
    needs = {need["code"]: need for need in (await client.get("/api/v1/needs")).json()}

    assert needs["fauteuil"]["requires_accessible"] is True
    assert needs["accompagnement-long"]["station_kind"] == "double"
    assert needs["premiere-fois"]["extra_minutes"] > 0
    assert {"audition", "vue", "langue"} <= set(needs)


async def test_hours_of_the_19e_show_the_first_tuesday_morning_closure(
    client: AsyncTestClient[object],
) -> None:
    response = await client.get(
        "/api/v1/sites/paris-19/hours", params={"from": "2026-12-01", "to": "2026-12-08"}
    )

    assert response.status_code == 200
    days = {day["date"]: day for day in response.json()["days"]}
    assert days["2026-12-01"]["hours"] == [
        {"start": "2026-12-01T13:00:00+01:00", "end": "2026-12-01T17:00:00+01:00"}
    ]
    assert "premier mardi" in days["2026-12-01"]["note"]
    assert days["2026-12-08"]["hours"][0]["start"] == "2026-12-08T08:30:00+01:00"
    assert days["2026-12-03"]["hours"][0]["end"] == "2026-12-03T19:30:00+01:00"
    assert days["2026-12-05"]["open"] is False


async def test_hours_on_public_holidays_are_closed_and_named(
    client: AsyncTestClient[object],
) -> None:
    response = await client.get(
        "/api/v1/sites/paris-12/hours", params={"from": "2027-05-17", "to": "2027-07-14"}
    )

    days = {day["date"]: day for day in response.json()["days"]}
    assert days["2027-05-17"] == {
        "date": "2027-05-17",
        "open": False,
        "hours": [],
        "note": "Lundi de Pentecôte",
    }
    assert days["2027-07-14"]["open"] is False
    assert days["2027-07-14"]["note"] == "Fête nationale"
    assert days["2027-05-18"]["open"] is True


async def test_hours_in_summer_carry_the_summer_offset(client: AsyncTestClient[object]) -> None:
    response = await client.get(
        "/api/v1/sites/paris-5/hours", params={"from": "2027-06-03", "to": "2027-06-03"}
    )

    (day,) = response.json()["days"]
    assert day["hours"] == [
        {"start": "2027-06-03T08:30:00+02:00", "end": "2027-06-03T19:30:00+02:00"}
    ]


async def test_hours_refuse_a_reversed_or_too_long_range(client: AsyncTestClient[object]) -> None:
    reversed_range = await client.get(
        "/api/v1/sites/paris-5/hours", params={"from": "2027-06-03", "to": "2027-06-01"}
    )
    too_long = await client.get(
        "/api/v1/sites/paris-5/hours", params={"from": "2027-01-01", "to": "2027-03-31"}
    )
    not_a_date = await client.get("/api/v1/sites/paris-5/hours", params={"from": "demain"})
    far_future = await client.get("/api/v1/sites/paris-5/hours", params={"from": "9999-12-31"})

    for response in (reversed_range, too_long, not_a_date, far_future):
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    assert "62 days" in too_long.json()["detail"]
