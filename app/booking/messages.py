"""What the messages need to know of appointments: the facts their events carry, and, when
a message is sent, whether it still applies and the calendar file it carries."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.booking.contacts import is_mobile
from app.booking.ics import calendar_entry, invitation
from app.booking.models import Appointment, AppointmentStatus
from app.events import AppointmentFacts
from app.notify.models import OutboxMessage
from app.notify.planner import EMAIL
from app.notify.subjects import APPOINTMENT, register
from app.notify.transports import Attachment
from app.shapes import from_model
from app.sites.models import Service, Site

WITH_CALENDAR = ("confirmation", "moved", "station_changed", "cancelled", "cannot_take_place")
# Said of the booking as it stands: dropped once it changed, was cancelled or began.
ABOUT_A_BOOKING = ("confirmation", "moved", "station_changed", "partner_copy")


def facts(appointment: Appointment) -> AppointmentFacts:
    phone = appointment.phone
    mobile = phone if phone is not None and is_mobile(phone) else None
    return from_model(appointment, AppointmentFacts, mobile=mobile)


class About(TypedDict):
    """What every appointment event carries: the appointment's facts, its site and
    démarche."""

    appointment: AppointmentFacts
    site: Site
    service: Service


def about(appointment: Appointment, site: Site, service: Service) -> About:
    return About(appointment=facts(appointment), site=site, service=service)


def is_reminder(kind: str) -> bool:
    """reminder_24h, reminder_2h, or a reminder at the hours a site chose."""
    return kind.startswith("reminder_")


def wanted(appointment: Appointment, channel: str) -> bool:
    """Whether the usager still wants reminders on `channel` (they may turn them off)."""
    return appointment.reminders_by_email if channel == EMAIL else appointment.reminders_by_sms


class Appointments:
    """Appointments as the subject of messages."""

    async def load(self, session: AsyncSession, ids: Collection[int]) -> dict[int, Any]:
        rows = await session.scalars(
            select(Appointment)
            .where(Appointment.id.in_(ids))
            .options(
                selectinload(Appointment.site),
                selectinload(Appointment.station),
                selectinload(Appointment.service),
            )
        )
        return {appointment.id: appointment for appointment in rows}

    def applies(self, message: OutboxMessage, thing: Any | None, now: datetime) -> bool:
        appointment: Appointment | None = thing
        if appointment is None:
            return False
        current = appointment.sequence == message.data.get("sequence")
        if message.kind == "offer":  # the slot is held for them still (`app/waitlist`)
            expires = message.data.get("expires_at")
            return (
                appointment.status == AppointmentStatus.BOOKED
                and current
                and isinstance(expires, str)
                and now < datetime.fromisoformat(expires)
            )
        if message.kind == "cancelled":
            return appointment.status == AppointmentStatus.CANCELLED
        if message.kind == "cannot_take_place":  # called off by the mairie
            return appointment.status == AppointmentStatus.CALLED_OFF and current
        if is_reminder(message.kind) and not wanted(appointment, message.channel):
            return False
        if message.kind in ABOUT_A_BOOKING or is_reminder(message.kind):
            if message.kind == "station_changed":  # only the latest change of station
                current = current and appointment.station_id == message.data.get("station_id")
            return (
                appointment.status == AppointmentStatus.BOOKED
                and current
                and now < appointment.starts_at
            )
        return True

    def attachments(
        self, message: OutboxMessage, thing: Any | None, base_url: str, sender: str
    ) -> list[Attachment]:
        appointment: Appointment | None = thing
        if appointment is None or message.kind not in WITH_CALENDAR:
            return []
        # An iTIP message (REQUEST, or CANCEL once off) from the email's sender.
        calendar = invitation(calendar_entry(appointment, base_url), sender)
        return [
            Attachment(
                f"rendez-vous-{appointment.reference}.ics",
                calendar.text.encode(),
                calendar.media_type,
            )
        ]


register(APPOINTMENT, Appointments())
