"""Visits and escalations: what the facilitator records when a ticket is finished, and the
requests sent on to expert departments, moved by managers until they are closed."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app import events
from app.audit import service as audit
from app.booking.commands import REFERENCE_ALPHABET, reference_prefix
from app.booking.models import Appointment
from app.booking.queries import behind_link
from app.db import token_digest, writing
from app.errors import BadRequest, Conflict, NotFound
from app.queue.messages import about
from app.queue.models import Ticket
from app.shapes import from_model
from app.sites.models import Service, Site
from app.visits.activity_rules import ActivityReport, check_activity, settle
from app.visits.models import (
    ESCALATION_STATUSES,
    OUTCOMES,
    Activity,
    Department,
    Escalation,
    EscalationEvent,
    EscalationStatus,
    Visit,
)
from app.visits.rules import ESCALATION, TOWARDS, EscalationEffect

MAX_NOTE = 1000
OPEN = (EscalationStatus.RECEIVED, EscalationStatus.IN_PROGRESS)
DEPARTMENT_TOKEN_BYTES = 32  # 256 bits


@dataclass(frozen=True)
class VisitReport:
    """What the facilitator says of a visit; with nothing said, the ticket's own service,
    an unrecorded outcome and no activity record. An `activity` given (the station's form
    always gives one) is recorded, what it leaves out taking its default; none given, the
    visit has no activity record: the exports and figures count only what was recorded."""

    services: list[str] = field(default_factory=list)
    outcome: str = "unrecorded"
    note: str = ""
    department: str | None = None
    activity: ActivityReport | None = None


@dataclass(frozen=True)
class Recorded:
    visit: Visit
    services: list[Service]
    escalation: Escalation | None
    activity: Activity | None


def new_escalation_reference(slug: str) -> str:
    """DM15-7KQ2M9: a demande of the 15e, readable over the phone."""
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
    return f"DM{reference_prefix(slug)}-{code}"


async def active_departments(session: AsyncSession) -> list[Department]:
    return list(
        await session.scalars(
            select(Department)
            .where(Department.active.is_(True))
            .order_by(Department.position, Department.name)
        )
    )


async def active_department(session: AsyncSession, code: str) -> Department:
    department = await session.scalar(select(Department).where(Department.code == code))
    if department is None or not department.active:
        raise BadRequest(f"No expert department has the code {code!r}.", code="unknown_department")
    return department


async def _services_done(session: AsyncSession, ticket: Ticket, codes: list[str]) -> list[Service]:
    if not codes:
        return [await session.get_one(Service, ticket.service_id)]
    wanted = list(dict.fromkeys(codes))
    found = {
        service.code: service
        for service in await session.scalars(select(Service).where(Service.code.in_(wanted)))
    }
    unknown = [code for code in wanted if code not in found]
    if unknown:
        raise BadRequest(f"Unknown services: {', '.join(unknown)}.", code="unknown_service")
    return [found[code] for code in wanted]


def check(report: VisitReport) -> None:
    """Refuse a report that does not hold together, before anything changes."""
    if report.outcome not in OUTCOMES:
        raise BadRequest(f"The outcome is one of {', '.join(OUTCOMES)}.", code="outcome_invalid")
    if report.outcome == "escalated" and not report.department:
        raise BadRequest(
            "Say which expert department the request is sent on to.", code="department_required"
        )
    if report.outcome != "escalated" and report.department:
        raise BadRequest(
            "A department is given only when the request is sent on (outcome escalated).",
            code="department_without_escalation",
        )
    if report.activity is not None:
        check_activity(report.activity)


async def record(
    session: AsyncSession,
    ticket: Ticket,
    site: Site,
    report: VisitReport,
    *,
    agent_id: int | None,
    now: datetime,
) -> Recorded:
    """The visit of a ticket being finished, and its escalation if the request goes on."""
    check(report)
    services = await _services_done(session, ticket, report.services)
    channel = "walk_in"
    if ticket.appointment_id is not None:
        appointment = await session.get_one(Appointment, ticket.appointment_id)
        channel = appointment.channel
    visit = Visit(
        ticket_id=ticket.id,
        site_id=ticket.site_id,
        day=ticket.day,
        station_id=ticket.station_id,
        agent_id=agent_id,
        channel=channel,
        services=[service.code for service in services],
        outcome=report.outcome,
        note=" ".join(report.note.split())[:MAX_NOTE],
        started_at=ticket.started_at,
        finished_at=now,
    )
    session.add(visit)
    await session.flush()
    activity = None
    if report.activity is not None:
        usual = services[0].duration_minutes
        activity = activity_of(visit, report.activity, usual_minutes=usual)
        session.add(activity)
    escalation = None
    if report.department:
        department = await active_department(session, report.department)
        escalation = Escalation(
            reference=new_escalation_reference(site.slug),
            visit_id=visit.id,
            ticket_id=ticket.id,
            site_id=site.id,
            department_id=department.id,
            status=EscalationStatus.RECEIVED,
            created_at=now,
            updated_at=now,
            department=department,
        )
        token = secrets.token_urlsafe(DEPARTMENT_TOKEN_BYTES) if department.email else None
        escalation.department_token_digest = token_digest(token) if token else None
        session.add(escalation)
        await session.flush()
        session.add(
            EscalationEvent(
                escalation_id=escalation.id,
                status=EscalationStatus.RECEIVED,
                agent_id=agent_id,
                at=now,
            )
        )
        if token:
            sent = events.EscalationSent(
                at=now,
                **await about(session, ticket, site, ""),
                escalation=escalation_facts(escalation),
                department_token=token,
            )
            await events.record(session, sent)
    return Recorded(visit, services, escalation, activity)


def activity_of(visit: Visit, report: ActivityReport, *, usual_minutes: int) -> Activity:
    """The activity record of `visit`, as the facilitator said it, with the defaults of
    its démarches, times and outcome for what they left out."""
    facts = settle(
        report,
        services=visit.services,
        escalated=visit.outcome == "escalated",
        started_at=visit.started_at,
        finished_at=visit.finished_at,
        usual_minutes=usual_minutes,
    )
    return Activity(
        visit_id=visit.id,
        themes=list(facts.themes),
        minutes=facts.minutes,
        equipment=list(facts.equipment),
        autonomy=facts.autonomy,
        referral=facts.referral,
        aidants_connect=facts.aidants_connect,
        age_band=facts.age_band,
        social_status=facts.social_status,
    )


# Escalations, as managers move them.


def escalation_facts(escalation: Escalation) -> events.EscalationFacts:
    department = escalation.department
    return from_model(
        escalation,
        events.EscalationFacts,
        department=department.name,
        department_email=department.email,
        answer_days=department.answer_days,
    )


def overdue(escalation: Escalation, now: datetime) -> bool:
    """Still waiting for the department's answer after its usual delay."""
    limit = timedelta(days=escalation.department.answer_days)
    return escalation.status in OPEN and now - escalation.created_at > limit


