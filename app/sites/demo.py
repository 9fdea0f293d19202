"""The Paris demo data: the 17 mairies with their real addresses and hours, stations,
the services catalog and the needs catalog. Loading it twice changes nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, time, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking import free_time
from app.db import utcnow
from app.sites.hours import WEEKDAYS
from app.sites.models import HoursException, Need, Service, Site, Station, WeeklyHours

STATIONS_PER_SITE = {
    "paris-centre": 5,
    "paris-5": 3,
    "paris-6": 3,
    "paris-7": 3,
    "paris-8": 3,
    "paris-9": 4,
    "paris-10": 4,
    "paris-11": 6,
    "paris-12": 5,
    "paris-13": 6,
    "paris-14": 5,
    "paris-15": 6,
    "paris-16": 4,
    "paris-17": 6,
    "paris-18": 6,
    "paris-19": 5,
    "paris-20": 6,
}

SERVICES: list[dict[str, Any]] = [
    {
        "code": "compte-paris",
        "name": "Créer ou utiliser son compte Mon Paris",
        "description": "Créer son compte parisien, se connecter, retrouver ses démarches.",
        "duration_minutes": 20,
        "station_kind": "standard",
        "documents": ["Une adresse e-mail et son mot de passe", "Votre téléphone portable"],
        "name_en": "Setting up or using your Mon Paris account",
        "description_en": "Create your Paris account, sign in, find your past requests.",
        "documents_en": [
            "An email address and its password",
            "Your mobile phone",
        ],
    },
    {
        "code": "caf",
        "name": "Démarches CAF en ligne",
        "description": "Espace allocataire caf.fr : déclaration trimestrielle, aides au logement, "
        "changement de situation.",
        "duration_minutes": 30,
        "station_kind": "standard",
        "documents": [
            "Votre numéro allocataire et votre code confidentiel",
            "Vos justificatifs de ressources",
        ],
        "name_en": "CAF family benefits online",
        "description_en": "Your caf.fr account: quarterly declaration, housing benefit, change of "
        "circumstances.",
        "documents_en": [
            "Your CAF claimant number and secret code",
            "Proof of your income",
        ],
    },
    {
        "code": "logement",
        "name": "Demande de logement social",
        "description": "Déposer ou renouveler une demande de logement social en ligne.",
        "duration_minutes": 45,
        "station_kind": "double",
        "documents": [
            "Une pièce d'identité",
            "Votre numéro unique de demande (en cas de renouvellement)",
            "Votre dernier avis d'imposition",
            "Vos trois derniers bulletins de salaire ou justificatifs de ressources",
        ],
        "name_en": "Applying for social housing",
        "description_en": "Make or renew an application for social housing online.",
        "documents_en": [
            "Proof of identity",
            "Your application number (if you are renewing)",
            "Your latest tax notice",
            "Your last three payslips or other proof of income",
        ],
    },
    {
        "code": "dansmarue",
        "name": "Signaler une anomalie avec DansMaRue",
        "description": "Signaler un dépôt sauvage, un trottoir abîmé, un éclairage en panne.",
        "duration_minutes": 15,
        "station_kind": "standard",
        "documents": ["Votre téléphone portable, si vous voulez utiliser l'application"],
        "name_en": "Reporting a street problem with DansMaRue",
        "description_en": "Report rubbish dumped in the street, a damaged pavement, a broken "
        "street light.",
        "documents_en": [
            "Your mobile phone, if you want to use the app",
        ],
    },
    {
        "code": "paris-familles",
        "name": "Paris Familles : inscriptions et paiements",
        "description": "Cantine, centres de loisirs, conservatoires : inscrire ses enfants "
        "et payer ses factures.",
        "duration_minutes": 20,
        "station_kind": "standard",
        "documents": ["Vos identifiants Paris Familles", "Votre livret de famille"],
        "name_en": "Paris Familles: registering and paying",
        "description_en": "School meals, holiday and after-school clubs, music and dance schools: "
        "register your children and pay your bills.",
        "documents_en": [
            "Your Paris Familles login details",
            "Your family record book (livret de famille)",
        ],
    },
    {
        "code": "impots",
        "name": "Impôts en ligne",
        "description": "Espace particulier impots.gouv.fr : déclaration de revenus, "
        "prélèvement à la source, paiements.",
        "duration_minutes": 30,
        "station_kind": "standard",
        "documents": ["Votre numéro fiscal", "Votre dernier avis d'impôt"],
        "name_en": "Income tax online",
        "description_en": "Your personal account on impots.gouv.fr: tax return, tax taken from "
        "your pay, payments.",
        "documents_en": [
            "Your tax number",
            "Your latest tax notice",
        ],
    },
    {
        "code": "ameli",
        "name": "Compte ameli (Assurance maladie)",
        "description": "Créer son compte ameli, suivre ses remboursements, demander une "
        "attestation.",
        "duration_minutes": 20,
        "station_kind": "standard",
        "documents": ["Votre carte Vitale", "Un relevé d'identité bancaire"],
        "name_en": "ameli account (health insurance)",
        "description_en": "Create your ameli account, follow your refunds, ask for a certificate.",
        "documents_en": [
            "Your Carte Vitale (health insurance card)",
            "Your bank details (RIB)",
        ],
    },
    {
        "code": "france-travail",
        "name": "France Travail : inscription et actualisation",
        "description": "S'inscrire comme demandeur d'emploi, s'actualiser, déposer son CV.",
        "duration_minutes": 30,
        "station_kind": "standard",
        "documents": ["Votre identifiant France Travail", "Votre CV sur clé USB ou par e-mail"],
        "name_en": "France Travail: registering and monthly updates",
        "description_en": "Register as a jobseeker, update your situation each month, "
        "upload your CV.",
        "documents_en": [
            "Your France Travail login",
            "Your CV on a USB stick or by email",
        ],
    },
    {
        "code": "ants",
        "name": "Pré-demande de passeport ou de carte d'identité (ANTS)",
        "description": "Remplir la pré-demande en ligne et acheter un timbre fiscal.",
        "duration_minutes": 30,
        "station_kind": "standard",
        "documents": [
            "Votre ancien titre, s'il existe",
            "Un justificatif de domicile",
            "Une carte bancaire pour le timbre fiscal",
        ],
        "name_en": "Passport or identity card pre-application (ANTS)",
        "description_en": "Fill in the pre-application online and buy a tax stamp.",
        "documents_en": [
            "Your old passport or card, if you have one",
            "Proof of address",
            "A bank card to pay for the tax stamp",
        ],
    },
    {
        "code": "numerisation",
        "name": "Numériser et envoyer des documents",
        "description": "Scanner des justificatifs et les joindre à une démarche en ligne "
        "ou les envoyer par e-mail.",
        "duration_minutes": 15,
        "station_kind": "standard",
        "documents": ["Les documents papier à numériser"],
        "name_en": "Scanning and sending documents",
        "description_en": "Scan your papers and attach them to an online application, or send "
        "them by email.",
        "documents_en": [
            "The paper documents to scan",
        ],
    },
    {
        "code": "accompagnement",
        "name": "Accompagnement approfondi (plusieurs démarches)",
        "description": "Un rendez-vous long, au poste double écran, pour un dossier complexe "
        "ou plusieurs démarches.",
        "duration_minutes": 60,
        "station_kind": "double",
        "documents": ["Tous les documents des démarches prévues"],
        "name_en": "In-depth help (several tasks)",
        "description_en": "A long appointment at a dual-screen desk, for a complex case or "
        "several tasks.",
        "documents_en": [
            "All the documents for the tasks you plan to do",
        ],
    },
]

NEEDS: list[dict[str, Any]] = [
    {
        "code": "premiere-fois",
        "name": "C'est ma première fois sur internet",
        "name_en": "It's my first time on the internet",
        "extra_minutes": 15,
    },
    {
        "code": "accompagnement-long",
        "name": "J'ai besoin d'un accompagnement long",
        "name_en": "I need longer help",
        "extra_minutes": 30,
        "station_kind": "double",
    },
    {
        "code": "fauteuil",
        "name": "Je me déplace en fauteuil roulant",
        "name_en": "I use a wheelchair",
        "extra_minutes": 0,
        "requires_accessible": True,
    },
    {
        "code": "audition",
        "name": "J'entends mal",
        "name_en": "I have difficulty hearing",
        "extra_minutes": 10,
    },
    {
        "code": "vue",
        "name": "Je vois mal",
        "name_en": "I have difficulty seeing",
        "extra_minutes": 15,
    },
    {
        "code": "langue",
        "name": "Je parle peu le français",
        "name_en": "I speak little French",
        "extra_minutes": 15,
    },
]


@dataclass
class DemoReport:
    sites: int = 0
    stations: int = 0
    services: int = 0
    needs: int = 0
    exceptions: int = 0


def mairies() -> dict[str, Any]:
    """The copy of the City's published list of mairies kept in the project."""
    text = resources.files("app.sites").joinpath("data/paris-mairies.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _parse_time(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def demo_stations(slug: str) -> list[Station]:
    """Stations named "Poste 1…n": standard ones first, one or two double ones last;
    the first standard and every double (seated) station are wheelchair accessible."""
    count = STATIONS_PER_SITE.get(slug, 4)
    doubles = 2 if count >= 5 else 1
    stations = []
    for number in range(1, count + 1):
        kind = "double" if number > count - doubles else "standard"
        stations.append(
            Station(
                name=f"Poste {number}",
                kind=kind,
                accessible=number == 1 or kind == "double",
                position=number,
            )
        )
    return stations


def thursday_evenings_cancelled(today: date) -> list[date]:
    """Two announced cancellations of the 20e's late Thursday opening: the second
    Thursday of next month and of the month after."""
    cancelled = []
    year, month = today.year, today.month
    for _ in range(2):
        month += 1
        if month > 12:
            year, month = year + 1, 1
        first = date(year, month, 1)
        first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
        cancelled.append(first_thursday + timedelta(days=7))
    return cancelled


async def load_demo(session: AsyncSession, *, today: date) -> DemoReport:
    """Add whatever of the demo data is missing; rows that exist are left as they are."""
    report = DemoReport()
    data = mairies()
    existing_sites = {site.slug: site for site in await session.scalars(select(Site))}
    for entry in data["mairies"]:
        site = existing_sites.get(entry["slug"])
        if site is None:
            site = Site(
                slug=entry["slug"],
                name=entry["name"],
                address=entry["address"],
                timezone=data["timezone"],
                arrondissements=entry["arrondissements"],
            )
            _place(site, entry)
            site.stations = demo_stations(entry["slug"])
            session.add(site)
            await session.flush()
            report.sites += 1
            report.stations += len(site.stations)
            session.add_all(_weekly_hours(site, data["default_hours"]))
            if entry["slug"] == "paris-19":
                session.add(
                    WeeklyHours(
                        site_id=site.id,
                        weekday=1,
                        nth_in_month=1,
                        opens=time(13, 0),
                        closes=time(17, 0),
                        note="Fermé jusqu'à 13 h le premier mardi du mois",
                    )
                )
        elif site.latitude is None or not site.access:
            _place(site, entry)
        if entry["slug"] == "paris-20":
            report.exceptions += await _add_thursday_cancellations(session, site, today)
    report.services = await _add_missing(session, Service, SERVICES)
    report.needs = await _add_missing(session, Need, NEEDS)
    await session.flush()
    await free_time.roll(session, utcnow(), today=today)
    return report


def _place(site: Site, entry: dict[str, Any]) -> None:
    """Fill where the mairie is and how to come, leaving what a manager set alone."""
    if site.latitude is None or site.longitude is None:
        site.latitude = entry.get("latitude")
        site.longitude = entry.get("longitude")
    if not site.access:
        site.access = entry.get("access", "")


def _weekly_hours(site: Site, default_hours: dict[str, list[list[str]]]) -> list[WeeklyHours]:
    rows = []
    for weekday, name in enumerate(WEEKDAYS):
        for opens, closes in default_hours.get(name, []):
            rows.append(
                WeeklyHours(
                    site_id=site.id,
                    weekday=weekday,
                    opens=_parse_time(opens),
                    closes=_parse_time(closes),
                )
            )
    return rows


async def _add_thursday_cancellations(session: AsyncSession, site: Site, today: date) -> int:
    added = 0
    for day in thursday_evenings_cancelled(today):
        exists = await session.scalar(
            select(HoursException.id).where(
                HoursException.site_id == site.id, HoursException.day == day
            )
        )
        if exists is None:
            session.add(
                HoursException(
                    site_id=site.id,
                    day=day,
                    opens=time(8, 30),
                    closes=time(17, 0),
                    reason="Nocturne du jeudi annulée",
                )
            )
            added += 1
    return added


async def _add_missing(
    session: AsyncSession, model: type[Service] | type[Need], rows: list[dict[str, Any]]
) -> int:
    """Add the items missing; give those already there, still named as the demo names
    them and with no English yet, the demo's English texts (loaded before they existed)."""
    items: list[Service | Need] = list(await session.scalars(select(model)))
    existing = {item.code: item for item in items}
    added = 0
    for position, row in enumerate(rows, start=1):
        item = existing.get(row["code"])
        if item is None:
            session.add(model(**row, position=position))
            added += 1
        elif item.name == row["name"] and not item.name_en:
            for name, value in row.items():
                if name.endswith("_en"):
                    setattr(item, name, value)
    return added
