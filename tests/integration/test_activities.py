"""Activity records, on both databases: a month of visits at two mairies finished through
the real commands, exported as La Coop de la médiation numérique reads them (JSON and
CSV, every field name and every value held against La Coop's lists), for a manager's
own mairies only; the defaults a facilitator who changes nothing gets, through the API
and through the station's page; no record at all for a finish that gives none; the
figures' autonomy and themes; and the records kept, unchanged, when the person's data is
erased."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.db import Database
from app.queue import commands
from app.sites.models import Service, Site, Station
from app.visits.activity_rules import ActivityReport
from app.visits.service import VisitReport
from tests.commands import in_session
from tests.conftest import STAFF_PASSWORD, Clock, Staff

PARIS = ZoneInfo("Europe/Paris")
MONTH = "from=2026-12-01&to=2026-12-31"

# La Coop's field names and values. FIELD.md ("The French médiation numérique
# ecosystem") gives these:
FIELD_MD_NAMES = {"type", "date", "duree", "typeLieu", "autonomie", "orienteVersStructure"}
FIELD_MD_NAMES |= {"materiel", "thematiques", "trancheAge", "statutSocial"}
TYPES = {"individuel", "collectif", "demarche_administrative"}
AUTONOMIE = {"entierement_accompagne", "partiellement_autonome", "autonome"}
MATERIEL = {"ordinateur", "telephone", "tablette", "autre", "aucun"}
FIELD_MD_THEMES = {"email", "sante", "securite_numerique", "papiers_elections_citoyennete"}
FIELD_MD_THEMES |= {"famille_scolarite", "social_sante", "travail_formation", "logement"}
FIELD_MD_THEMES |= {"transports_mobilite", "argent_impots", "justice", "etrangers_europe"}
# …and these were confirmed in La Coop's own code (its data model, `schema.prisma`, and
# its public API, `api/v1/activites`; see docs/decisions/0012-activity-records.md):
CONFIRMED_NAMES = {"structureDeRedirection"}
CONFIRMED_THEMES = {
    "diagnostic_numerique", "prendre_en_main_du_materiel", "maintenance_de_materiel",
    "gere_ses_contenus_numeriques", "navigation_sur_internet", "bureautique",
    "reseaux_sociaux", "banque_et_achats_en_ligne", "entrepreneuriat",
    "insertion_professionnelle", "parentalite", "scolarite_et_numerique",
    "creer_avec_le_numerique", "culture_numerique", "intelligence_artificielle",
    "aide_aux_demarches_administratives", "loisirs_sports_culture", "associations",
}  # fmt: skip
TYPE_LIEU = {"lieu_activite", "domicile", "a_distance", "autre"}
STRUCTURES = {"administration", "mediation_numerique", "operateur_ou_organisme_en_charge"}
STRUCTURES |= {"aide_sociale", "insertion_professionnelle", "aide_aux_demarches_administratives"}
STRUCTURES |= {"autre"}
TRANCHES = {"moins_de_douze", "douze_dix_huit", "dix_huit_vingt_quatre"}
TRANCHES |= {"vingt_cinq_trente_neuf", "quarante_cinquante_neuf", "soixante_soixante_neuf"}
TRANCHES |= {"soixante_dix_plus", "non_communique"}
STATUTS = {"scolarise", "sans_emploi", "en_emploi", "retraite", "non_communique"}
THEMATIQUES = FIELD_MD_THEMES | CONFIRMED_THEMES
# guichet's own: the record's id, the mairie, and the Aidants Connect mandate (yes or no).
OWN_NAMES = {"id", "site", "mandatAidantsConnect"}
NAMES = FIELD_MD_NAMES | CONFIRMED_NAMES | OWN_NAMES

SERVICES = ["caf", "logement", "ants", "impots", "ameli", "france-travail", "numerisation"]
SERVICES += ["compte-paris", "dansmarue", "paris-familles", "accompagnement"]


def check_record(record: dict[str, Any]) -> None:
    """Every field of `record` named and valued as La Coop's lists say."""
    assert set(record) == NAMES
    assert record["type"] in TYPES
    assert record["typeLieu"] in TYPE_LIEU
    assert record["autonomie"] in AUTONOMIE
    assert record["trancheAge"] in TRANCHES
    assert record["statutSocial"] in STATUTS
    assert record["thematiques"]
    assert set(record["thematiques"]) <= THEMATIQUES
    assert record["materiel"]
    assert set(record["materiel"]) <= MATERIEL
    assert record["structureDeRedirection"] in STRUCTURES | {None}
    assert record["orienteVersStructure"] is (record["structureDeRedirection"] is not None)
    assert isinstance(record["mandatAidantsConnect"], bool)
    assert isinstance(record["duree"], int)
    assert 1 <= record["duree"] <= 480
    assert date.fromisoformat(record["date"]).month == 12
    assert isinstance(record["id"], int)


