"""What the booking API takes and gives."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import msgspec
from litestar.params import PathParameter

from app import bounds
from app.booking.guard import Burst
from app.booking.models import Appointment
from app.booking.slots import Slot
from app.sites.schemas import Interval, StationRef

Token = Annotated[str, PathParameter(max_length=128, description="The private link's token")]
Aware = Annotated[
    datetime,
    msgspec.Meta(tz=True, description=f"ISO 8601 with an offset, {bounds.DAY_BOUNDS_ENGLISH}"),
]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]


class AppointmentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    site: Code
    service: Code
    start: Aware
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    needs: Annotated[list[Code], msgspec.Meta(max_length=10)] = msgspec.field(default_factory=list)
    # "phone" and "counter": by reception; "partner": with a partner's key.
    channel: Literal["online", "phone", "counter", "partner"] = "online"
    reminders_by_email: bool = True
    reminders_by_sms: bool = False

    def __post_init__(self) -> None:
        bounds.check_instant(self.start, "start")


class RescheduleIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    start: Aware

    def __post_init__(self) -> None:
        bounds.check_instant(self.start, "start")


# A free slot: an `Interval`, given in the mairie's time zone.
class SlotOut(Interval, kw_only=True):
    pass


class AvailabilityOut(msgspec.Struct, kw_only=True):
    site: str
    service: str
    timezone: str
    slots: list[SlotOut]


class OfferOut(msgspec.Struct, kw_only=True):
    """A freed slot held for the person until `expires_at` (`app/waitlist`)."""

    start: datetime
    end: datetime
    expires_at: datetime


class WaitlistOut(msgspec.Struct, kw_only=True):
    """The person waits, since `since`, for an earlier slot (before `before`, if given)."""

    since: datetime
    before: date | None
    offer: OfferOut | None


class AppointmentOut(msgspec.Struct, kw_only=True):
    reference: str
    token: str
    status: str
    site: str
    site_name: str
    site_address: str
    service: str
    service_name: str
    documents: list[str]
    needs: list[str]
    start: datetime
    end: datetime
    station: StationRef
    channel: str
    name: str
    email: str | None
    phone: str | None
    reminders_by_email: bool
    reminders_by_sms: bool
    manage_url: str
    ics_url: str
    # The partner who referred the person and booked for them, if one did.
    partner_id: int | None = None
    # While a freed slot is held for the person; and whether they wait for one (GET only).
    offer: OfferOut | None = None
    waitlist: WaitlistOut | None = None


class BookingAlertOut(msgspec.Struct, kw_only=True):
    day: date
    bookings: int  # online bookings for the day made within the last hour
    networks: int  # distinct client networks they came from
    suspects: int  # those a release would cancel


class ReleasedOut(msgspec.Struct, kw_only=True):
    day: date
    released: int
    told: int  # people told of the cancellation, once each


def booking_alert_out(burst: Burst) -> BookingAlertOut:
    return BookingAlertOut(
        day=burst.day, bookings=burst.count, networks=burst.networks, suspects=len(burst.suspects)
    )


def slot_out(slot: Slot, tz: ZoneInfo) -> SlotOut:
    return SlotOut.local(slot.start, slot.end, tz)


def manage_url(base_url: str, token: str) -> str:
    return f"{base_url}/rendez-vous/{token}"


def ics_url(base_url: str, token: str) -> str:
    return f"{base_url}/api/v1/appointments/{token}/calendar.ics"


def appointment_out(appointment: Appointment, base_url: str) -> AppointmentOut:
    tz = ZoneInfo(appointment.site.timezone)
    return AppointmentOut(
        reference=appointment.reference,
        token=appointment.token,
        status=appointment.status,
        site=appointment.site.slug,
        site_name=appointment.site.name,
        site_address=appointment.site.address,
        service=appointment.service.code,
        service_name=appointment.service.name,
        documents=list(appointment.service.documents),
        needs=list(appointment.needs),
        start=appointment.starts_at.astimezone(tz),
        end=appointment.ends_at.astimezone(tz),
        station=StationRef(id=appointment.station.id, name=appointment.station.name),
        channel=appointment.channel,
        name=appointment.name,
        email=appointment.email,
        phone=appointment.phone,
        reminders_by_email=appointment.reminders_by_email,
        reminders_by_sms=appointment.reminders_by_sms,
        manage_url=manage_url(base_url, appointment.token),
        ics_url=ics_url(base_url, appointment.token),
        partner_id=appointment.partner_id,
    )
