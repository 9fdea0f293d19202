"""What each domain event means for the messages: which to write to the outbox, which
pending ones give way. Heard in the transaction of the change (see `app/events.py`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app import i18n
from app.events import (
    AppointmentBooked,
    AppointmentCalledOff,
    AppointmentCancelled,
    AppointmentEvent,
    AppointmentMoved,
    AppointmentRemindersAdded,
    AppointmentRemindersStopped,
    AppointmentStationChanged,
    AppointmentWithdrawn,
    EscalationMoved,
    EscalationSent,
    OfferMade,
    SiteRemindersDropped,
    TicketEvent,
    TicketHeld,
    TicketJoinedRemotely,
    TicketLeaveNow,
    TicketNotArrived,
    TicketQueueClosed,
    TicketTurnNear,
    VisitOver,
    subscriber,
)
from app.i18n import formats
from app.i18n.texts import ESCALATION_STATUSES, label
from app.notify import outbox, planner
from app.notify.planner import EMAIL, Planned, Reach, Rules
from app.partners.queries import referrer

FOLLOW_UP_AFTER = timedelta(minutes=30)


def _terms(
    event: AppointmentEvent, hours: tuple[int, ...] | None = None
) -> tuple[Reach, Rules, ZoneInfo]:
    """How the appointment's person can be reached, the site's rules for messages (with
    these reminder `hours`, if given) and its time zone."""
    site = event.site
    return (
        outbox.reach_of(event.appointment),
        outbox.rules_of(site, hours),
        ZoneInfo(site.timezone),
    )


async def _write(
    session: AsyncSession,
    event: AppointmentEvent,
    plans: list[Planned],
    *,
    variant: str = "",
    **extra: Any,
) -> None:
    await outbox.write_for_appointment(
        session,
        event.appointment,
        event.site,
        event.service,
        plans,
        event.at,
        variant=variant,
        **extra,
    )


@subscriber(AppointmentBooked)
async def booked(session: AsyncSession, event: AppointmentBooked) -> None:
    """The confirmation, and the reminders still ahead."""
    reach, rules, tz = _terms(event)
    plans = planner.for_booking(event.appointment.starts_at, reach, rules, event.at, tz)
    await _write(session, event, plans)


@subscriber(AppointmentBooked)
async def copy_to_partner(session: AsyncSession, event: AppointmentBooked) -> None:
    """The partner who referred the person and booked for them gets a copy of the
    confirmation: who, when, where and the reference; never the person's private link,
    email or phone. In French, the partners' language (`render.TO_PARTNERS`)."""
    if event.partner_id is None:
        return
    partner = await referrer(session, event.partner_id)
    if partner is None:
        return
    appointment, site = event.appointment, event.site
    start = appointment.starts_at.astimezone(ZoneInfo(site.timezone))
    with i18n.speaking(i18n.DEFAULT_LANGUAGE):
        when = formats.moment(start)
    data = {
        "sequence": appointment.sequence,
        "reference": appointment.reference,
        "name": appointment.name,
        "site": site.name,
        "address": site.address,
        "service": event.service.name,
        "when": when,
        "partner": partner.name,
    }
    planned = Planned("partner_copy", EMAIL, event.at)
    key = f"appointment:{appointment.id}:{appointment.sequence}:partner_copy:email"
    message = outbox.Message(planned, key, site.id, partner.email, data, appointment.id)
    await outbox.write(session, message, now=event.at)


@subscriber(AppointmentMoved)
async def moved(session: AsyncSession, event: AppointmentMoved) -> None:
    """What was pending for the old time is cancelled; the change is told and the
    reminders planned again for the new time."""
    await _told_again(session, event, "moved")


@subscriber(AppointmentStationChanged)
async def station_changed(session: AsyncSession, event: AppointmentStationChanged) -> None:
    """Same time, another station (theirs is out of service): told once, with the calendar
    file's new version. The appointment took a new version (its calendar file names the
    station), so what was pending for the old one gives way and its reminders are planned
    again; the key names the new station, and only the latest change is sent."""
    await _told_again(
        session,
        event,
        "station_changed",
        variant=f":{event.appointment.station_id}",
        station=event.station_name,
        station_id=event.appointment.station_id,
    )


