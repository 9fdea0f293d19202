"""The rules a mairie's administration follows, checked in plain words before the database
could refuse a change: settings' bounds, stations, outages, closures, opening ranges. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from itertools import pairwise
from typing import Any, Literal

from app.errors import Invalid, Problem
from app.i18n import N_, formats, gettext, ngettext
from app.sites.models import STATION_KINDS, LateArrivalRule, Site

MAX_RANGES_PER_DAY = 4
MAX_REASON = 200
MAX_STATION_NAME = 60
LONGEST_PERIOD = timedelta(days=366)
# A setting's unit, as the API's details write it after a number.
UNITS_ENGLISH = {
    "percent": " %",
    "minutes": " minutes",
    "days": " days",
    "hours_before": " hours before",
}


def clean_text(value: str, field_name: str, limit: int, *, required: bool) -> str:
    """One line of printable text, spaces folded, at most `limit` characters."""
    text = " ".join(value.split())
    if required and not text:
        raise Invalid.one(field_name, "Give a name.", gettext("Indiquez un nom."))
    if len(text) > limit or not text.isprintable():
        raise Invalid.one(
            field_name,
            f"Write at most {limit} printable characters.",
            ngettext(
                "Écrivez au plus %(num)d caractère lisible.",
                "Écrivez au plus %(num)d caractères lisibles.",
                limit,
            ),
        )
    return text


# Settings


def amount(number: int, unit: str) -> str:
    """`number` with its `unit` (a key of UNITS_ENGLISH, or none), as the pages write it:
    "240 minutes", "100 %"."""
    if unit == "minutes":
        return ngettext("%(num)d minute", "%(num)d minutes", number)
    if unit == "days":
        return ngettext("%(num)d jour", "%(num)d jours", number)
    if unit == "hours_before":
        return ngettext("%(num)d heure avant", "%(num)d heures avant", number)
    if unit == "percent":
        return gettext("%(num)d %%", num=number)
    return str(number)


@dataclass(frozen=True)
class Bound:
    low: int
    high: int
    english: str
    words: str  # a msgid of the catalog (the setting named for a page): `gettext` it where shown
    unit: str = ""  # a key of UNITS_ENGLISH

    def problem(self, field_name: str, value: int) -> Problem | None:
        if self.low <= value <= self.high:
            return None
        return Problem(
            field_name,
            f"{self.english} must be between {self.low} and {self.high}"
            f"{UNITS_ENGLISH.get(self.unit, '')}.",
            gettext(
                "%(setting)s doit aller de %(low)d à %(high)s.",
                setting=gettext(self.words),
                low=self.low,
                high=amount(self.high, self.unit),
            ),
        )


@dataclass(frozen=True)
class Flag:
    """A yes-or-no setting."""

    english: str


@dataclass(frozen=True)
class Other:
    """A setting with a check of its own (in `check_settings`): the reminders' hours, a
    wall-clock time, the rule for late arrivals."""

    kind: Literal["hours", "clock", "late_rule"]


# Every setting of a mairie, in the API's order, and its bounds: the API and forms follow it.
SETTINGS: dict[str, Bound | Flag | Other] = {
    "walk_in_percent": Bound(
        0,
        100,
        "The share of station time kept for walk-ins",
        N_("La part du temps des postes gardée pour les visiteurs sans rendez-vous"),
        "percent",
    ),
    "booking_min_notice_minutes": Bound(
        0,
        10080,
        "The minimum notice before an appointment",
        N_("Le délai minimum avant un rendez-vous"),
        "minutes",
    ),
    "booking_horizon_days": Bound(
        1,
        366,
        "How far ahead people may book",
        N_("La période ouverte à la réservation"),
        "days",
    ),
    "max_future_bookings_per_contact": Bound(
        1,
        20,
        "The number of appointments to come per person",
        N_("Le nombre de rendez-vous à venir par personne"),
    ),
    "check_in_early_minutes": Bound(
        0,
        240,
        "How early people may check in",
        N_("L'avance permise pour l'arrivée"),
        "minutes",
    ),
    "check_in_late_minutes": Bound(
        0,
        240,
        "The lateness still counted as on time",
        N_("Le retard toléré (la personne garde sa place de rendez-vous)"),
        "minutes",
    ),
    "priority_after_minutes": Bound(
        1,
        480,
        "The wait after which a ticket goes first",
        N_("L'attente après laquelle un ticket devient prioritaire"),
        "minutes",
    ),
    "no_show_after_calls": Bound(
        1,
        10,
        "The number of calls before a ticket is marked absent",
        N_("Le nombre d'appels avant de marquer un ticket absent"),
    ),
    "reminder_hours": Other("hours"),
    "sms_quiet_from": Other("clock"),
    "sms_quiet_until": Other("clock"),
    "turn_near_position": Bound(
        0,
        20,
        "The position at which people are told their turn is near",
        N_("La position à laquelle on prévient que le tour approche"),
    ),
    "service_level_minutes": Bound(
        1,
        240,
        "The service level's wait",
        N_("L'attente visée pour le niveau de service"),
        "minutes",
    ),
    "service_level_goal": Bound(
        1,
        100,
        "The service level's goal",
        N_("L'objectif de niveau de service"),
        "percent",
    ),
    "late_arrival_rule": Other("late_rule"),
    "late_grace_minutes": Bound(
        0,
        60,
        "The grace past that lateness, under the grace rule",
        N_("Le délai de grâce au-delà de ce retard (règle « délai de grâce »)"),
        "minutes",
    ),
    "late_check_in_limit_minutes": Bound(
        0,
        240,
        "How long after an appointment's end a late arrival is still checked in",
        N_("Le temps après la fin du rendez-vous où une arrivée en retard est encore acceptée"),
        "minutes",
    ),
    "remote_per_hour": Bound(
        0,
        200,
        "The tickets taken from phones in any hour (0: none)",
        N_("Le nombre de tickets pris à distance par heure (0 : aucun)"),
    ),
    "remote_head_start_minutes": Bound(
        0,
        240,
        "How long, at most, a ticket taken from a phone counts as waiting before its holder came",
        N_("L'avance gardée, au plus, à l'arrivée d'un ticket pris à distance"),
        "minutes",
    ),
    "remote_rejoin_minutes": Bound(
        5,
        60,
        "How long a ticket taken from a phone, passed over while away, is kept for its holder",
        N_("Le temps pendant lequel un ticket à distance passé en son absence reste gardé"),
        "minutes",
    ),
    "offer_hold_minutes": Bound(
        5,
        120,
        "How long a freed slot is held for the person it is offered to (from the morning at night)",
        N_("Le temps pendant lequel un créneau libéré reste réservé à qui il est proposé"),
        "minutes",
    ),
    "facilitators_issue_tickets": Flag("Whether facilitators also issue walk-in tickets"),
}
BOUNDS = {name: kind for name, kind in SETTINGS.items() if isinstance(kind, Bound)}
FLAGS = tuple(name for name, kind in SETTINGS.items() if isinstance(kind, Flag))
CLOCK_SETTINGS = tuple(
    name for name, kind in SETTINGS.items() if isinstance(kind, Other) and kind.kind == "clock"
)
REMINDER_HOURS = Bound(1, 168, "Each reminder", N_("Chaque rappel"), "hours_before")
MAX_REMINDERS = 3
# The day in which people expect texts (the hours the default quiet period leaves), and
# how much of it the quiet period must leave for them: less was most likely typed the
# wrong way round ("from 08:00 until 21:00" for "from 21:00 until 08:00").
DAYTIME = (time(8), time(20))
MIN_TEXT_HOURS = 8
# The shortest quiet period worth suggesting in a refusal: the reverse of a period typed
# wrong is suggested only when it would be a night, not a moment (00:00 to 23:59 reversed
# is one minute).
MIN_SUGGESTED_QUIET_HOURS = 6


def check_settings(values: Mapping[str, Any]) -> list[Problem]:
    """What is wrong with a site's settings (all of them, as they would be after the
    change), in plain words: the database's own checks, and what would make no sense."""
    problems = [
        problem
        for name, bound in BOUNDS.items()
        if (problem := bound.problem(name, int(values[name]))) is not None
    ]
    if values["late_arrival_rule"] not in tuple(LateArrivalRule):
        problems.append(
            Problem(
                "late_arrival_rule",
                "A late arrival is placed as a walk-in (walk_in) or with a grace (grace).",
                gettext(
                    "Choisissez où va une personne en retard : comme sans rendez-vous, ou "
                    "avec un délai de grâce."
                ),
            )
        )
    problems += [
        Problem(name, "Say yes or no: true or false.", gettext("Répondez oui ou non."))
        for name in FLAGS
        if not isinstance(values[name], bool)
    ]
    hours = list(values["reminder_hours"])
    if len(hours) > MAX_REMINDERS:
        problems.append(
            Problem(
                "reminder_hours",
                f"Choose at most {MAX_REMINDERS} reminders.",
                ngettext(
                    "Choisissez au plus %(num)d rappel.",
                    "Choisissez au plus %(num)d rappels.",
                    MAX_REMINDERS,
                ),
            )
        )
    elif len(set(hours)) != len(hours):
        problems.append(
            Problem(
                "reminder_hours",
                "Each reminder must be at a different time.",
                gettext("Deux rappels ne peuvent pas être à la même heure."),
            )
        )
    else:
        out_of_range = [REMINDER_HOURS.problem("reminder_hours", hour) for hour in hours]
        problems += [problem for problem in out_of_range if problem is not None][:1]
    quiet = quiet_hours_problem(values["sms_quiet_from"], values["sms_quiet_until"])
    if quiet is not None:
        problems.append(quiet)
    notice, horizon = values["booking_min_notice_minutes"], values["booking_horizon_days"]
    if not problems and notice >= horizon * 24 * 60:
        problems.append(
            Problem(
                "booking_min_notice_minutes",
                "The minimum notice must be shorter than how far ahead people may book.",
                gettext(
                    "Le délai minimum doit être plus court que la période ouverte à la réservation."
                ),
            )
        )
    return problems


