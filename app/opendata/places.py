"""The mairies as rows of the national *lieux de médiation numérique* standard (v1.0.2, its
schema in `data/standards/` here), their hours in OpenStreetMap's `opening_hours` format.
Pure: `api.py` reads the data."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from app.sites.hours import SiteCalendar, WeeklyRule

# The columns of the standard's table schema, in its order.
FIELDS = (
    "id",
    "pivot",
    "nom",
    "commune",
    "code_postal",
    "code_insee",
    "adresse",
    "complement_adresse",
    "latitude",
    "longitude",
    "typologie",
    "telephone",
    "courriels",
    "site_web",
    "horaires",
    "presentation_resume",
    "presentation_detail",
    "source",
    "itinerance",
    "structure_parente",
    "date_maj",
    "services",
    "publics_specifiquement_adresses",
    "prise_en_charge_specifique",
    "frais_a_charge",
    "dispositif_programmes_nationaux",
    "formations_labels",
    "autres_formations_labels",
    "modalites_acces",
    "modalites_accompagnement",
    "fiche_acces_libre",
    "prise_rdv",
)

# The SIRET of the Ville de Paris's head office (Hôtel de Ville, place de l'Hôtel de Ville,
# 75004): its SIREN 217500016 and the head office's NIC 00019, as the Sirene register lists
# it (annuaire-entreprises.data.gouv.fr/etablissement/21750001600019). Every mairie
# d'arrondissement is a service of the City, without a SIRET of its own: the standard asks
# for the SIRET then, and tells the places apart by `id`.
CITY_SIRET = "21750001600019"
CITY = "Ville de Paris"
COMMUNE = "Paris"
# data·inclusion's typology of structures (which the standard refers to): a municipality.
TYPOLOGY = "MUNI"

# What the desks help with, in the standard's words, by démarche of the catalog; a
# démarche not listed here is help with an administrative procedure.
PAPERWORK = "Aide aux démarches administratives"
EVERYDAY_TOOLS = "Maîtrise des outils numériques du quotidien"
EMPLOYMENT = "Insertion professionnelle via le numérique"
SERVICES_BY_CODE: dict[str, tuple[str, ...]] = {
    "compte-paris": (PAPERWORK, EVERYDAY_TOOLS),
    "dansmarue": (EVERYDAY_TOOLS,),
    "france-travail": (PAPERWORK, EMPLOYMENT),
    "numerisation": (EVERYDAY_TOOLS,),
}
# The standard's list, in its order (its pattern spells "Compréhension"; its description
# does not).
SERVICES = (
    PAPERWORK,
    EVERYDAY_TOOLS,
    EMPLOYMENT,
    "Utilisation sécurisée du numérique",
    "Parentalité et éducation avec le numérique",
    "Loisirs et créations numériques",
    "Compréhension du monde numérique",
    "Accès internet et matériel informatique",
    "Acquisition de matériel informatique à prix solidaire",
)

# `date_maj` is the day of the last change a manager made to what a row says (the audit
# log's actions). A mairie nobody has changed since it was loaded keeps the day the
# project's copy of the City's list of mairies, their addresses and hours
# (app/sites/data/paris-mairies.json), was last brought up to date.
PUBLISHED_CHANGES = (
    "hours.changed",
    "hours_exception.added",
    "hours_exception.deleted",
    "closure.added",
    "closure.deleted",
    "station.created",
    "station.changed",
)
CITY_LIST_DATE = date(2026, 12, 2)

# How far ahead dated hours and closures are written into `horaires`.
HORIZON_DAYS = 731

OSM_DAYS = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")
OSM_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_POSTCODE = re.compile(r"^(?P<street>.*?),?\s*(?P<postcode>75\d{3})\s+Paris\s*$")

Ranges = tuple[tuple[time, time], ...]
Value = str | float | None


@dataclass(frozen=True)
class Mairie:
    """What a row says of one mairie, read from its tables."""

    slug: str
    name: str
    address: str
    arrondissements: Sequence[int]
    latitude: float | None
    longitude: float | None
    access: str
    walk_ins: bool
    accessible: bool
    updated: date
    calendar: SiteCalendar


# Opening hours


def _hhmm(at: time) -> str:
    return f"{at.hour:02d}:{at.minute:02d}"


def _ranges(ranges: Iterable[tuple[time, time]]) -> str:
    return ",".join(f"{_hhmm(opens)}-{_hhmm(closes)}" for opens, closes in ranges)


def _merged(ranges: Iterable[tuple[time, time]]) -> Ranges:
    """Sorted ranges with the overlapping or touching ones joined, as the app joins them."""
    merged: list[tuple[time, time]] = []
    for opens, closes in sorted(ranges):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return tuple(merged)


def _days(weekdays: Sequence[int]) -> str:
    """Weekdays as OSM writes them: runs of three or more as a range ("Mo-We,Fr")."""
    parts: list[str] = []
    run: list[int] = []
    for weekday in [*sorted(weekdays), None]:
        if weekday is not None and run and weekday == run[-1] + 1:
            run.append(weekday)
            continue
        if run:
            if len(run) >= 3:
                parts.append(f"{OSM_DAYS[run[0]]}-{OSM_DAYS[run[-1]]}")
            else:
                parts.extend(OSM_DAYS[day] for day in run)
        run = [weekday] if weekday is not None else []
    return ",".join(parts)


def _weekly(rules: Sequence[WeeklyRule]) -> list[str]:
    """The weekly rules: the ordinary week, weekdays of equal hours together, then the
    occurrences in the month that replace a weekday's hours."""
    ordinary: dict[int, Ranges] = {}
    for weekday in range(7):
        ranges = _merged(
            (r.opens, r.closes) for r in rules if r.weekday == weekday and r.nth_in_month is None
        )
        if ranges:
            ordinary[weekday] = ranges
    by_ranges: dict[Ranges, list[int]] = {}
    for weekday, ranges in ordinary.items():
        by_ranges.setdefault(ranges, []).append(weekday)
    written = [f"{_days(days)} {_ranges(ranges)}" for ranges, days in by_ranges.items()]
    for weekday in range(7):
        written.extend(_occurrences(weekday, [r for r in rules if r.weekday == weekday]))
    return written


