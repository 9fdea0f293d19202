"""What the people API answers and reads: what is held of one person, the erasure asked
and what it blanked."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec

from app.privacy import service
from app.shapes import Out, from_model
from app.sites.models import Site


class AppointmentData(msgspec.Struct, kw_only=True):
    reference: str
    site: str
    starts_at: datetime
    status: str
    name: str
    email: str | None
    phone: str | None
    needs: list[str]


class TicketData(msgspec.Struct, kw_only=True):
    site: str
    day: date
    number: str
    status: str
    phone: str | None
    needs: list[str]


class VisitData(msgspec.Struct, kw_only=True):
    site: str
    day: date
    outcome: str
    note: str


class EscalationData(msgspec.Struct, kw_only=True):
    reference: str
    site: str
    status: str
    messages: list[str]


class AnswerData(msgspec.Struct, kw_only=True):
    site: str
    score: int
    comment: str


class MessageData(msgspec.Struct, kw_only=True):
    id: int
    site: str
    kind: str
    channel: str
    status: str
    created_at: datetime
    purged: bool


class PersonOut(msgspec.Struct, kw_only=True):
    """What guichet holds of one person at the mairies searched."""

    sites: list[str]
    appointments: list[AppointmentData]
    tickets: list[TicketData]
    visits: list[VisitData]
    escalations: list[EscalationData]
    answers: list[AnswerData]
    messages: list[MessageData]


class EraseIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None
    site: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class ErasedOut(msgspec.Struct, kw_only=True):
    """How many rows were blanked at the mairies searched (counts only)."""

    sites: list[str]
    appointments: int
    tickets: int
    notes: int
    steps: int
    answers: int
    messages_purged: int
    messages_cancelled: int


def person_out(found: service.Found, sites: dict[int, Site]) -> PersonOut:
    def out(row: Any, shape: type[Out], **given: Any) -> Out:
        """`row` as `shape`, at its mairie (by slug)."""
        return from_model(row, shape, site=sites[row.site_id].slug, **given)

    def local(instant: datetime, site_id: int) -> datetime:
        return instant.astimezone(ZoneInfo(sites[site_id].timezone))

    steps: dict[int, list[str]] = {}
    for step in found.steps:
        if step.message:
            steps.setdefault(step.escalation_id, []).append(step.message)
    return PersonOut(
        sites=[site.slug for site in sites.values()],
        appointments=[
            out(
                a,
                AppointmentData,
                starts_at=local(a.starts_at, a.site_id),
                email=a.email or None,
                needs=list(a.needs),
            )
            for a in found.appointments
        ],
        tickets=[out(t, TicketData, needs=list(t.needs)) for t in found.tickets],
        visits=[out(v, VisitData) for v in found.visits],
        escalations=[
            out(e, EscalationData, messages=steps.get(e.id, [])) for e in found.escalations
        ],
        answers=[out(a, AnswerData) for a in found.answers],
        messages=[
            out(
                m,
                MessageData,
                created_at=local(m.created_at, m.site_id),
                purged=m.purged_at is not None,
            )
            for m in found.messages
        ],
    )
