"""An appointment as the pages' lists and notices show it, whoever reads them: a resident
in their space, a partner among the appointments it referred, reception once it booked."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from app.booking.models import Appointment
from app.i18n import formats


def appointment_summary(appointment: Appointment) -> dict[str, str]:
    """Its reference, when it is (in its mairie's time), where, and for which démarche.
    The appointment's site and service are loaded."""
    zone = ZoneInfo(appointment.site.timezone)
    return {
        "reference": appointment.reference,
        "when": formats.moment(appointment.starts_at.astimezone(zone)),
        "site": appointment.site.name,
        "service": appointment.service.label,
    }
