"""Every domain's tables in one import, so that the metadata is complete for migrations."""

from __future__ import annotations

from app.accounts.models import Agent, agent_sites
from app.booking.models import Appointment
from app.live.models import ScreenPresence
from app.queue.models import QueueCounter, QueueState, Ticket, TicketEvent
from app.sites.models import Closure, HoursException, Need, Service, Site, Station, WeeklyHours

__all__ = [
    "Agent",
    "Appointment",
    "Closure",
    "HoursException",
    "Need",
    "QueueCounter",
    "QueueState",
    "ScreenPresence",
    "Service",
    "Site",
    "Station",
    "Ticket",
    "TicketEvent",
    "WeeklyHours",
    "agent_sites",
]