def _occurrences(weekday: int, rules: Sequence[WeeklyRule]) -> list[str]:
    """A weekday's hours on its n-th occurrences in the month. A last one that is also the
    fourth or fifth opens the hours of both (the app joins them): the rule of the last is
    followed by the others as additional rules (OSM's ","), which add, not replace."""
    by_nth: dict[int, Ranges] = {}
    for nth in (1, 2, 3, 4, 5, -1):
        ranges = _merged((r.opens, r.closes) for r in rules if r.nth_in_month == nth)
        if ranges:
            by_nth[nth] = ranges
    day = OSM_DAYS[weekday]
    written = [f"{day}[{nth}] {_ranges(ranges)}" for nth, ranges in by_nth.items() if nth > 0]
    if -1 in by_nth:
        last = [f"{day}[-1] {_ranges(by_nth[-1])}"]
        last += [f"{day}[{nth}] {_ranges(by_nth[nth])}" for nth in (4, 5) if nth in by_nth]
        written.append(", ".join(last))
    return written


def _date(day: date) -> str:
    return f"{day.year} {OSM_MONTHS[day.month - 1]} {day.day:02d}"


def _dated_days(calendar: SiteCalendar, first: date, last: date) -> list[date]:
    """The days from `first` to `last` whose hours a dated exception or a closure sets."""
    days = {row.day for row in calendar.exceptions if first <= row.day <= last}
    tz = calendar.timezone
    for closure in calendar.closures:
        day = max(first, closure.starts_at.astimezone(tz).date())
        # A closure ending at midnight leaves the next day alone (its instant is excluded).
        end = min(last, (closure.ends_at.astimezone(tz) - timedelta(microseconds=1)).date())
        while day <= end:
            days.add(day)
            day += timedelta(days=1)
    return sorted(days)


def _local_ranges(calendar: SiteCalendar, day: date) -> Ranges:
    tz = calendar.timezone
    return tuple(
        (start.astimezone(tz).time(), end.astimezone(tz).time())
        for start, end in calendar.day(day).intervals
    )


def _dated(calendar: SiteCalendar, first: date, last: date) -> list[str]:
    """A rule for each day a dated exception or a closure sets, with the hours the app
    gives it; closed days in a row as one range of dates."""
    written: list[str] = []
    closed_run: list[date] = []

    def close_run() -> None:
        if closed_run:
            start, end = closed_run[0], closed_run[-1]
            span = _date(start) if start == end else f"{_date(start)}-{_date(end)}"
            written.append(f"{span} off")
            closed_run.clear()

    for day in _dated_days(calendar, first, last):
        ranges = _local_ranges(calendar, day)
        if ranges:
            close_run()
            written.append(f"{_date(day)} {_ranges(ranges)}")
        else:
            if closed_run and closed_run[-1] + timedelta(days=1) != day:
                close_run()
            closed_run.append(day)
    close_run()
    return written


