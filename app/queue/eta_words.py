"""How a waiting estimate reads on the tracking page. The estimate is a range of minutes
(`views.TicketView.eta_minutes`, optimistic to pessimistic); people read one plain phrase,
chosen here and written by the template (`_tracking_state.html`) in the current language:

- nothing to wait for (at most a minute): "dans un instant" (`SOON`);
- a low end of 0: "moins de 25 minutes" (`UNDER`, the high end; past an hour, rounded
  up to the half hour: "moins de 1 h 30", never "moins de 1 h 01");
- two equal ends, or a wait counted in hours (past 90 minutes): "environ 20 minutes",
  "environ 2 heures", "environ 1 h 30" (`ABOUT`, the middle rounded to half an hour);
- otherwise "entre 12 et 27 minutes" (`BETWEEN`);
- a wait beyond four hours says no more than "plus de 4 heures" (`LONG`): past that the
  figure means nothing today (the mairie closes first), and "moins de 131 heures" would
  say even less (`UNKNOWN`: no estimate shown).

Pure: no clock, no database, no words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

IN_HOURS_PAST = 90  # minutes: beyond, an estimate is said in hours and half hours
LONG_PAST = 240  # minutes: beyond, "more than four hours"
SOON_WITHIN = 1  # minutes: the call is a matter of moments
HOUR = 60
HALF_HOUR = 30


class EtaKind(StrEnum):
    SOON = "soon"
    UNDER = "under"
    ABOUT = "about"
    BETWEEN = "between"
    LONG = "long"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class EtaWords:
    """The phrase an estimate calls for: its kind and the minutes it says (`minutes`; and
    `low` for BETWEEN, which says `low` to `minutes`)."""

    kind: EtaKind
    minutes: int = 0
    low: int = 0


def _half_hours(minutes: float, rounding: str) -> int:
    """`minutes` rounded to half hours ("up" or "nearest"), at least an hour."""
    halves = minutes / HALF_HOUR
    rounded = math.ceil(halves) if rounding == "up" else math.floor(halves + 0.5)
    return max(2, rounded) * HALF_HOUR


def eta_words(eta: tuple[int, int] | None) -> EtaWords | None:
    """The phrase of the estimate `eta` (low, high minutes); None when there is none."""
    if eta is None:
        return None
    low, high = sorted((max(0, int(eta[0])), max(0, int(eta[1]))))
    if high <= SOON_WITHIN:
        return EtaWords(EtaKind.SOON)
    if low == 0:
        if high > LONG_PAST:
            return EtaWords(EtaKind.UNKNOWN)
        if high > HOUR:
            # Past an hour, a bound to the minute reads oddly ("moins de 1 h 01"): the
            # next half hour says the same and reads at a glance ("moins de 1 h 30").
            return EtaWords(EtaKind.UNDER, _half_hours(high, "up"))
        return EtaWords(EtaKind.UNDER, high)
    middle = (low + high) / 2
    if low > LONG_PAST or middle > LONG_PAST:
        return EtaWords(EtaKind.LONG, LONG_PAST)
    if high > IN_HOURS_PAST:
        return EtaWords(EtaKind.ABOUT, _half_hours(middle, "nearest"))
    if low == high:
        return EtaWords(EtaKind.ABOUT, high)
    return EtaWords(EtaKind.BETWEEN, high, low)