async def _told_again(
    session: AsyncSession,
    event: AppointmentMoved | AppointmentStationChanged,
    kind: str,
    *,
    variant: str = "",
    **extra: object,
) -> None:
    await outbox.cancel_pending(session, appointment_id=event.appointment.id)
    reach, rules, tz = _terms(event)
    plans = planner.for_change(kind, reach, rules, event.at, tz) + planner.reminders(
        event.appointment.starts_at, reach, rules, event.at, tz
    )
    await _write(session, event, plans, variant=variant, **extra)


@subscriber(AppointmentCalledOff)
async def cannot_take_place(session: AsyncSession, event: AppointmentCalledOff) -> None:
    """The mairie called the appointment off (closed then, no station free): nothing
    pending is sent any more (reminders included), and the person is told once per version
    of the appointment, with the nearest free slots offered and their link to take one."""
    await outbox.cancel_pending(session, appointment_id=event.appointment.id)
    reach, rules, tz = _terms(event)
    plans = planner.for_change("cannot_take_place", reach, rules, event.at, tz)
    slots = [
        {
            "start": start.astimezone(tz).isoformat(),
            "when": formats.moment(start.astimezone(tz)),
            "short": f"{formats.abbreviated(start.astimezone(tz).date())} "
            f"{formats.clock(start.astimezone(tz))}",
        }
        for start in event.offered
    ]
    await _write(session, event, plans, reason=event.reason, offered=slots)


@subscriber(AppointmentCancelled)
async def cancelled(session: AsyncSession, event: AppointmentCancelled) -> None:
    """Nothing more about this appointment, but that it is cancelled."""
    await outbox.cancel_pending(session, appointment_id=event.appointment.id)
    reach, rules, tz = _terms(event)
    await _write(session, event, planner.for_change("cancelled", reach, rules, event.at, tz))


@subscriber(AppointmentRemindersAdded)
async def reminders_added(session: AsyncSession, event: AppointmentRemindersAdded) -> None:
    """Reminders at these hours before the appointment, the site having just chosen them."""
    reach, rules, tz = _terms(event, event.hours)
    plans = planner.reminders(event.appointment.starts_at, reach, rules, event.at, tz)
    # A reminder at an hour the site dropped earlier was cancelled: it is planned again.
    appointment, site, service = event.appointment, event.site, event.service
    await outbox.write_for_appointment(
        session, appointment, site, service, plans, event.at, revive=True
    )


@subscriber(SiteRemindersDropped)
async def reminders_dropped(session: AsyncSession, event: SiteRemindersDropped) -> None:
    await outbox.reminders_dropped(session, event.site_id, event.hours)


@subscriber(AppointmentRemindersStopped)
async def reminders_stopped(session: AsyncSession, event: AppointmentRemindersStopped) -> None:
    await outbox.cancel_pending(session, appointment_id=event.appointment_id, reminders_only=True)


@subscriber(AppointmentWithdrawn)
async def withdrawn(session: AsyncSession, event: AppointmentWithdrawn) -> None:
    await outbox.cancel_pending(session, appointment_id=event.appointment_id)


@subscriber(OfferMade)
async def offer_made(session: AsyncSession, event: OfferMade) -> None:
    """One message, when it can be read (a text waits for the morning): the slot held,
    until when, and the link that takes it, declines it or stops the offers."""
    tz = ZoneInfo(event.site.timezone)
    appointment = event.appointment
    if appointment.email:
        plan = Planned("offer", EMAIL, event.at)
    elif appointment.mobile:
        plan = Planned("offer", planner.SMS, event.readable_at)
    else:
        return
    start, until = event.start.astimezone(tz), event.expires_at.astimezone(tz)
    # The words are written again in the person's language when it is sent (`localized`).
    await _write(
        session,
        event,
        [plan],
        variant=f":{event.offer_id}",
        offer_start=start.isoformat(),
        offer_when=formats.moment(start),
        offer_short=f"{formats.abbreviated(start.date())} {formats.clock(start)}",
        until=until.isoformat(),
        until_time=formats.clock(until),
        until_when=formats.moment(until),
        expires_at=event.expires_at.isoformat(),
    )