@dataclass
class Expected:
    """What the export should say of one visit of the month."""

    site: str
    day: date
    autonomie: str
    thematiques: set[str]
    materiel: set[str]
    duree: int
    structure: str | None
    tranche: str
    statut: str
    mandat: bool


def said(m: int) -> ActivityReport:
    """The facilitator's record of a mairie's `m`th visit of the month: every fifth one
    left as the form offers it, the others going through every value of every list."""
    if m % 5 == 0:
        return ActivityReport()
    themes = sorted(THEMATIQUES)
    return ActivityReport(
        themes=(themes[m % len(themes)], themes[(m * 7 + 3) % len(themes)]),
        minutes=None if m % 3 == 0 else 5 + m % 90,
        equipment=(sorted(MATERIEL)[(m // 2) % 5],),
        autonomy=sorted(AUTONOMIE)[m % 3],
        referral=sorted(STRUCTURES)[(m // 2) % 7] if m % 2 else None,
        aidants_connect=m % 4 == 1,
        age_band=sorted(TRANCHES)[m % 8],
        social_status=sorted(STATUTS)[(m // 3) % 5],
    )


def expected_of(site: str, day: date, service: str, m: int, minutes: int) -> Expected:
    from app.visits.activity_rules import EQUIPMENT_BY_SERVICE, THEMES_BY_SERVICE

    report = said(m)
    equipment = set(report.equipment or EQUIPMENT_BY_SERVICE[service])
    return Expected(
        site=site,
        day=day,
        autonomie=report.autonomy or "partiellement_autonome",
        thematiques=set(report.themes or THEMES_BY_SERVICE[service]),
        materiel=equipment - {"aucun"} or {"aucun"},
        duree=report.minutes or minutes,
        structure=report.referral,
        tranche=report.age_band or "non_communique",
        statut=report.social_status or "non_communique",
        mandat=report.aidants_connect,
    )


async def station_of(db: Database, slug: str, kind: str = "standard") -> int:
    """The first station of `kind` at the mairie `slug`."""
    async with db.session() as session:
        found = await session.scalar(
            select(Station.id)
            .join(Site, Site.id == Station.site_id)
            .where(Site.slug == slug, Station.kind == kind)
            .order_by(Station.position, Station.id)
        )
    assert found is not None
    return int(found)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


async def finish_one(
    db: Database, slug: str, station: int, service: str, start: datetime, minutes: int, **how: Any
) -> int:
    """A walk-in at `slug` for `service`, called, served from `start` for `minutes` and
    finished with `how` (a `VisitReport`'s fields), through the queue's commands."""
    ticket = await in_session(
        db,
        commands.issue_walk_in,
        slug,
        service_code=service,
        agent_id=None,
        now=start,
        force_reason="Essai",
        phone=how.pop("phone", None),
    )
    called = await in_session(db, commands.call_next, station, agent_id=None, now=start)
    assert called is not None
    assert called.id == ticket.id
    await in_session(db, commands.act, ticket.id, "start", agent_id=None, now=start)
    finished = start + timedelta(minutes=minutes)
    report = VisitReport(**how)
    await in_session(
        db, commands.act, ticket.id, "finish", agent_id=None, now=finished, report=report
    )
    return ticket.id


@pytest.fixture
async def month(db: Database, clock: Clock) -> list[Expected]:
    """December 2026 at the 15e (two visits a weekday) and the 20e (one), finished with
    every value of La Coop's lists, and some left as the form offers them."""
    async with db.session() as session:
        kinds = dict((await session.execute(select(Service.code, Service.station_kind))).all())
    stations = {
        (slug, kind): await station_of(db, slug, kind)
        for slug in ("paris-15", "paris-20")
        for kind in ("standard", "double")
    }
    expected = []
    n = 0
    counted = Counter[str]()
    for number in range(1, 32):
        day = date(2026, 12, number)
        if day.weekday() >= 5:
            continue
        for slug, visits in (("paris-15", 2), ("paris-20", 1)):
            for k in range(visits):
                service = SERVICES[n % len(SERVICES)]
                minutes = 10 + n % 40
                escalated = n % 6 == 5
                m = counted[slug]
                counted[slug] += 1
                await finish_one(
                    db,
                    slug,
                    stations[slug, kinds[service]],
                    service,
                    at(day, 10 + k),
                    minutes,
                    services=[service],
                    outcome="escalated" if escalated else "solved",
                    department="caf" if escalated else None,
                    activity=said(m),
                )
                found = expected_of(slug, day, service, m, minutes)
                if escalated and found.structure is None:
                    found.structure = "operateur_ou_organisme_en_charge"
                expected.append(found)
                n += 1
    clock.set("2027-01-04 09:00")
    return expected


async def test_a_month_exports_with_la_coops_field_names_and_values(
    client: AsyncTestClient[object], staff: Staff, month: list[Expected]
) -> None:
    manager = await staff.headers("manager", "paris-15")

    as_json = await client.get(f"/api/v1/activities?site=paris-15&{MONTH}", headers=manager)
    as_csv = await client.get(f"/api/v1/activities.csv?site=paris-15&{MONTH}", headers=manager)

    assert as_json.status_code == 200, as_json.text
    records = as_json.json()
    ours = [item for item in month if item.site == "paris-15"]
    assert len(records) == len(ours) == 46
    for record, item in zip(records, ours, strict=True):
        check_record(record)
        assert record["site"] == "paris-15"
        assert date.fromisoformat(record["date"]) == item.day
        assert record["type"] == "individuel"
        assert record["typeLieu"] == "lieu_activite"
        assert record["autonomie"] == item.autonomie
        assert set(record["thematiques"]) == item.thematiques
        assert set(record["materiel"]) == item.materiel
        assert record["duree"] == item.duree
        assert record["structureDeRedirection"] == item.structure
        assert (record["trancheAge"], record["statutSocial"]) == (item.tranche, item.statut)
        assert record["mandatAidantsConnect"] is item.mandat
    for values, allowed in (
        ({r["autonomie"] for r in records}, AUTONOMIE),
        ({t for r in records for t in r["thematiques"]}, THEMATIQUES),
        ({m for r in records for m in r["materiel"]}, MATERIEL),
        ({r["structureDeRedirection"] for r in records} - {None}, STRUCTURES),
        ({r["trancheAge"] for r in records}, TRANCHES),
        ({r["statutSocial"] for r in records}, STATUTS),
    ):
        assert values == allowed  # the month met every value of each list

    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        "guichet-activites-paris-15-2026-12-01-2026-12-31.csv"
        in (as_csv.headers["content-disposition"])
    )
    header, *rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert header == list(records[0])
    assert len(rows) == len(records)
    lists, flags = {"thematiques", "materiel"}, {"orienteVersStructure", "mandatAidantsConnect"}
    for row, record in zip(rows, records, strict=True):
        cells = dict(zip(header, row, strict=True))
        read: dict[str, Any] = {
            name: cell.split("|")
            if name in lists
            else cell == "true"
            if name in flags
            else int(cell)
            if name in {"id", "duree"}
            else cell or None
            for name, cell in cells.items()
        }
        assert all(cells[name] in ("true", "false") for name in flags)
        check_record(read)
        assert read == record


async def test_a_manager_reads_only_their_mairies_and_the_desks_none(
    client: AsyncTestClient[object], staff: Staff, month: list[Expected]
) -> None:
    manager = await staff.headers("manager", "paris-15")
    admin = await staff.headers("admin")

    theirs = await client.get(f"/api/v1/activities?{MONTH}", headers=manager)
    other = await client.get(f"/api/v1/activities?site=paris-20&{MONTH}", headers=manager)
    other_csv = await client.get(f"/api/v1/activities.csv?site=paris-20&{MONTH}", headers=manager)
    everything = await client.get(f"/api/v1/activities?{MONTH}", headers=admin)
    desks = [
        await client.get(f"/api/v1/{route}?site={site}&{MONTH}", headers=headers)
        for headers in (
            await staff.headers("facilitator", "paris-15"),
            await staff.headers("reception", "paris-15"),
        )
        # A mairie that does not exist is no answer to them either: the door is shut first.
        for site in ("paris-15", "paris-99")
        for route in ("activities", "stats")
    ]
    anonymous = await client.get(f"/api/v1/activities?site=paris-15&{MONTH}")

    assert theirs.status_code == 200
    assert {record["site"] for record in theirs.json()} == {"paris-15"}
    assert len(theirs.json()) == sum(1 for item in month if item.site == "paris-15")
    assert other.status_code == other_csv.status_code == 403
    assert other.headers["content-type"] == "application/problem+json"
    assert everything.status_code == 200
    assert Counter(record["site"] for record in everything.json()) == Counter(
        item.site for item in month
    )
    assert [answer.status_code for answer in desks] == [403] * 8
    assert anonymous.status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/activities", "/api/v1/activities.csv"])
@pytest.mark.parametrize(
    "query",
    [
        "from=yesterday",
        "to=2026-13-01",
        "from=2026-12-31&to=2026-12-01",
        "from=2025-01-01&to=2026-12-31",
        "from=0001-01-01&to=0001-01-02",
        "from=9999-12-30&to=9999-12-31",
        "from=2026-12-0%D9%A3",
        "format=xlsx",
    ],
    ids=[
        "not-a-date",
        "no-such-month",
        "ends-before-it-starts",
        "over-400-days",
        "far-past",
        "far-future",
        "other-digits",
        "unknown-format",
    ],
)
async def test_bad_days_are_refused_plainly_never_a_500(
    client: AsyncTestClient[object], staff: Staff, path: str, query: str
) -> None:
    manager = await staff.headers("manager", "paris-15")

    response = await client.get(f"{path}?site=paris-15&{query}", headers=manager)

    if query == "format=xlsx" and path.endswith("activities"):
        assert response.status_code == 200  # the JSON list takes no format
        return
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_defaults_follow_the_service_when_the_facilitator_says_nothing(
    client: AsyncTestClient[object], staff: Staff, db: Database, clock: Clock
) -> None:
    """Through the API: an activity record with nothing said in it, then one sent on to a
    department."""
    clock.set("2026-12-01 10:00")
    reception = await staff.headers("reception", "paris-15")
    facilitator = await staff.headers("facilitator", "paris-15")
    station = await station_of(db, "paris-15", "double")  # housing needs a double screen
    for service, minutes, body in (
        ("logement", 25, {"outcome": "solved", "activity": {}}),
        ("ameli", 40, {"outcome": "escalated", "department": "caf", "activity": {}}),
    ):
        issued = await client.post(
            "/api/v1/sites/paris-15/tickets", json={"service": service}, headers=reception
        )
        ticket = f"/api/v1/tickets/{issued.json()['id']}"
        await client.post(f"/api/v1/stations/{station}/call-next", headers=facilitator)
        await client.post(f"{ticket}/start", headers=facilitator)
        clock.now = clock() + timedelta(minutes=minutes, seconds=20)
        done = await client.post(f"{ticket}/finish", json=body, headers=facilitator)
        assert done.status_code == 200, done.text
    manager = await staff.headers("manager", "paris-15")

    housing, health = (
        await client.get("/api/v1/activities?from=2026-12-01&to=2026-12-01", headers=manager)
    ).json()

    assert {k: v for k, v in housing.items() if k not in ("id", "date")} == {
        "site": "paris-15",
        "type": "individuel",
        "duree": 25,
        "typeLieu": "lieu_activite",
        "autonomie": "partiellement_autonome",
        "orienteVersStructure": False,
        "structureDeRedirection": None,
        "materiel": ["ordinateur"],
        "thematiques": ["aide_aux_demarches_administratives", "logement"],
        "trancheAge": "non_communique",
        "statutSocial": "non_communique",
        "mandatAidantsConnect": False,
    }
    assert health["duree"] == 40
    assert set(health["thematiques"]) == {"aide_aux_demarches_administratives", "sante"} | {
        "social_sante"
    }
    assert health["orienteVersStructure"] is True
    assert health["structureDeRedirection"] == "operateur_ou_organisme_en_charge"


async def test_a_visit_finished_without_an_activity_record_is_neither_exported_nor_counted(
    client: AsyncTestClient[object], staff: Staff, db: Database, clock: Clock
) -> None:
    """Through the API: a finish with no `activity` records none, rather than the
    defaults as if a facilitator had seen the person work on a computer, partly alone."""
    clock.set("2026-12-01 10:00")
    reception = await staff.headers("reception", "paris-15")
    facilitator = await staff.headers("facilitator", "paris-15")
    station = await station_of(db, "paris-15")
    for body in (
        {"outcome": "solved", "note": "Attestation CAF imprimée"},
        {"outcome": "solved", "activity": {"autonomy": "autonome"}},
    ):
        issued = await client.post(
            "/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=reception
        )
        ticket = f"/api/v1/tickets/{issued.json()['id']}"
        await client.post(f"/api/v1/stations/{station}/call-next", headers=facilitator)
        await client.post(f"{ticket}/start", headers=facilitator)
        clock.now = clock() + timedelta(minutes=15)
        done = await client.post(f"{ticket}/finish", json=body, headers=facilitator)
        assert done.status_code == 200, done.text
    manager = await staff.headers("manager", "paris-15")
    day = "site=paris-15&from=2026-12-01&to=2026-12-01"

    records = (await client.get(f"/api/v1/activities?{day}", headers=manager)).json()
    table = (await client.get(f"/api/v1/activities.csv?{day}", headers=manager)).text
    figures = (await client.get(f"/api/v1/stats?{day}", headers=manager)).json()

    (record,) = records
    assert record["autonomie"] == "autonome"
    assert len(table.strip().splitlines()) == 2  # the header and the one recorded
    assert figures["autonomy"] == {
        "entierement_accompagne": 0,
        "partiellement_autonome": 0,
        "autonome": 1,
    }
    assert sum(figures["themes"].values()) == len(record["thematiques"])


async def test_the_api_records_what_the_facilitator_said_and_refuses_what_la_coop_would_not(
    client: AsyncTestClient[object], staff: Staff, db: Database, clock: Clock
) -> None:
    clock.set("2026-12-01 10:00")
    reception = await staff.headers("reception", "paris-15")
    facilitator = await staff.headers("facilitator", "paris-15")
    station = await station_of(db, "paris-15")
    issued = await client.post(
        "/api/v1/sites/paris-15/tickets", json={"service": "caf"}, headers=reception
    )
    ticket = f"/api/v1/tickets/{issued.json()['id']}"
    await client.post(f"/api/v1/stations/{station}/call-next", headers=facilitator)
    await client.post(f"{ticket}/start", headers=facilitator)
    activity = {
        "themes": ["logement", "email"],
        "minutes": 35,
        "equipment": ["telephone", "aucun"],
        "autonomy": "autonome",
        "referral": "aide_sociale",
        "aidants_connect": True,
        "age_band": "soixante_dix_plus",
        "social_status": "retraite",
    }

    refused = [
        await client.post(
            f"{ticket}/finish",
            json={"outcome": "solved", "activity": {**activity, **wrong}},
            headers=facilitator,
        )
        for wrong in (
            {"themes": ["cuisine"]},
            {"themes": []},
            {"minutes": 0},
            {"minutes": 481},
            {"autonomy": "un_peu"},
            {"age_band": "42"},
            {"mandate": "AC-123"},
        )
    ]
    still = await client.get(f"/api/v1/tickets/{issued.json()['token']}")
    done = await client.post(
        f"{ticket}/finish", json={"outcome": "solved", "activity": activity}, headers=facilitator
    )
    manager = await staff.headers("manager", "paris-15")
    (record,) = (
        await client.get("/api/v1/activities?from=2026-12-01&to=2026-12-01", headers=manager)
    ).json()

    assert [answer.status_code for answer in refused] == [400] * 7
    assert still.json()["status"] == "serving"
    assert done.status_code == 200, done.text
    check_record(record)
    assert record["thematiques"] == ["email", "logement"]  # in La Coop's order
    assert record["materiel"] == ["telephone"]  # "aucun" beside a telephone says nothing
    assert (record["duree"], record["autonomie"]) == (35, "autonome")
    assert (record["orienteVersStructure"], record["structureDeRedirection"]) == (
        True,
        "aide_sociale",
    )
    assert (record["trancheAge"], record["statutSocial"]) == ("soixante_dix_plus", "retraite")
    assert record["mandatAidantsConnect"] is True


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def ticked(html: str, name: str) -> list[str]:
    """The values of the boxes named `name` the page ticks."""
    return re.findall(rf'name="{name}" id="[^"]+" value="([^"]+)" checked', html)


async def test_the_station_form_offers_the_services_defaults_and_keeps_a_refusal_as_typed(
    client: AsyncTestClient[object], staff: Staff, db: Database, clock: Clock
) -> None:
    clock.set("2026-12-01 10:00")
    ticket = await in_session(
        db, commands.issue_walk_in, "paris-15", service_code="ants", agent_id=None, now=clock()
    )
    station = await station_of(db, "paris-15")
    email = await staff.agent("facilitator", "paris-15")
    await client.post("/connexion", data={"email": email, "password": STAFF_PASSWORD})
    csrf = csrf_of((await client.get(f"/poste/{station}")).text)
    await client.post(f"/poste/{station}/appeler", data={"csrf": csrf})
    page = (
        await client.post(f"/poste/{station}/tickets/{ticket.id}/commencer", data={"csrf": csrf})
    ).text
    path = f"/poste/{station}/tickets/{ticket.id}/terminer"
    form = {
        "csrf": csrf,
        "issue": "solved",
        "demarches": ["ants", "impots"],
        "thematiques": ticked(page, "thematiques"),
        "thematiques_proposees": "aide_aux_demarches_administratives papiers_elections_citoyennete",
        "materiel": ticked(page, "materiel"),
        "materiel_propose": "ordinateur",
        "autonomie": "entierement_accompagne",
        "aidants_connect": "oui",
        "tranche_age": "quarante_cinquante_neuf",
        "statut_social": "non_communique",
        "orientation": "",
    }

    refused = await client.post(path, data={**form, "duree": "douze"})
    clock.set("2026-12-01 10:18")
    done = await client.post(path, data={**form, "duree": ""}, follow_redirects=False)
    manager = await staff.headers("manager", "paris-15")
    (record,) = (
        await client.get("/api/v1/activities?from=2026-12-01&to=2026-12-01", headers=manager)
    ).json()

    assert set(ticked(page, "thematiques")) == {
        "aide_aux_demarches_administratives",
        "papiers_elections_citoyennete",
    }
    assert ticked(page, "materiel") == ["ordinateur"]
    assert ticked(page, "autonomie") == ["partiellement_autonome"]
    assert 'name="aidants_connect"' in page
    assert refused.status_code == 400
    assert '<p class="field-error" id="duree-' in refused.text
    assert 'value="douze"' in refused.text
    assert ticked(refused.text, "autonomie") == ["entierement_accompagne"]
    assert done.status_code == 303, done.text
    check_record(record)
    # The themes left as offered follow the démarches done: ANTS and taxes.
    assert set(record["thematiques"]) == {
        "aide_aux_demarches_administratives",
        "papiers_elections_citoyennete",
        "argent_impots",
    }
    assert record["duree"] == 18  # measured, from start to finish
    assert (record["autonomie"], record["mandatAidantsConnect"]) == ("entierement_accompagne", True)
    assert record["trancheAge"] == "quarante_cinquante_neuf"


async def test_the_figures_count_autonomy_and_themes(
    client: AsyncTestClient[object], staff: Staff, month: list[Expected]
) -> None:
    manager = await staff.headers("manager", "paris-15")
    ours = [item for item in month if item.site == "paris-15"]
    email = await staff.agent("manager", "paris-15")
    await client.post("/connexion", data={"email": email, "password": STAFF_PASSWORD})

    stats = await client.get(f"/api/v1/stats?site=paris-15&{MONTH}", headers=manager)
    page = await client.get("/statistiques/paris-15?du=2026-12-01&au=2026-12-31")

    figures = stats.json()
    assert figures["autonomy"] == {
        level: sum(1 for item in ours if item.autonomie == level)
        for level in ("entierement_accompagne", "partiellement_autonome", "autonome")
    }
    themes = Counter(theme for item in ours for theme in item.thematiques)
    assert set(figures["themes"]) == THEMATIQUES
    assert {theme: n for theme, n in figures["themes"].items() if n} == dict(themes)
    assert sum(figures["autonomy"].values()) == len(ours)
    assert page.status_code == 200
    assert "<h3>Autonomie des personnes</h3>" in page.text
    partly = figures["autonomy"]["partiellement_autonome"]
    assert f"<dt>Partiellement autonome</dt><dd>{partly}</dd>" in page.text
    assert "<dt>Aide aux démarches administratives</dt>" in page.text


async def test_erasing_a_person_keeps_their_anonymous_activity_record(
    client: AsyncTestClient[object], staff: Staff, db: Database, clock: Clock
) -> None:
    station = await station_of(db, "paris-15")
    await finish_one(
        db,
        "paris-15",
        station,
        "caf",
        at(date(2026, 12, 1), 10),
        20,
        phone="06 12 34 56 78",
        outcome="solved",
        activity=ActivityReport(age_band="soixante_dix_plus", aidants_connect=True),
    )
    clock.set("2026-12-02 09:00")
    manager = await staff.headers("manager", "paris-15")
    query = "/api/v1/activities?from=2026-12-01&to=2026-12-01"
    before = (await client.get(query, headers=manager)).json()

    erased = await client.post(
        "/api/v1/admin/people/erase", json={"phone": "06 12 34 56 78"}, headers=manager
    )
    after = (await client.get(query, headers=manager)).json()

    assert erased.status_code == 200, erased.text
    assert len(before) == 1
    assert after == before
