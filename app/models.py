"""Every domain's tables in one import, so that the metadata is complete for migrations."""

from __future__ import annotations

from app.accounts.models import Agent, agent_sites
from app.audit.models import AuditEvent
from app.booking.models import Appointment
from app.live.models import Screen, ScreenPresence
from app.notify.models import OutboxMessage, SweepRun
from app.queue.models import QueueCounter, QueueState, Ticket, TicketEvent
from app.sites.models import (
    Closure,
    HoursException,
    Need,
    Service,
    Site,
    Station,
    StationOutage,
    WeeklyHours,
)
from app.visits.models import Department, Escalation, EscalationEvent, FollowUpAnswer, Visit

__all__ = [
    "Agent",
    "Appointment",
    "AuditEvent",
    "Closure",
    "Department",
    "Escalation",
    "EscalationEvent",
    "FollowUpAnswer",
    "HoursException",
    "Need",
    "OutboxMessage",
    "QueueCounter",
    "QueueState",
    "Screen",
    "ScreenPresence",
    "Service",
    "Site",
    "Station",
    "StationOutage",
    "SweepRun",
    "Ticket",
    "TicketEvent",
    "Visit",
    "WeeklyHours",
    "agent_sites",
]