def escalation_query() -> Select[Escalation]:
    """Escalations with what every reader of one shows: its department and its steps."""
    return select(Escalation).options(
        selectinload(Escalation.department), selectinload(Escalation.events)
    )


async def get_escalation(session: AsyncSession, reference: str) -> Escalation:
    escalation = await session.scalar(
        escalation_query().where(Escalation.reference == reference.strip().upper())
    )
    if escalation is None:
        raise NotFound(f"No request has the reference {reference!r}.")
    return escalation


async def escalation_by_department_token(session: AsyncSession, token: str) -> Escalation:
    """The request behind a department's private link (found by the token's digest)."""
    digest = Escalation.department_token_digest
    escalation = await behind_link(session, escalation_query(), digest, token, 20, 128)
    if escalation is None:
        raise NotFound("No request is behind this link.", code="not_found")
    return escalation


async def escalation_of_ticket(session: AsyncSession, ticket_id: int) -> Escalation | None:
    found: Escalation | None = await session.scalar(
        escalation_query().where(Escalation.ticket_id == ticket_id)
    )
    return found


async def escalation_of_appointment(
    session: AsyncSession, appointment_id: int
) -> Escalation | None:
    found: Escalation | None = await session.scalar(
        escalation_query()
        .join(Ticket, Ticket.id == Escalation.ticket_id)
        .where(Ticket.appointment_id == appointment_id)
    )
    return found


