"""The calendar file of an appointment: the one adapter around the `ics` package.

ics 0.7.3 writes DTSTAMP only from `created`, knows no SEQUENCE, puts METHOD after the
events (RFC 5545 wants the calendar's properties first), writes a person's name in a
parameter unquoted, and folds no line: all of that is done here and nowhere else.

Two uses, one event:

- the file people download from their private page is a plain calendar (no METHOD), to
  import;
- the file an email carries is an iTIP message (RFC 5546): `METHOD:REQUEST` while the
  appointment stands (with the mairie as ORGANIZER and the person as ATTENDEE, who
  booked it and so has accepted it), `METHOD:CANCEL` once it is cancelled or called off,
  with the same UID and a higher SEQUENCE, so that Outlook, Gmail and the others update
  or remove the event they already hold. Its MIME part says `method=` and
  `charset=utf-8` (`app/notify/transports/smtp.py`).

SEQUENCE is the appointment's version: it goes up whenever what the event says changes
(its time, its station, its status), and only then.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from enum import StrEnum

from ics import Calendar, Event
from ics.alarm import DisplayAlarm
from ics.grammar.parse import ContentLine

from app.booking.models import RELEASED, Appointment
from app.booking.schemas import manage_url
from app.i18n import gettext

PRODUCT_ID = "-//Ville de Paris//guichet//FR"
MEDIA_TYPE = "text/calendar"
LINE_OCTETS = 75  # RFC 5545 3.1: longer lines are folded


class Method(StrEnum):
    """iTIP methods (RFC 5546) this service sends."""

    REQUEST = "REQUEST"  # the appointment, or what changed in it
    CANCEL = "CANCEL"  # it will not take place


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
    attendee: str = ""  # the person's email address, when they gave one


@dataclass(frozen=True)
class Invitation:
    """The calendar file an email carries, and how its MIME part must be labelled."""

    text: str
    method: Method

    @property
    def media_type(self) -> str:
        return f"{MEDIA_TYPE}; charset=utf-8; method={self.method.value}"


def method_of(entry: CalendarEntry) -> Method:
    return Method.CANCEL if entry.cancelled else Method.REQUEST


def _without_controls(text: str) -> str:
    """No line breaks nor other control characters: they would end the content line."""
    return "".join(c for c in text if c.isprintable())


def _parameter(text: str) -> str:
    """A parameter value, quoted (RFC 5545 3.2): a double quote cannot be in it at all."""
    return '"' + _without_controls(text).replace('"', "") + '"'


def _address(address: str) -> str:
    return "mailto:" + _without_controls(address).strip()


def _fold(line: str) -> str:
    """One content line in lines of at most 75 octets, never cutting a UTF-8 character:
    each continuation starts with a space (RFC 5545 3.1)."""
    if len(line.encode()) <= LINE_OCTETS:
        return line
    pieces: list[str] = []
    piece: list[str] = []
    size, limit = 0, LINE_OCTETS
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            pieces.append("".join(piece))
            piece, size, limit = [], 0, LINE_OCTETS - 1  # the leading space counts
        piece.append(char)
        size += width
    pieces.append("".join(piece))
    return "\r\n ".join(pieces)


def calendar_file(entry: CalendarEntry, method: Method | None = None, organizer: str = "") -> str:
    """A VCALENDAR with one VEVENT, with an alarm the day before and two hours before
    (none once cancelled). With a `method`, an iTIP message from `organizer` (an address,
    with or without a name: `Mairie de Paris <ne-pas-repondre@…>`) to the attendee."""
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
    name, address = parseaddr(organizer)  # as the email's From is written from it
    if method is not None and "@" in address:
        # Built here rather than with ics's Organizer and Attendee, which leave a name
        # unquoted (a comma in it would cut the line in two) and crash on RSVP=TRUE.
        params = {"CN": [_parameter(name)]} if name else {}
        event.extra.append(ContentLine("ORGANIZER", params=params, value=_address(address)))
    if method is not None and entry.attendee:
        params = {"ROLE": ["REQ-PARTICIPANT"]}
        if not entry.cancelled:  # they chose the slot themselves: no answer is awaited
            params.update(PARTSTAT=["ACCEPTED"], RSVP=["FALSE"])
        event.extra.append(ContentLine("ATTENDEE", params=params, value=_address(entry.attendee)))
    calendar = Calendar(events=[event], creator=PRODUCT_ID)
    with warnings.catch_warnings():
        # serialize() goes through str(component), which warns of its future meaning.
        warnings.simplefilter("ignore", FutureWarning)
        text: str = calendar.serialize()
    lines = text.split("\r\n")
    if method is not None:
        # The calendar's properties come before its components (RFC 5545 3.4); ics
        # would write METHOD after the event.
        lines.insert(lines.index("BEGIN:VEVENT"), f"METHOD:{method.value}")
    return "".join(f"{_fold(line)}\r\n" for line in lines if line)


def invitation(entry: CalendarEntry, organizer: str) -> Invitation:
    """The iTIP message an email carries: REQUEST, or CANCEL once it is off."""
    method = method_of(entry)
    return Invitation(calendar_file(entry, method, organizer), method)


def calendar_entry(appointment: Appointment, base_url: str) -> CalendarEntry:
    """The appointment as a calendar event, in the language being rendered (its sentences,
    the démarche's name and documents)."""
    documents = "\n".join(f"- {item}" for item in appointment.service.to_bring)
    link = manage_url(base_url, appointment.token)
    return CalendarEntry(
        uid=f"{appointment.reference}@guichet",
        sequence=appointment.sequence,
        start=appointment.starts_at,
        end=appointment.ends_at,
        summary=gettext("Facilitation numérique : %(service)s", service=appointment.service.label),
        location=f"{appointment.site.name}, {appointment.site.address}",
        description="\n".join(
            (
                gettext(
                    "Rendez-vous %(reference)s (%(station)s).",
                    reference=appointment.reference,
                    station=appointment.station.name,
                ),
                gettext("À apporter :"),
                documents,
                gettext("Pour annuler ou déplacer ce rendez-vous : %(link)s", link=link),
            )
        ),
        url=link,
        cancelled=appointment.status in RELEASED,
        stamp=appointment.updated_at,
        attendee=appointment.email or "",
    )