def _minute_of_day(at: time) -> int:
    return at.hour * 60 + at.minute


def daytime_minutes_for_texts(quiet_from: time, quiet_until: time) -> int:
    """How many minutes of `DAYTIME` lie outside the quiet period from `quiet_from` until
    `quiet_until`, read as the planner reads it (across midnight when `quiet_from` is the
    later; none when both are the same)."""
    start, end = _minute_of_day(quiet_from), _minute_of_day(quiet_until)

    def quiet(minute: int) -> bool:
        if start > end:
            return minute >= start or minute < end
        return start <= minute < end

    first, last = (_minute_of_day(at) for at in DAYTIME)
    return sum(1 for minute in range(first, last) if not quiet(minute))


def _leaves_the_day(quiet_from: time, quiet_until: time) -> bool:
    return daytime_minutes_for_texts(quiet_from, quiet_until) >= MIN_TEXT_HOURS * 60


def quiet_minutes(quiet_from: time, quiet_until: time) -> int:
    """How long the quiet period from `quiet_from` until `quiet_until` lasts, in minutes
    (across midnight when `quiet_from` is the later)."""
    return (_minute_of_day(quiet_until) - _minute_of_day(quiet_from)) % (24 * 60)


def worth_suggesting(quiet_from: time, quiet_until: time) -> bool:
    """Whether the quiet period from `quiet_from` until `quiet_until` is a sensible one to
    suggest: it leaves the day its texts, and lasts at least `MIN_SUGGESTED_QUIET_HOURS`."""
    long_enough = quiet_minutes(quiet_from, quiet_until) >= MIN_SUGGESTED_QUIET_HOURS * 60
    return long_enough and _leaves_the_day(quiet_from, quiet_until)


