"""Domain events: what a command did, told to whoever must act on it in the same
transaction (the messages, the audit log, the live screens, the webhooks' deliveries).

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
from typing import Any, ClassVar, TypeVar, dataclass_transform

from sqlalchemy.ext.asyncio import AsyncSession

from app.sites.models import Service, Site

# The facts the events carry


@dataclass(frozen=True, kw_only=True)
class AppointmentFacts:
    """An appointment as its messages and webhooks see it, as the event leaves it.
    `mobile` is its phone when that phone can receive texts (a French mobile number), else
    None."""

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
    ends_at: datetime
    station_id: int
    status: str
    channel: str


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


@dataclass_transform(kw_only_default=True, frozen_default=True)
@dataclass(frozen=True, kw_only=True)
class Event:
    """What happened `at`. Each subclass is a frozen, keyword-only dataclass too, and a
    kind of event heard by its subscribers names itself: `class X(Event, name="x.done")`."""

    name: ClassVar[str] = ""
    at: datetime

    def __init_subclass__(cls, name: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if name:
            cls.name = name
        dataclass(frozen=True, kw_only=True)(cls)


class AppointmentEvent(Event):
    appointment: AppointmentFacts
    site: Site
    service: Service


class AppointmentBooked(AppointmentEvent, name="appointment.booked"):
    """Booked online (`booked_by` None) or by the agent `booked_by`, through `channel`; by
    the partner `partner_id` when a partner referred the person (`channel` "partner")."""

    booked_by: int | None = None
    channel: str = "online"
    partner_id: int | None = None


class AppointmentMoved(AppointmentEvent, name="appointment.moved"):
    """Another time, or another station, chosen by the person or by the desk (or an
    earlier slot offered to them); `freed_from`: the start it left; `by_agent`: the agent
    who moved it by its link, if one did."""

    freed_from: datetime | None = None
    by_agent: int | None = None


class OfferMade(AppointmentEvent, name="offer.made"):
    """A freed slot, `start` to `end`, is held for the appointment's person until
    `expires_at`; they are told once, when a message can be read (`readable_at`: at night,
    texts wait for the morning)."""

    offer_id: int
    start: datetime
    end: datetime
    expires_at: datetime
    readable_at: datetime


class AppointmentStationChanged(AppointmentEvent, name="appointment.station_changed"):
    """The same time at another station, theirs being out of service."""

    station_name: str


class AppointmentCalledOff(AppointmentEvent, name="appointment.called_off"):
    """The mairie cannot receive it (closed then, no station free); `offered` are the
    nearest free slots' starts, for the person to take one."""

    reason: str
    offered: tuple[datetime, ...] = ()


class AppointmentCancelled(AppointmentEvent, name="appointment.cancelled"):
    """Cancelled by the person, or released by a manager; `by_agent`: the agent who
    cancelled it by its link, if one did."""

    by_agent: int | None = None


class AppointmentRemindersAdded(AppointmentEvent, name="appointment.reminders_added"):
    """The site now reminds people at these `hours` before their appointment."""

    hours: tuple[int, ...]


class AppointmentWithdrawn(Event, name="appointment.withdrawn"):
    """Nothing pending about this appointment is to be sent any more, and it is not told
    (an appointment released in bulk after its first ones)."""

    appointment_id: int


class AppointmentRemindersStopped(Event, name="appointment.reminders_stopped"):
    """Its person wants no more reminders about it."""

    appointment_id: int


class SiteRemindersDropped(Event, name="site.reminders_dropped"):
    """The site no longer reminds people at these `hours` before."""

    site_id: int
    hours: tuple[int, ...]


class TicketEvent(Event):
    ticket: TicketFacts
    site: Site
    service_name: str


class TicketTurnNear(TicketEvent, name="ticket.turn_near"):
    """The ticket is now among the next few to be called."""


class TicketQueueClosed(TicketEvent, name="ticket.queue_closed"):
    """The mairie closed before this ticket's turn."""


class TicketJoinedRemotely(TicketEvent, name="ticket.joined_remotely"):
    """A ticket taken from a phone: its link, with the `confirmation` code that proves
    the number is its holder's."""

    confirmation: str


class TicketLeaveNow(TicketEvent, name="ticket.leave_now"):
    """The estimate of a ticket taken from a phone came down to its holder's travel time."""


class TicketHeld(TicketEvent, name="ticket.held"):
    """Its turn came while its holder was not there: kept for them `until`."""

    until: datetime


class TicketNotArrived(TicketEvent, name="ticket.not_arrived"):
    """Held past its rejoin window, its holder never came: closed."""


class VisitOver(TicketEvent, name="visit.over"):
    """The visit is over: what was done, its outcome, and the request sent on, if any."""

    done: tuple[str, ...]
    outcome: str
    escalation: dict[str, str] | None


class EscalationMoved(TicketEvent, name="escalation.moved"):
    """A request sent on took a step; `message` is the mairie's or the department's
    words to the person."""

    escalation: EscalationFacts
    message: str
    by_department: bool = False


class EscalationSent(TicketEvent, name="escalation.sent"):
    """A request is sent on to its department, which answers behind `department_token`."""

    escalation: EscalationFacts
    department_token: str


class QueueMoved(Event, name="queue.moved"):
    """A ticket of the site's queue moved (`action`: issued, called, started…): the
    queue's `seq`-th change, by the agent `agent_id` if one did it. The lobby screens
    re-read the queue once it commits."""

    site_id: int
    seq: int
    action: str
    ticket_id: int
    ticket_number: str
    station_id: int | None
    agent_id: int | None
    forced: bool = False  # issued while the mairie was closed, with a reason


class ScreenRevoked(Event, name="screen.revoked"):
    """A lobby screen's key no longer works: its display is let go once it commits."""

    site_id: int
    screen_id: int
    label: str
    agent_id: int | None


class Administered(Event, name="admin.changed"):
    """An agent changed how a mairie or the City's service runs: a mairie's settings,
    hours, stations or screens, the catalog, the departments, a staff account, a day's
    bookings released. `action` on `target`, told at each of `site_ids` (none: the
    City's); `details` hold ids, codes and settings, never a person's data."""

    action: str
    agent_id: int | None
    target: str
    site_ids: tuple[int, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)


class LoginTried(Event, name="auth.tried"):
    """Someone tried to log in to a staff account (`agent_id`, when the email is one):
    `action` says how it went (auth.login, auth.login_failed, auth.login_refused,
    auth.slowed); `details` hold the way in and counts, never the email typed."""

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
