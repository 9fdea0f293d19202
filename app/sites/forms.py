"""Reading the forms of a mairie's administration page, in French: numbers, times, dates,
periods and opening ranges as typed, each problem next to its field; and the service's
refusal of a form, put next to the field it concerns."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from app import bounds
from app.errors import DomainError, Invalid
from app.i18n import N_, gettext
from app.i18n.texts import refusal
from app.sites.hours import local_instant
from app.sites.rules import MAX_RANGES_PER_DAY
from app.web.staff import FormRefusals

CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9](:00)?")
# What the pages say for refusals the form checks cannot foresee, and next to which field.
REFUSALS = {
    "station_name_taken": ("nom", N_("Un autre poste de cette mairie porte déjà ce nom.")),
}


def read_int(form: Mapping[str, str], name: str, errors: dict[str, str]) -> int | None:
    value = bounds.parse_int(form.get(name, ""), -999_999, 999_999)
    if value is None:
        errors[name] = gettext("Indiquez un nombre entier, par exemple 30.")
    return value


def read_clock(form: Mapping[str, str], name: str, errors: dict[str, str]) -> time | None:
    raw = form.get(name, "").strip()
    if CLOCK.fullmatch(raw):
        return time(int(raw[:2]), int(raw[3:5]))
    errors[name] = gettext("Indiquez l'heure sous la forme HH:MM, par exemple 08:30.")
    return None


def read_day(form: Mapping[str, str], name: str, errors: dict[str, str]) -> date | None:
    raw = form.get(name, "").strip()
    day = bounds.parse_date(raw)
    if day is None:
        errors[name] = gettext(
            "Indiquez la date sous la forme AAAA-MM-JJ, par exemple 2026-12-03, entre le "
            "%(first)s et le %(last)s.",
            first=bounds.EARLIEST_DAY.strftime("%d/%m/%Y"),
            last=bounds.LATEST_DAY.strftime("%d/%m/%Y"),
        )
    return day


def read_instant(
    form: Mapping[str, str], prefix: str, zone: ZoneInfo, errors: dict[str, str]
) -> datetime | None:
    """The instant of a date field `{prefix}-jour` and a time field `{prefix}-heure`."""
    day = read_day(form, f"{prefix}-jour", errors)
    at = read_clock(form, f"{prefix}-heure", errors)
    if day is None or at is None:
        return None
    return local_instant(day, at, zone)


def read_period(
    form: Mapping[str, str], prefix: str, zone: ZoneInfo, errors: dict[str, str]
) -> tuple[datetime, datetime] | None:
    """From the instant of the fields `{prefix}-debut-…` to that of `{prefix}-fin-…`."""
    starts_at = read_instant(form, f"{prefix}-debut", zone, errors)
    ends_at = read_instant(form, f"{prefix}-fin", zone, errors)
    return None if starts_at is None or ends_at is None else (starts_at, ends_at)


def period_fields(prefix: str) -> dict[str, str]:
    """Where the service's refusals of a period go in the form of `read_period`."""
    return {
        "starts_at": f"{prefix}-debut-jour",
        "ends_at": f"{prefix}-fin-jour",
        "reason": f"{prefix}-motif",
    }


def read_ranges(
    form: Mapping[str, str], prefix: str, errors: dict[str, str]
) -> list[tuple[time, time]]:
    """The opening ranges of `{prefix}-N-ouverture` / `{prefix}-N-fermeture`; a range left
    blank is no range, a range half filled is an error."""
    ranges = []
    for number in range(1, MAX_RANGES_PER_DAY + 1):
        opens_name, closes_name = f"{prefix}-{number}-ouverture", f"{prefix}-{number}-fermeture"
        if not form.get(opens_name, "").strip() and not form.get(closes_name, "").strip():
            continue
        opens = read_clock(form, opens_name, errors)
        closes = read_clock(form, closes_name, errors)
        if opens is not None and closes is not None:
            ranges.append((opens, closes))
    return ranges


def read_reminder_hours(form: Mapping[str, str], errors: dict[str, str]) -> list[int] | None:
    raw = form.get("reminder_hours", "")
    parts = [part for part in re.split(r"[\s,;]+", raw.strip()) if part]
    hours = [bounds.parse_int(part, 0, 9999) for part in parts]
    if all(hour is not None for hour in hours):
        return [hour for hour in hours if hour is not None]
    errors["reminder_hours"] = gettext(
        "Indiquez des nombres d'heures séparés par des virgules, par exemple 24, 2."
    )
    return None


def problems_of(error: DomainError, fields: Mapping[str, str], default: str) -> dict[str, str]:
    """The service's refusal by form field: `fields` maps the service's field names to the
    form's ("{n}" standing for the place in a list, from 1), `default` takes the others."""
    if not isinstance(error, Invalid):
        field_name, text = REFUSALS.get(error.code, ("", ""))
        return {fields.get(field_name, default): gettext(text) if text else refusal(error.code)}
    problems: dict[str, str] = {}
    for problem in error.problems:
        name = problem.field.split("[")[0].split(".")[0]
        index = re.search(r"\[(\d+)\]", problem.field)
        target = fields.get(name, default)
        if index and "{n}" in target:
            target = target.replace("{n}", str(int(index.group(1)) + 1))
        problems.setdefault(target.replace("{n}", "1"), problem.text)
    return problems


def refusals(errors: dict[str, str], fields: Mapping[str, str], default: str) -> FormRefusals:
    """The service's refusal of a form, put in `errors` next to the field it concerns."""
    return FormRefusals(errors, lambda error: problems_of(error, fields, default))