def quiet_hours_problem(quiet_from: time, quiet_until: time) -> Problem | None:
    """What is wrong with a quiet period for texts: none at all (the same time twice), or
    one that leaves fewer than `MIN_TEXT_HOURS` of the `DAYTIME` for texts, said with the
    period the other way round when that one is worth suggesting (`worth_suggesting`)."""
    if quiet_from == quiet_until:
        return Problem(
            "sms_quiet_from",
            "The quiet hours for texts must start and end at different times.",
            gettext("La période sans SMS doit commencer et finir à des heures différentes."),
        )
    if _leaves_the_day(quiet_from, quiet_until):
        return None
    day_from, day_until = DAYTIME
    detail = (
        f"The quiet hours for texts, {quiet_from:%H:%M} to {quiet_until:%H:%M}, leave fewer "
        f"than {MIN_TEXT_HOURS} of the hours from {day_from:%H:%M} to {day_until:%H:%M} for "
        "texts."
    )
    text = ngettext(
        "Avec cette période sans SMS, il resterait moins de %(num)d heure entre %(start)s et "
        "%(end)s pour envoyer les SMS.",
        "Avec cette période sans SMS, il resterait moins de %(num)d heures entre %(start)s et "
        "%(end)s pour envoyer les SMS.",
        MIN_TEXT_HOURS,
        start=formats.clock(day_from),
        end=formats.clock(day_until),
    )
    if worth_suggesting(quiet_until, quiet_from):
        detail += f" Did you mean {quiet_until:%H:%M} to {quiet_from:%H:%M}?"
        guess = gettext(
            "Voulez-vous dire de %(start)s à %(end)s ?",
            start=formats.clock(quiet_until),
            end=formats.clock(quiet_from),
        )
        text = f"{text} {guess}"
    return Problem("sms_quiet_from", detail, text)


