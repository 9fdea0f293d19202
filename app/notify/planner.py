"""Which messages an appointment or a ticket needs, and when: pure, `now` passed in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

EMAIL, SMS = "email", "sms"


@dataclass(frozen=True, slots=True)
class Reach:
    """How an usager may be reached, and what they agreed to receive."""

    email: bool
    phone: bool
    reminders_by_email: bool
    reminders_by_sms: bool


@dataclass(frozen=True, slots=True)
class Rules:
    """A site's message rules."""

    reminder_hours: Sequence[int] = (24, 2)
    quiet_from: time = time(20, 0)
    quiet_until: time = time(8, 0)


@dataclass(frozen=True, slots=True)
class Planned:
    kind: str
    channel: str
    send_after: datetime


def at_once_channels(reach: Reach) -> list[str]:
    """Where a confirmation, a change or a cancellation goes: email when there is one,
    else a text message."""
    if reach.email:
        return [EMAIL]
    return [SMS] if reach.phone else []


def outside_quiet_hours(moment: datetime, rules: Rules, tz: ZoneInfo) -> datetime:
    """`moment`, or the end of the site's quiet hours if it falls inside them (texts are
    not sent at night)."""
    local = moment.astimezone(tz)
    clock = local.timetz().replace(tzinfo=None)
    overnight = rules.quiet_from > rules.quiet_until
    if overnight:
        quiet = clock >= rules.quiet_from or clock < rules.quiet_until
    else:
        quiet = rules.quiet_from <= clock < rules.quiet_until
    if not quiet:
        return moment
    day = local.date()
    if overnight and clock >= rules.quiet_from:
        day += timedelta(days=1)
    wake = datetime.combine(day, rules.quiet_until, tzinfo=tz)
    if wake.timestamp() < moment.timestamp():
        # The window ends in the hour the clocks repeat, and `moment` is in its second
        # pass: the end is the second time the clock reads `quiet_until`.
        wake = wake.replace(fold=1)
    return wake.astimezone(moment.tzinfo)


def for_booking(
    starts_at: datetime, reach: Reach, rules: Rules, now: datetime, tz: ZoneInfo
) -> list[Planned]:
    """A confirmation now (a text waits for the morning), and the reminders still ahead,
    each channel as agreed."""
    return for_change("confirmation", reach, rules, now, tz) + reminders(
        starts_at, reach, rules, now, tz
    )


def reminders(
    starts_at: datetime, reach: Reach, rules: Rules, now: datetime, tz: ZoneInfo
) -> list[Planned]:
    """The reminders of an appointment still worth sending: none whose moment has passed,
    none that quiet hours would push past the start."""
    planned = []
    for hours in sorted(set(rules.reminder_hours), reverse=True):
        moment = starts_at - timedelta(hours=hours)
        for channel, wanted in ((EMAIL, reach.email and reach.reminders_by_email),
                                (SMS, reach.phone and reach.reminders_by_sms)):  # fmt: skip
            if not wanted:
                continue
            when = outside_quiet_hours(moment, rules, tz) if channel == SMS else moment
            if now < when < starts_at:
                planned.append(Planned(f"reminder_{hours}h", channel, when))
    return planned


def for_change(kind: str, reach: Reach, rules: Rules, now: datetime, tz: ZoneInfo) -> list[Planned]:
    """A message about a change (moved, cancelled), now — a text waits for the morning."""
    return [
        Planned(kind, channel, outside_quiet_hours(now, rules, tz) if channel == SMS else now)
        for channel in at_once_channels(reach)
    ]
