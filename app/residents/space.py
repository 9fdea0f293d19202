"""What a resident's space shows and keeps: their appointments to come and their last
ones, today's tickets of those appointments (checked in at the mairie), the requests
sent on to an expert department after their visits, with their status, the contact
details they saved and how their new bookings remind them; and those details as the
booking pages fill them in for a signed-in resident (said once)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.booking import contacts
from app.booking.appointment_rows import appointment_summary
from app.booking.contact_form import ContactDetails
from app.booking.models import Appointment, AppointmentStatus
from app.config import Settings
from app.db import writing
from app.errors import DomainError
from app.i18n import formats, gettext
from app.i18n.texts import ESCALATION_STATUSES, STATUSES, TICKET_STATUSES, refusal
from app.queue.models import Ticket
from app.residents import sessions
from app.residents.models import Resident
from app.sites.models import Site
from app.visits.models import Escalation

UPCOMING_SHOWN = 20
PAST_SHOWN = 10
REQUESTS_SHOWN = 20
# The fields of the form of saved details, as the booking form names them.
FIELDS = ("nom", "email", "telephone")


async def appointments_of(
    session: AsyncSession, resident_id: int, now: datetime
) -> tuple[list[Appointment], list[Appointment]]:
    """The resident's appointments still to come (the soonest first), and their last ones
    (the latest first)."""
    query = (
        select(Appointment)
        .where(Appointment.resident_id == resident_id)
        .options(selectinload(Appointment.site), selectinload(Appointment.service))
    )
    upcoming = await session.scalars(
        query.where(
            Appointment.ends_at > now,
            Appointment.status.in_((AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN)),
        )
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(UPCOMING_SHOWN)
    )
    past = await session.scalars(
        query.where(Appointment.starts_at <= now)
        .order_by(Appointment.starts_at.desc(), Appointment.id.desc())
        .limit(PAST_SHOWN)
    )
    return list(upcoming), list(past)


def appointment_row(appointment: Appointment) -> dict[str, str]:
    return {
        **appointment_summary(appointment),
        "token": appointment.token,
        "status": gettext(STATUSES.get(appointment.status, appointment.status)),
    }


async def tickets_today(
    session: AsyncSession, resident_id: int, now: datetime
) -> list[dict[str, str]]:
    """The tickets of the resident's appointments checked in today (the day of each
    mairie), with their number, their place and where they stand."""
    rows = await session.execute(
        select(Ticket, Site)
        .join(Appointment, Appointment.id == Ticket.appointment_id)
        .join(Site, Site.id == Ticket.site_id)
        .where(
            Appointment.resident_id == resident_id,
            Ticket.day >= (now - timedelta(days=1)).date(),
        )
        .options(selectinload(Ticket.service))
        .order_by(Ticket.arrived_at, Ticket.id)
    )
    found = []
    for ticket, site in rows:
        if ticket.day != now.astimezone(ZoneInfo(site.timezone)).date():
            continue
        found.append(
            {
                "number": ticket.number,
                "token": ticket.token,
                "site": site.name,
                "service": ticket.service.label,
                "status": gettext(TICKET_STATUSES.get(ticket.status, ticket.status)),
            }
        )
    return found


async def requests_sent_on(session: AsyncSession, resident_id: int) -> list[dict[str, str]]:
    """The requests an agent sent on to an expert department after the resident's visits
    (the latest first): their reference, the department, where they stand and since when."""
    rows = await session.execute(
        select(Escalation, Site)
        .join(Ticket, Ticket.id == Escalation.ticket_id)
        .join(Appointment, Appointment.id == Ticket.appointment_id)
        .join(Site, Site.id == Escalation.site_id)
        .where(Appointment.resident_id == resident_id)
        .options(selectinload(Escalation.department))
        .order_by(Escalation.created_at.desc(), Escalation.id.desc())
        .limit(REQUESTS_SHOWN)
    )
    return [
        {
            "reference": escalation.reference,
            "department": escalation.department.name,
            "site": site.name,
            "status": gettext(ESCALATION_STATUSES.get(escalation.status, escalation.status)),
            "since": formats.day(escalation.updated_at.astimezone(ZoneInfo(site.timezone)).date()),
        }
        for escalation, site in rows
    ]


@dataclass(frozen=True)
class Details(ContactDetails):
    """The contact details a resident saved, or would: as the booking form has them."""

    @classmethod
    def of(cls, resident: Resident) -> Details:
        """What the resident saved; for what they have not, what the provider says."""
        return cls(
            nom=resident.contact_name if resident.contact_name is not None else resident.name,
            email=(
                resident.contact_email
                if resident.contact_email is not None
                else resident.email or ""
            ),
            telephone=(
                resident.contact_phone
                if resident.contact_phone is not None
                else resident.phone or ""
            ),
            rappels_email=resident.reminders_by_email,
            rappels_sms=resident.reminders_by_sms,
        )

    @classmethod
    def posted(cls, form: Mapping[str, Any]) -> Details:
        return cls(
            nom=" ".join(str(form.get("nom", ""))[:200].split()),
            email=str(form.get("email", ""))[:254].strip(),
            telephone=str(form.get("telephone", ""))[:40].strip(),
            rappels_email=form.get("rappels_email") == "oui",
            rappels_sms=form.get("rappels_sms") == "oui",
        )

    def errors(self) -> dict[str, str]:
        """What is wrong, by field, in the words the booking form uses. Everything may be
        left empty (nothing saved) but a text needs a mobile number."""
        errors: dict[str, str] = {}
        checks = (
            ("nom", self.nom, contacts.normalise_name),
            ("email", self.email, contacts.deliverable_email),
            ("telephone", self.telephone, contacts.e164),
        )
        for field, value, check in checks:
            if not value:
                continue
            try:
                check(value)
            except DomainError as error:
                errors[field] = refusal(error.code)
        if self.rappels_sms and "telephone" not in errors:
            if not self.telephone:
                errors["telephone"] = gettext(
                    "Indiquez un numéro de téléphone pour recevoir des SMS."
                )
            elif not contacts.is_mobile(self.telephone):
                errors["telephone"] = refusal("phone_not_mobile")
        if self.rappels_email and not self.email and "email" not in errors:
            errors["email"] = gettext("Indiquez une adresse e-mail pour recevoir des e-mails.")
        return errors


async def save(session: AsyncSession, resident_id: int, details: Details) -> None:
    """Keep `details` (checked: `Details.errors` is empty) as the resident's, written as
    bookings write them."""
    async with writing(session):
        resident = await session.get(Resident, resident_id)
        if resident is None:
            return
        resident.contact_name = details.nom
        resident.contact_email = contacts.deliverable_email(details.email) if details.email else ""
        resident.contact_phone = contacts.e164(details.telephone) if details.telephone else ""
        resident.reminders_by_email = details.rappels_email
        resident.reminders_by_sms = details.rappels_sms


async def booking_details(
    session: AsyncSession, cookie: str, settings: Settings, now: datetime
) -> Details | None:
    """The details of the resident signed in with this cookie, for the booking pages to
    fill their form with; None when sign-in is off or nobody is signed in."""
    if not settings.residents_sign_in or not cookie:
        return None
    found = await sessions.find(session, cookie, settings, now)
    return Details.of(found.resident) if found is not None else None


def reminders_for(details: Details, email: str, telephone: str) -> tuple[bool, bool]:
    """How a booking with `email` and `telephone` reminds a resident who chose `details`'
    reminders: by each channel they chose that the booking has a way to (a text needs a
    mobile number)."""
    by_email = details.rappels_email and bool(email)
    by_sms = details.rappels_sms and bool(telephone) and contacts.is_mobile(telephone)
    return by_email, by_sms
