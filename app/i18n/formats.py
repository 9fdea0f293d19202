"""Days, times and durations as people read them, in the current language: "mardi 1er
décembre 2026", "9 h 30", "45 minutes", "1 heure", "1 h 15". Used by the templates (as
filters) and by the messages' data.

A time and an hour-and-minute duration are written with no-break spaces (U+00A0) between
their parts, so that a line never ends between "9 h" and "30"; the catalogs' msgids keep
ordinary spaces, and text messages turn them back into plain ones (`app.notify.sms`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from functools import cache

from babel.dates import get_day_names, get_month_names
from babel.lists import format_list
from babel.numbers import format_decimal

from app.i18n import gettext, language, ngettext

NO_BREAK_SPACE = "\u00a0"


@cache
def _days(lang: str) -> tuple[str, ...]:
    """Monday to Sunday in `lang` ("lundi"…)."""
    names = get_day_names("wide", locale=lang)
    return tuple(str(names[index]) for index in range(7))


@cache
def _months(lang: str) -> tuple[str, ...]:
    """January to December in `lang` ("janvier"…)."""
    names = get_month_names("wide", locale=lang)
    return tuple(str(names[number]) for number in range(1, 13))


def weekday(value: date) -> str:
    """ "mardi"."""
    return _days(language.get())[value.weekday()]


def ordinal(number: int) -> str:
    """The day of a month as written in a date: "1er", "2"."""
    return gettext("1er") if number == 1 else str(number)


def short_day(value: date) -> str:
    """ "mardi 1er décembre"."""
    month = _months(language.get())[value.month - 1]
    return gettext(
        "%(weekday)s %(day)s %(month)s",
        weekday=weekday(value),
        day=ordinal(value.day),
        month=month,
    )


def capitalised(text: str) -> str:
    """`text` with its first letter a capital, the rest as it is ("Mardi 1er décembre",
    "Thursday 3 December"), where str.capitalize would lower the month of English dates."""
    return text[:1].upper() + text[1:]


def day(value: date) -> str:
    """ "mardi 1er décembre 2026"."""
    return gettext("%(day)s %(year)d", day=short_day(value), year=value.year)


def unbroken(text: str) -> str:
    """`text` with its spaces made no-break: "9 h 30" stays on one line."""
    return text.replace(" ", NO_BREAK_SPACE)


def clock(value: datetime | time) -> str:
    """ "9 h 30", in one piece (the local wall-clock time of `value`)."""
    return unbroken(gettext("%(hour)d h %(minute)02d", hour=value.hour, minute=value.minute))


def moment(value: datetime) -> str:
    """ "mardi 1er décembre 2026 à 9 h 30"."""
    return gettext("%(day)s à %(time)s", day=day(value.date()), time=clock(value))


def minutes(total: int) -> str:
    """ "1 minute", "45 minutes", "1 heure", "2 heures", "1 h 15" (this one in one piece)."""
    if total < 60:
        return ngettext("%(num)d minute", "%(num)d minutes", total)
    hours, rest = divmod(total, 60)
    if rest == 0:
        return ngettext("%(num)d heure", "%(num)d heures", hours)
    return unbroken(gettext("%(hours)d h %(minutes)02d", hours=hours, minutes=rest))


def abbreviated(value: date) -> str:
    """ "mar. 1/12": for text messages, where every character counts."""
    return gettext(
        "%(weekday)s. %(day)d/%(month)d",
        weekday=weekday(value)[:3],
        day=value.day,
        month=value.month,
    )


def weekday_name(index: int) -> str:
    """ "lundi" for 0, as Python numbers the days of the week."""
    return _days(language.get())[index]


def month_year(value: date) -> str:
    """ "décembre 2026"."""
    month = _months(language.get())[value.month - 1]
    return gettext("%(month)s %(year)d", month=month, year=value.year)


def kilometres(value: float) -> str:
    """A distance to one decimal: "1,2" in French, "1.2" in English."""
    return format_decimal(round(value, 1), format="0.0", locale=language.get())


def semicolons(items: Sequence[str]) -> str:
    """ "a ; b ; c" in French, "a; b; c" in English: items that may hold commas."""
    return gettext(" ; ").join(items)


def listed(items: Sequence[str]) -> str:
    """ "a, b et c" (in English "a, b and c")."""
    return format_list(list(items), locale=language.get()) if items else ""


def hours_before(hours: Sequence[int]) -> str:
    """When reminders go: "24 heures et 2 heures avant", "1 heure avant"; "" for none."""
    said = [ngettext("%(num)d heure", "%(num)d heures", hour) for hour in sorted(set(hours))[::-1]]
    return gettext("%(hours)s avant", hours=listed(said)) if said else ""
