"""The calendar file of an appointment: the one adapter around the `ics` package.

ics 0.7.3 writes DTSTAMP only from `created` and knows no SEQUENCE, so both
are set here and nowhere else.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

from ics import Calendar, Event
from ics.alarm import DisplayAlarm
from ics.grammar.parse import ContentLine

from app.booking.models import Appointment
from app.booking.schemas import manage_url

PRODUCT_ID = "-//Ville de Paris//guichet//FR"


@dataclass(frozen=True)
class CalendarEntry:
    uid: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    location: str
    description: str
    url: str
    cancelled: bool
    stamp: datetime


def calendar_file(entry: CalendarEntry) -> str:
    """A VCALENDAR with one VEVENT, with an alarm the day before and two hours before."""
    event = Event(
        name=entry.summary,
        begin=entry.start,
        end=entry.end,
        uid=entry.uid,
        description=entry.description,
        location=entry.location,
        url=entry.url,
        created=entry.stamp,
        last_modified=entry.stamp,
        status="CANCELLED" if entry.cancelled else "CONFIRMED",
        alarms=[]
        if entry.cancelled
        else [
            DisplayAlarm(trigger=timedelta(days=-1), display_text=entry.summary),
            DisplayAlarm(trigger=timedelta(hours=-2), display_text=entry.summary),
        ],
    )
    event.extra.append(ContentLine("SEQUENCE", value=str(entry.sequence)))
    calendar = Calendar(events=[event], creator=PRODUCT_ID)
    with warnings.catch_warnings():
        # serialize() goes through str(component), which warns of its future meaning.
        warnings.simplefilter("ignore", FutureWarning)
        text: str = calendar.serialize()
    return text


def calendar_entry(appointment: Appointment, base_url: str) -> CalendarEntry:
    documents = "\n".join(f"- {item}" for item in appointment.service.documents)
    link = manage_url(base_url, appointment.token)
    return CalendarEntry(
        uid=f"{appointment.reference}@guichet",
        sequence=appointment.sequence,
        start=appointment.starts_at,
        end=appointment.ends_at,
        summary=f"Facilitation numérique : {appointment.service.name}",
        location=f"{appointment.site.name}, {appointment.site.address}",
        description=(
            f"Rendez-vous {appointment.reference} ({appointment.station.name}).\n"
            f"À apporter :\n{documents}\n"
            f"Pour annuler ou déplacer ce rendez-vous : {link}"
        ),
        url=link,
        cancelled=appointment.status == "cancelled",
        stamp=appointment.updated_at,
    )