async def escalations_of(
    session: AsyncSession,
    site_ids: list[int],
    *,
    statuses: tuple[str, ...] = ESCALATION_STATUSES,
    limit: int = 200,
) -> list[Escalation]:
    return list(
        await session.scalars(
            escalation_query()
            .where(Escalation.site_id.in_(site_ids), Escalation.status.in_(statuses))
            .order_by(Escalation.created_at, Escalation.id)
            .limit(limit)
        )
    )


async def move(
    session: AsyncSession,
    reference: str,
    status: str,
    *,
    agent_id: int | None,
    message: str = "",
    now: datetime,
    may_change: Callable[[Site], None],
    by_department: bool = False,
) -> Escalation:
    """Move a request forward (received → in progress → answered → closed) and tell the
    usager; a step back, or a step to where it already is, is refused, and so is a message
    longer than `MAX_NOTE` once its spaces are folded (never cut). A manager moves it
    (`agent_id`), or the department itself through its private link (`by_department`)."""
    if status not in ESCALATION_STATUSES:
        raise BadRequest(
            f"The status is one of {', '.join(ESCALATION_STATUSES)}.", code="status_invalid"
        )
    text = " ".join(message.split())
    if len(text) > MAX_NOTE:
        raise BadRequest(
            f"The message holds at most {MAX_NOTE} characters.", code="message_too_long"
        )
    if not all(char.isprintable() or char in "\r\n\t" for char in message):
        # Control and direction characters would reach the usager's page and texts (and
        # PostgreSQL refuses NUL in text).
        raise BadRequest(
            "The message holds control or invisible characters.", code="message_unprintable"
        )
    async with writing(session):
        escalation = await get_escalation(session, reference)
        site = await session.get_one(Site, escalation.site_id)
        may_change(site)
        await session.refresh(escalation, with_for_update=True)
        action = TOWARDS.get(EscalationStatus(status))
        if action is None or not ESCALATION.allows(escalation.status, action):
            raise Conflict(
                f"Request {escalation.reference} is already {escalation.status.replace('_', ' ')}:"
                " it only moves forward.",
                code="escalation_backwards",
            )
        moved = ESCALATION.move(escalation.status, action)
        escalation.status = moved.to
        escalation.updated_at = now
        if EscalationEffect.STAMP_ANSWERED in moved.effects:
            escalation.answered_at = now
        if EscalationEffect.STAMP_CLOSED in moved.effects:
            escalation.closed_at = now
        session.add(
            EscalationEvent(
                escalation_id=escalation.id,
                status=status,
                agent_id=agent_id,
                message=text,
                by_department=by_department,
                at=now,
            )
        )
        ticket = await session.get_one(Ticket, escalation.ticket_id)
        step = events.EscalationMoved(
            at=now,
            **await about(session, ticket, site, ""),
            escalation=escalation_facts(escalation),
            message=text,
            by_department=by_department,
        )
        await events.record(session, step)
        audit.record(
            session,
            "escalation.moved",
            at=now,
            agent_id=agent_id,
            site_id=site.id,
            target=f"escalation:{escalation.reference}",
            status=status,
            department=escalation.department.code if by_department else None,
        )
        reference = escalation.reference
    return await get_escalation(session, reference)
