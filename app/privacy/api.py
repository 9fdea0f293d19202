"""One person's data, for managers (their mairies) and administrators (all): look it up by
email or phone, and erase it on request."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from app.accounts.guards import Caller
from app.privacy import service
from app.problems import problem_responses
from app.shapes import Out, from_model
from app.sites.models import Site
from app.web.api import SiteQuery, StaffApi, managed_sites

EmailQuery = Annotated[str | None, QueryParameter(max_length=254, description="Their email")]
PhoneQuery = Annotated[str | None, QueryParameter(max_length=40, description="Their phone")]


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


class PeopleController(StaffApi):
    path = "/api/v1/admin/people"
    tags = ["admin"]

    @get(
        "/",
        summary="What is held of one person (by email or phone) at the agent's mairies",
        description="Found by the email or phone given, and by the phones given with that "
        "email on the person's appointments (or the emails given with that phone): one step "
        "of this widening, no further. What is reached only through the widening and carries "
        "another contact of its own (an appointment with that phone and another email, or "
        "that email and another phone, with its ticket and messages) is not surely the "
        "person's: it is left out, here and from the erasure. Each appointment and ticket "
        "shows its contact.",
        responses=problem_responses(400, 404),
    )
    async def find_person(
        self,
        caller: NamedDependency[Caller],
        email: EmailQuery = None,
        phone: PhoneQuery = None,
        site: SiteQuery = None,
    ) -> PersonOut:
        sites = await managed_sites(caller, site)
        contact = service.contact_of(email, phone)
        found = await service.find(caller.session, contact, list(sites))
        return person_out(found, sites)

    @post(
        "/erase",
        status_code=200,
        summary="Erase one person's data at the agent's mairies (right to erasure)",
        description="Erases what the search by the same email or phone finds (its widening "
        "included, what it leaves out left alone): blanks names, contacts, needs, free texts "
        "and messages as the retention sweep does, cancels messages not sent yet, and "
        "cancels the appointments still to come (counted in `appointments`; their slots are "
        "free again, the webhooks hear `appointment.cancelled`, the person is sent nothing). "
        "The anonymous figures stay the same. Written in the journal of each mairie "
        "concerned, with counts only.",
        responses=problem_responses(400, 404),
    )
    async def erase_person(
        self,
        data: JSONBody[EraseIn],
        caller: NamedDependency[Caller],
    ) -> ErasedOut:
        sites = await managed_sites(caller, data.site)
        contact = service.contact_of(data.email, data.phone)
        erased = await service.erase(
            caller.session,
            contact,
            list(sites),
            agent_id=caller.actor.agent_id,
            now=caller.now,
            outbox=Path(caller.settings.outbox_dir),
        )
        return ErasedOut(
            sites=[site.slug for site in sites.values()], **dataclasses.asdict(erased.blanked)
        )
