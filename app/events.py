"""Domain events: what a command did, told to whoever must act on it in the same
transaction (the messages, the audit log, the live screens).

A command records an event on its session (`await record(session, event)`); each
subscriber of that event's type runs at once, on the same session, so what it writes (a
message in the outbox, an audit line, a notice for the live screens) commits or rolls
back with the change itself. Events are plain data: the facts a subscriber needs, copied from
the models of the domain that records them, so that a subscriber (the messages, in
`app/notify`) knows events, not the other domains' models.

Subscribers are listed in `app/subscribers.py` and loaded on the first event, so that a
process hears every event whatever modules it happened to import.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.sites.models import Service, Site

# The facts the events carry


@dataclass(frozen=True, kw_only=True)
class AppointmentFacts:
    """An appointment as its messages see it. `mobile` is its phone when that phone can
    receive texts (a French mobile number), else None."""

    id: int
    sequence: int
    reference: str
    token: str
    name: str
    email: str | None
    mobile: str | None
    reminders_by_email: bool
    reminders_by_sms: bool
    starts_at: datetime
    station_id: int


@dataclass(frozen=True, kw_only=True)
class TicketFacts:
    """A ticket as its messages see it: `mobile` is the number its holder left at the
    desk, if it receives texts; `email` and `phone` are where to write to the person
    behind it afterwards (their appointment's email, else a mobile number)."""

    id: int
    number: str
    token: str
    mobile: str | None
    email: str | None
    phone: str | None


@dataclass(frozen=True, kw_only=True)
class EscalationFacts:
    """A request sent on to an expert department, as its messages see it."""

    id: int
    reference: str
    status: str
    department: str
    department_email: str | None
    answer_days: int
    created_at: datetime


# The events


@dataclass(frozen=True, kw_only=True)
class Event:
    name: ClassVar[str] = ""
    at: datetime


@dataclass(frozen=True, kw_only=True)
class AppointmentEvent(Event):
    appointment: AppointmentFacts
    site: Site
    service: Service


@dataclass(frozen=True, kw_only=True)
class AppointmentBooked(AppointmentEvent):
    """Booked online (`booked_by` None) or by the agent `booked_by`, through `channel`."""

    name: ClassVar[str] = "appointment.booked"
    booked_by: int | None = None
    channel: str = "online"


@dataclass(frozen=True, kw_only=True)
class AppointmentMoved(AppointmentEvent):
    """Another time, or another station, chosen by the person or by the desk."""

    name: ClassVar[str] = "appointment.moved"


@dataclass(frozen=True, kw_only=True)
class AppointmentStationChanged(AppointmentEvent):
    """The same time at another station, theirs being out of service."""

    name: ClassVar[str] = "appointment.station_changed"
    station_name: str


@dataclass(frozen=True, kw_only=True)
class AppointmentCalledOff(AppointmentEvent):
    """The mairie cannot receive it (closed then, no station free); `offered` are the
    nearest free slots' starts, for the person to take one."""

    name: ClassVar[str] = "appointment.called_off"
    reason: str
    offered: tuple[datetime, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AppointmentCancelled(AppointmentEvent):
    name: ClassVar[str] = "appointment.cancelled"


@dataclass(frozen=True, kw_only=True)
class AppointmentRemindersAdded(AppointmentEvent):
    """The site now reminds people at these `hours` before their appointment."""

    name: ClassVar[str] = "appointment.reminders_added"
    hours: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class AppointmentWithdrawn(Event):
    """Nothing pending about this appointment is to be sent any more, and it is not told
    (an appointment released in bulk after its first ones)."""

    name: ClassVar[str] = "appointment.withdrawn"
    appointment_id: int


@dataclass(frozen=True, kw_only=True)
class AppointmentRemindersStopped(Event):
    """Its person wants no more reminders about it."""

    name: ClassVar[str] = "appointment.reminders_stopped"
    appointment_id: int


@dataclass(frozen=True, kw_only=True)
class SiteRemindersDropped(Event):
    """The site no longer reminds people at these `hours` before."""

    name: ClassVar[str] = "site.reminders_dropped"
    site_id: int
    hours: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class TicketEvent(Event):
    ticket: TicketFacts
    site: Site
    service_name: str


@dataclass(frozen=True, kw_only=True)
class TicketTurnNear(TicketEvent):
    name: ClassVar[str] = "ticket.turn_near"


@dataclass(frozen=True, kw_only=True)
class TicketQueueClosed(TicketEvent):
    """The mairie closed before this ticket's turn."""

    name: ClassVar[str] = "ticket.queue_closed"


@dataclass(frozen=True, kw_only=True)
class VisitOver(TicketEvent):
    """The visit is over: what was done, its outcome, and the request sent on, if any."""

    name: ClassVar[str] = "visit.over"
    done: tuple[str, ...]
    outcome: str
    escalation: dict[str, str] | None


@dataclass(frozen=True, kw_only=True)
class EscalationMoved(TicketEvent):
    """A request sent on took a step; `message` is the mairie's or the department's
    words to the person."""

    name: ClassVar[str] = "escalation.moved"
    escalation: EscalationFacts
    message: str
    by_department: bool = False


@dataclass(frozen=True, kw_only=True)
class EscalationSent(TicketEvent):
    """A request is sent on to its department, which answers behind `department_token`."""

    name: ClassVar[str] = "escalation.sent"
    escalation: EscalationFacts
    department_token: str


@dataclass(frozen=True, kw_only=True)
class QueueMoved(Event):
    """A ticket of the site's queue moved (`action`: issued, called, started…): the
    queue's `seq`-th change, by the agent `agent_id` if one did it. The lobby screens
    re-read the queue once it commits."""

    name: ClassVar[str] = "queue.moved"
    site_id: int
    seq: int
    action: str
    ticket_id: int
    ticket_number: str
    station_id: int | None
    agent_id: int | None
    forced: bool = False  # issued while the mairie was closed, with a reason


@dataclass(frozen=True, kw_only=True)
class ScreenRevoked(Event):
    """A lobby screen's key no longer works: its display is let go once it commits."""

    name: ClassVar[str] = "screen.revoked"
    site_id: int
    screen_id: int
    label: str
    agent_id: int | None


@dataclass(frozen=True, kw_only=True)
class Administered(Event):
    """An agent changed how a mairie or the City's service runs: a mairie's settings,
    hours, stations or screens, the catalog, the departments, a staff account, a day's
    bookings released. `action` on `target`, told at each of `site_ids` (none: the
    City's); `details` hold ids, codes and settings, never a person's data."""

    name: ClassVar[str] = "admin.changed"
    action: str
    agent_id: int | None
    target: str
    site_ids: tuple[int, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class LoginTried(Event):
    """Someone tried to log in to a staff account (`agent_id`, when the email is one):
    `action` says how it went (auth.login, auth.login_failed, auth.login_refused,
    auth.slowed); `details` hold the way in and counts, never the email typed."""

    name: ClassVar[str] = "auth.tried"
    action: str
    agent_id: int | None
    details: Mapping[str, Any] = field(default_factory=dict)


# Recording and hearing them

E = TypeVar("E", bound=Event)
Subscriber = Callable[[AsyncSession, Any], Awaitable[None]]


@dataclass
class Subscribers:
    by_type: dict[type[Event], list[Subscriber]] = field(default_factory=dict)
    loaded: bool = False

    def add(self, event_type: type[Event], subscriber: Subscriber) -> None:
        self.by_type.setdefault(event_type, []).append(subscriber)

    def of(self, event: Event) -> list[Subscriber]:
        if not self.loaded:
            load_subscribers()
        return [
            subscriber
            for event_type in type(event).__mro__
            for subscriber in self.by_type.get(event_type, [])
        ]


SUBSCRIBERS = Subscribers()


Hearing = Callable[[AsyncSession, E], Awaitable[None]]


def subscriber(*event_types: type[Event]) -> Callable[[Hearing[E]], Hearing[E]]:
    """Make the decorated coroutine hear events of `event_types` (and of their subclasses)."""

    def register(function: Hearing[E]) -> Hearing[E]:
        for event_type in event_types:
            SUBSCRIBERS.add(event_type, function)
        return function

    return register


def load_subscribers() -> None:
    """Import the modules that subscribe (they register on import), once per process."""
    if not SUBSCRIBERS.loaded:
        SUBSCRIBERS.loaded = True
        importlib.import_module("app.subscribers")


async def record(session: AsyncSession, event: Event) -> None:
    """Tell `event` to its subscribers, now, in the session's transaction."""
    for hear in SUBSCRIBERS.of(event):
        await hear(session, event)


async def administered(
    session: AsyncSession,
    agent_id: int | None,
    at: datetime,
    action: str,
    target: str,
    site_ids: Iterable[int] = (),
    /,
    **details: Any,
) -> None:
    """Tell that the agent `agent_id` changed how a mairie or the City's service runs."""
    changed = Administered(
        at=at,
        action=action,
        agent_id=agent_id,
        target=target,
        site_ids=tuple(site_ids),
        details=details,
    )
    await record(session, changed)
