"""data·inclusion's structures and services: every record passes the schema's own pydantic
models (`data-inclusion-schema`, v1) with its warnings as errors and without a field the
models do not know; the 17 mairies are structures, each démarche of the catalog at each of
them a service that books on the mairie's booking page."""

from __future__ import annotations

from typing import Any

import pytest
from data_inclusion.schema.v1 import Service, Structure, Thematique
from litestar.testing import AsyncTestClient
from pydantic import ValidationError

from app.opendata import inclusion, places
from tests.conftest import Clock, Staff

CLIENT = AsyncTestClient[object]
STRUCTURES = "/open-data/data-inclusion/structures.json"
SERVICES = "/open-data/data-inclusion/services.json"
BASE = "http://127.0.0.1:8000"
# The models ignore what they do not know, and check a `date_maj` against the machine's
# own day: the manager's change is dated before any day these tests run.
CHANGED_ON = "2026-12-02"
STRICT = {"ignore_warnings": False}


@pytest.fixture
async def changed(client: CLIENT, clock: Clock, staff: Staff) -> None:
    """The 15e's manager closes the mairie on Friday 5 February 2027."""
    clock.set(f"{CHANGED_ON} 09:00")
    manager = await staff.headers("manager", "paris-15")
    answer = await client.put(
        "/api/v1/admin/sites/paris-15/hours-exceptions/2027-02-05",
        json={"ranges": [], "reason": "Exceptionnel"},
        headers=manager,
    )
    assert answer.status_code == 200


def errors(model: type[Structure] | type[Service], records: list[dict[str, Any]]) -> list[str]:
    """What the model refuses in each record, its warnings and unknown fields included."""
    found = []
    for record in records:
        unknown = set(record) - set(model.model_fields)
        if unknown:
            found.append(f"{record.get('id')}: unknown {sorted(unknown)}")
        try:
            model.model_validate(record, context=STRICT)
        except ValidationError as error:
            found.append(f"{record.get('id')}: {error}")
    return found


async def test_the_seventeen_structures_pass_the_schema(client: CLIENT, changed: None) -> None:
    response = await client.get(STRUCTURES)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["access-control-allow-origin"] == "*"
    structures: list[dict[str, Any]] = response.json()
    assert len(structures) == 17
    assert errors(Structure, structures) == []
    # The models can fail: a SIRET of 13 digits, a name ending with a full stop.
    wrong = {**structures[0], "siret": "2175000160001", "nom": "Mairie."}
    assert len(errors(Structure, [wrong])) == 1
    assert "siret" in errors(Structure, [wrong])[0]
    assert "point" in errors(Structure, [wrong])[0]

    by_id = {structure["id"]: structure for structure in structures}
    centre = by_id["guichet--paris-centre"]
    assert centre["source"] == "guichet"
    assert centre["siret"] == places.CITY_SIRET
    assert (centre["adresse"], centre["code_postal"], centre["code_insee"], centre["commune"]) == (
        "2 rue Eugène Spuller",
        "75003",
        "75103",
        "Paris",
    )
    assert (centre["latitude"], centre["longitude"]) == (48.8641, 2.3603)
    assert centre["site_web"] == f"{BASE}/mairies/paris-centre"
    assert centre["reseaux_porteurs"] == ["communes"]
    assert [by_id[f"guichet--paris-{n}"]["code_insee"] for n in range(5, 21)] == [
        f"751{n:02d}" for n in range(5, 21)
    ]
    assert by_id["guichet--paris-19"]["horaires_accueil"] == (
        "Mo-We,Fr 08:30-17:00; Th 08:30-19:30; Tu[1] 13:00-17:00; PH off"
    )
    assert "2027 Feb 05 off" in by_id["guichet--paris-15"]["horaires_accueil"]
    assert by_id["guichet--paris-15"]["date_maj"] == CHANGED_ON
    assert {s["date_maj"] for s in structures if s["id"] != "guichet--paris-15"} == {
        places.CITY_LIST_DATE.isoformat()
    }


async def test_the_structures_have_the_places_file_s_hours(client: CLIENT, changed: None) -> None:
    rows = (await client.get("/open-data/lieux-mediation-numerique.json")).json()
    structures = (await client.get(STRUCTURES)).json()

    assert [s["id"] for s in structures] == [
        row["id"].replace("guichet-", "guichet--", 1) for row in rows
    ]
    assert [s["horaires_accueil"] for s in structures] == [row["horaires"] for row in rows]
    assert [s["description"] for s in structures] == [row["presentation_detail"] for row in rows]


async def test_each_demarche_at_each_mairie_is_a_service_that_passes_the_schema(
    client: CLIENT, changed: None
) -> None:
    structures = (await client.get(STRUCTURES)).json()
    catalog = (await client.get("/api/v1/services")).json()
    response = await client.get(SERVICES)

    assert response.status_code == 200
    services: list[dict[str, Any]] = response.json()
    codes = [item["code"] for item in catalog]
    assert len(codes) == 11
    assert len(services) == 17 * len(codes)
    assert errors(Service, services) == []
    assert [s["id"] for s in services] == [
        f"{structure['id']}--{code}" for structure in structures for code in codes
    ]
    assert {s["structure_id"] for s in services} == {s["id"] for s in structures}

    ameli = next(s for s in services if s["id"] == "guichet--paris-15--ameli")
    assert ameli["nom"] == "Compte ameli (Assurance maladie), avec un médiateur numérique"
    assert ameli["lien_mobilisation"] == f"{BASE}/mairies/paris-15/rendez-vous"
    assert ameli["modes_accueil"] == ["en-presentiel"]
    assert ameli["mobilisable_par"] == ["professionnels", "usagers"]
    assert ameli["frais"] == "gratuit"
    assert ameli["zone_eligibilite"] == ["75056"]
    assert ameli["publics"] == ["tous-publics"]
    assert "sante--acces-aux-soins" in ameli["thematiques"]
    assert ameli["conditions_acces"] == (
        "À apporter : Votre carte Vitale ; Un relevé d'identité bancaire."
    )
    assert (ameli["code_insee"], ameli["date_maj"]) == ("75115", CHANGED_ON)
    assert len(ameli["description"]) >= 200
    for service in services:
        assert "numerique--acceder-a-des-services-en-ligne" in service["thematiques"]
        assert service["modes_mobilisation"][-1] == "utiliser-lien-mobilisation"


def test_every_theme_of_the_mapping_is_one_of_the_schema_s() -> None:
    """The démarches not in the demo catalog too."""
    used = {theme for themes in inclusion.THEMES_BY_CODE.values() for theme in themes}
    assert used | set(inclusion.DEFAULT_THEMES) <= {theme.value for theme in Thematique}


async def test_a_client_holding_the_services_gets_a_304(client: CLIENT) -> None:
    first = await client.get(SERVICES)
    again = await client.get(SERVICES, headers={"If-None-Match": first.headers["etag"]})

    assert first.headers["cache-control"] == "public, max-age=900"
    assert (again.status_code, again.content) == (304, b"")