# The texts to the holder of today's ticket, by the event that causes each.
HOLDER_TEXTS: dict[type[TicketEvent], str] = {
    TicketTurnNear: "turn_near",
    TicketQueueClosed: "queue_closed",
    TicketJoinedRemotely: "joined",
    TicketLeaveNow: "leave_now",
    TicketHeld: "held",
    TicketNotArrived: "not_arrived",
}


def holder_text_data(event: TicketEvent) -> dict[str, Any]:
    """What a text to the holder says: the ticket, and what its event adds (the first
    text's confirmation code; until when a held turn is kept, with the site's offset, to
    be written again in the holder's language when it is sent)."""
    data = outbox.ticket_data(event.ticket, event.site, event.service_name)
    if isinstance(event, TicketJoinedRemotely):
        data["confirmation"] = event.confirmation
    if isinstance(event, TicketHeld):
        until = event.until.astimezone(ZoneInfo(event.site.timezone))
        data.update(until=until.isoformat(), until_time=formats.clock(until))
    return data


@subscriber(*HOLDER_TEXTS)
async def text_to_the_holder(session: AsyncSession, event: TicketEvent) -> None:
    """A text to the holder of today's ticket who left a mobile number (or took it from
    their phone): their turn is near, the mairie closed before it; taken from a phone, its
    link, time to leave home, their turn kept while they are away, their ticket closed.
    Once per ticket and kind; at once, quiet hours or not: it is about today's queue."""
    ticket = event.ticket
    if not ticket.mobile:
        return
    kind = HOLDER_TEXTS[type(event)]
    planned = Planned(kind, planner.SMS, event.at)
    key, data = f"ticket:{ticket.id}:{kind}", holder_text_data(event)
    message = outbox.Message(planned, key, event.site.id, ticket.mobile, data, ticket_id=ticket.id)
    await outbox.write(session, message, now=event.at)


@subscriber(VisitOver)
async def visit_over(session: AsyncSession, event: VisitOver) -> None:
    """After the visit: what was done, what comes next, and one question."""
    ticket, site = event.ticket, event.site
    data = {
        **outbox.ticket_data(ticket, site, event.service_name),
        "done": list(event.done),
        "outcome": event.outcome,
        "escalation": event.escalation,
    }
    await outbox.write_for_ticket(
        session,
        ticket,
        site,
        "follow_up",
        f"ticket:{ticket.id}:follow_up",
        data,
        event.at + FOLLOW_UP_AFTER,
        event.at,
    )


@subscriber(EscalationMoved)
async def escalation_moved(session: AsyncSession, event: EscalationMoved) -> None:
    """One message for each step of a request sent on to an expert department, saying
    whether the mairie or the department itself wrote its words."""
    ticket, site, escalation = event.ticket, event.site, event.escalation
    data = {
        **outbox.ticket_data(ticket, site, ""),
        "reference": escalation.reference,
        "department": escalation.department,
        "status": escalation.status,
        "status_label": label(ESCALATION_STATUSES, escalation.status),
        "message": event.message,
        "by_department": event.by_department,
    }
    await outbox.write_for_ticket(
        session,
        ticket,
        site,
        "escalation",
        f"escalation:{escalation.id}:{escalation.status}",
        data,
        event.at,
        event.at,
    )


@subscriber(EscalationSent)
async def sent_to_department(session: AsyncSession, event: EscalationSent) -> None:
    """The request, emailed to the department it is sent on to, with the private link where
    it answers. The email names the mairie and the reference, never the person: the page
    behind the link shows what the department needs."""
    escalation, site = event.escalation, event.site
    if not escalation.department_email:
        return
    tz = ZoneInfo(site.timezone)
    data = {
        "reference": escalation.reference,
        "site": site.name,
        "address": site.address,
        "department": escalation.department,
        "day": formats.day(escalation.created_at.astimezone(tz).date()),
        "answer_days": escalation.answer_days,
        "department_token": event.department_token,
    }
    planned = Planned("department_request", EMAIL, event.at)
    key = f"escalation:{escalation.id}:department"
    recipient = escalation.department_email
    message = outbox.Message(planned, key, site.id, recipient, data, ticket_id=event.ticket.id)
    await outbox.write(session, message, now=event.at)