def opening_hours(calendar: SiteCalendar, today: date) -> str:
    """The site's hours as an OSM `opening_hours` value, true from `today` on: the week,
    the occurrences in the month, `PH off` when public holidays close it, then the days
    with their own hours and the closures ahead (within `HORIZON_DAYS`), which OSM lets
    override the rules before them, as they override the week in the app."""
    rules = _weekly(calendar.weekly)
    if calendar.public_holidays_closed:
        rules.append("PH off")
    rules += _dated(calendar, today, today + timedelta(days=HORIZON_DAYS))
    return "; ".join(rules)


# The row


def split_address(address: str, arrondissements: Sequence[int]) -> tuple[str, str]:
    """The street part of the address and its postcode: "2 rue Eugène Spuller, 75003 Paris"
    gives ("2 rue Eugène Spuller", "75003"). An address without one has the postcode of
    its first arrondissement."""
    found = _POSTCODE.match(address.strip())
    if found:
        return found["street"].strip(), found["postcode"]
    first = min(arrondissements, default=1)
    return address.strip(), f"750{first:02d}"


def insee_code(postcode: str) -> str:
    """The INSEE code of the arrondissement municipal a Paris postcode belongs to: 75003
    (and 75116, the 16e's second) gives 751NN. Paris Centre's mairie, in the former
    mairie of the 3e, has the 3e's, 75103: the four arrondissements it joined keep their
    codes (75101 to 75104) in INSEE's official geographic code."""
    return f"751{int(postcode[3:]):02d}"


def services_of(codes: Iterable[str]) -> str:
    """The standard's services matching the démarches of the catalog, in its order."""
    offered = {name for code in codes for name in SERVICES_BY_CODE.get(code, (PAPERWORK,))}
    return "|".join(name for name in SERVICES if name in offered)


def place(mairie: Mairie, services: str, base_url: str, today: date) -> dict[str, Value]:
    """One row of the standard, every column of `FIELDS`; None where nothing is known.
    Lists are `|`-separated, as the schema says."""
    street, postcode = split_address(mairie.address, mairie.arrondissements)
    page = f"{base_url}/mairies/{mairie.slug}"
    access = ["Se présenter"] if mairie.walk_ins else []
    detail = (
        "Des médiateurs numériques aident chacun, un par un, à faire ses démarches en ligne "
        "et à se servir des outils numériques, sur rendez-vous ou sans."
    )
    row: dict[str, Value] = {
        "id": f"guichet-{mairie.slug}",
        "pivot": CITY_SIRET,
        "nom": mairie.name,
        "commune": COMMUNE,
        "code_postal": postcode,
        "code_insee": insee_code(postcode),
        "adresse": street,
        "complement_adresse": None,
        "latitude": mairie.latitude,
        "longitude": mairie.longitude,
        "typologie": TYPOLOGY,
        "telephone": None,
        "courriels": None,
        "site_web": page,
        "horaires": opening_hours(mairie.calendar, today) or None,
        "presentation_resume": f"{mairie.name} : aide gratuite aux démarches en ligne."[:280],
        "presentation_detail": f"{detail} Accès : {mairie.access}" if mairie.access else detail,
        "source": CITY,
        "itinerance": "Fixe",
        "structure_parente": CITY,
        "date_maj": mairie.updated.isoformat(),
        "services": services or None,
        "publics_specifiquement_adresses": None,
        "prise_en_charge_specifique": "Handicaps moteurs" if mairie.accessible else None,
        "frais_a_charge": "Gratuit",
        "dispositif_programmes_nationaux": None,
        "formations_labels": None,
        "autres_formations_labels": None,
        "modalites_acces": "|".join([*access, "Prendre un RDV en ligne"]),
        "modalites_accompagnement": "Accompagnement individuel",
        "fiche_acces_libre": None,
        "prise_rdv": f"{page}/rendez-vous",
    }
    return row


def updated_on(changed_at: datetime | None, calendar: SiteCalendar) -> date:
    """`date_maj`: the local day of the last change (`PUBLISHED_CHANGES`), else the day of
    the City's list."""
    if changed_at is None:
        return CITY_LIST_DATE
    return changed_at.astimezone(calendar.timezone).date()


def as_csv(rows: Iterable[dict[str, Value]]) -> str:
    """The rows as the standard's CSV: its columns in order, a header, commas, empty
    where nothing is known."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: "" if value is None else value for name, value in row.items()})
    return out.getvalue()