def settings_of(site: Site) -> dict[str, Any]:
    return {name: getattr(site, name) for name in SETTINGS}


def audit_value(value: Any) -> Any:
    return value.strftime("%H:%M") if isinstance(value, time) else value


# Stations


def check_kind(kind: str) -> None:
    if kind not in STATION_KINDS:
        raise Invalid.one(
            "kind",
            f"A station's kind is one of {', '.join(STATION_KINDS)}.",
            gettext("Choisissez le type de poste : standard ou double écran."),
        )


# Periods of outage or closure


# What the pages say of a period that ends too soon, is over or lasts too long, by the
# kind of period (its English name); each sentence whole, for its words to agree.
PERIOD_REFUSALS = {
    "closure": (
        N_("La fin de la fermeture doit venir après son début."),
        N_("Cette fermeture serait déjà terminée : vérifiez les dates."),
        N_("Une fermeture dure au plus un an."),
    ),
    "outage": (
        N_("La fin de la mise hors service doit venir après son début."),
        N_("Cette mise hors service serait déjà terminée : vérifiez les dates."),
        N_("Une mise hors service dure au plus un an."),
    ),
}
ANY_PERIOD_REFUSALS = (
    N_("La fin de la période doit venir après son début."),
    N_("Cette période serait déjà terminée : vérifiez les dates."),
    N_("Une période dure au plus un an."),
)


def check_period(starts_at: datetime, ends_at: datetime, now: datetime, english: str) -> None:
    """A period that ends after it starts, is not over, and lasts at most a year. `english`
    names the kind of period (a key of PERIOD_REFUSALS: the pages say whole sentences)."""
    backwards, over, too_long = PERIOD_REFUSALS.get(english, ANY_PERIOD_REFUSALS)
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise Invalid.one(
            "starts_at",
            "Give instants with their offset (2026-12-03T09:00:00+01:00).",
            gettext("Indiquez la date et l'heure."),
        )
    if ends_at <= starts_at:
        raise Invalid.one("ends_at", f"The {english} must end after it starts.", gettext(backwards))
    if ends_at <= now:
        raise Invalid.one("ends_at", f"This {english} would already be over.", gettext(over))
    if ends_at - starts_at > LONGEST_PERIOD:
        raise Invalid.one("ends_at", f"A {english} lasts at most a year.", gettext(too_long))


# Opening ranges


Ranges = Sequence[tuple[time, time]]


def check_ranges(ranges: Ranges, field_name: str = "ranges") -> list[Problem]:
    """Opening ranges of one day that hold together: each opens before it closes, none
    overlaps another (the one opening inside another is said wrong), a few at most."""
    if len(ranges) > MAX_RANGES_PER_DAY:
        return [
            Problem(
                field_name,
                f"A day has at most {MAX_RANGES_PER_DAY} opening ranges.",
                ngettext(
                    "Une journée compte au plus %(num)d plage d'ouverture.",
                    "Une journée compte au plus %(num)d plages d'ouverture.",
                    MAX_RANGES_PER_DAY,
                ),
            )
        ]
    for index, (opens, closes) in enumerate(ranges):
        if opens >= closes:
            return [
                Problem(
                    f"{field_name}[{index}]",
                    f"Range {index + 1} must open before it closes ({opens:%H:%M}–{closes:%H:%M}).",
                    gettext(
                        "La plage %(number)d doit ouvrir avant de fermer : elle ouvre à "
                        "%(opens)s et ferme à %(closes)s.",
                        number=index + 1,
                        opens=formats.clock(opens),
                        closes=formats.clock(closes),
                    ),
                )
            ]
    ordered = sorted(enumerate(ranges), key=lambda numbered: numbered[1])
    for (_, (_, closes)), (index, (opens, _)) in pairwise(ordered):
        if opens < closes:
            return [
                Problem(
                    f"{field_name}[{index}]",
                    f"Two ranges overlap ({opens:%H:%M} is before {closes:%H:%M}).",
                    gettext(
                        "Deux plages se chevauchent : l'une ouvre à %(opens)s, avant que "
                        "l'autre ferme à %(closes)s.",
                        opens=formats.clock(opens),
                        closes=formats.clock(closes),
                    ),
                )
            ]
    return []


def range_texts(ranges: Ranges) -> list[str]:
    return [f"{opens:%H:%M}-{closes:%H:%M}" for opens, closes in sorted(ranges)]
