"""Requests sent on to expert departments, for managers; the departments themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import msgspec
from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import french
from app.accounts.guards import STAFF_SECURITY
from app.accounts.models import Agent
from app.accounts.service import MANAGERS, STAFF_ROLES, authorize, sites_in_view
from app.audit import service as audit
from app.booking.contacts import deliverable_email
from app.db import Database
from app.errors import Conflict, NotFound
from app.problems import problem_responses
from app.sites.models import Site
from app.visits import service
from app.visits.models import ESCALATION_STATUSES, Department, Escalation

Status = Literal["received", "in_progress", "answered", "closed"]
Reference = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[a-z0-9-]+$")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=r"\S")]
AnswerDays = Annotated[int, msgspec.Meta(ge=1, le=365)]
DepartmentEmail = Annotated[
    str,
    msgspec.Meta(
        max_length=254,
        description="Where the department receives the requests sent on to it, each with a "
        "private link to answer; an empty string removes it.",
    ),
]


class StepOut(msgspec.Struct, kw_only=True):
    status: str
    at: datetime
    message: str


class EscalationOut(msgspec.Struct, kw_only=True):
    reference: str
    site: str
    department: str
    department_name: str
    status: str
    status_label: str
    overdue: bool
    created_at: datetime
    updated_at: datetime
    answered_at: datetime | None
    history: list[StepOut]


class MoveIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: Status
    message: Annotated[str, msgspec.Meta(max_length=1000)] = ""


class DepartmentOut(msgspec.Struct, kw_only=True):
    code: str
    name: str
    answer_days: int
    active: bool
    email: str | None = None


class DepartmentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: Code
    name: Name
    answer_days: AnswerDays = 15
    email: DepartmentEmail | None = None


class DepartmentChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name | None = None
    answer_days: AnswerDays | None = None
    active: bool | None = None
    email: DepartmentEmail | None = None


def department_email(value: str | None) -> str | None:
    """The address as stored (BadRequest when no mail could reach it), None for none."""
    if value is None or not value.strip():
        return None
    return deliverable_email(value)


def escalation_out(escalation: Escalation, site: Site, now: datetime) -> EscalationOut:
    tz = ZoneInfo(site.timezone)
    return EscalationOut(
        reference=escalation.reference,
        site=site.slug,
        department=escalation.department.code,
        department_name=escalation.department.name,
        status=escalation.status,
        status_label=french.ESCALATION_STATUSES[escalation.status],
        overdue=service.overdue(escalation, now),
        created_at=escalation.created_at.astimezone(tz),
        updated_at=escalation.updated_at.astimezone(tz),
        answered_at=escalation.answered_at.astimezone(tz) if escalation.answered_at else None,
        history=[
            StepOut(status=event.status, at=event.at.astimezone(tz), message=event.message)
            for event in escalation.events
        ],
    )


def department_out(department: Department) -> DepartmentOut:
    return DepartmentOut(
        code=department.code,
        name=department.name,
        answer_days=department.answer_days,
        active=department.active,
        email=department.email,
    )


class EscalationsController(Controller):
    path = "/api/v1/escalations"
    tags = ["visits"]
    security = STAFF_SECURITY

    @get(
        "/",
        summary="Requests sent on to expert departments, oldest first",
        responses=problem_responses(404),
    )
    async def list_escalations(
        self,
        agent: NamedDependency[Agent],
        session: NamedDependency[AsyncSession],
        now: NamedDependency[datetime],
        site: Annotated[str | None, QueryParameter(max_length=40)] = None,
        status: Annotated[list[Status] | None, QueryParameter(max_items=4)] = None,
        overdue: Annotated[bool, QueryParameter(description="Only those waiting too long")] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 200,
    ) -> list[EscalationOut]:
        sites = {s.id: s for s in await sites_in_view(session, agent, roles=MANAGERS, slug=site)}
        found = await service.escalations_of(
            session, list(sites), statuses=tuple(status or ESCALATION_STATUSES), limit=limit
        )
        return [
            escalation_out(item, sites[item.site_id], now)
            for item in found
            if not overdue or service.overdue(item, now)
        ]

    @get("/{reference:str}", summary="One request and its history")
    async def get_escalation(
        self,
        reference: Reference,
        agent: NamedDependency[Agent],
        session: NamedDependency[AsyncSession],
        now: NamedDependency[datetime],
    ) -> EscalationOut:
        escalation = await service.get_escalation(session, reference)
        site = await session.get_one(Site, escalation.site_id)
        authorize(agent, roles=MANAGERS, site=site)
        return escalation_out(escalation, site, now)

    @post(
        "/{reference:str}/status",
        status_code=200,
        summary="Move a request forward",
        responses=problem_responses(409),
    )
    async def move(
        self,
        reference: Reference,
        data: JSONBody[MoveIn],
        agent: NamedDependency[Agent],
        db: NamedDependency[Database],
        session: NamedDependency[AsyncSession],
        now: NamedDependency[datetime],
    ) -> EscalationOut:
        escalation = await service.move(
            db,
            reference,
            data.status,
            agent_id=agent.id,
            message=data.message,
            now=now,
            may_change=lambda site: authorize(agent, roles=MANAGERS, site=site),
        )
        site = await session.get_one(Site, escalation.site_id)
        return escalation_out(escalation, site, now)


class DepartmentsController(Controller):
    path = "/api/v1/departments"
    tags = ["visits"]
    security = STAFF_SECURITY

    @get("/", summary="The expert departments requests may be sent on to")
    async def list_departments(
        self, agent: NamedDependency[Agent], session: NamedDependency[AsyncSession]
    ) -> list[DepartmentOut]:
        authorize(agent, roles=STAFF_ROLES)
        found = await session.scalars(
            select(Department).order_by(Department.position, Department.name)
        )
        return [department_out(item) for item in found]

    @post(
        "/", summary="Add an expert department (administrators)", responses=problem_responses(409)
    )
    async def add_department(
        self,
        data: JSONBody[DepartmentIn],
        agent: NamedDependency[Agent],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
    ) -> DepartmentOut:
        authorize(agent, roles=())
        email = department_email(data.email)
        async with db.writing() as session:
            if await session.scalar(select(Department).where(Department.code == data.code)):
                raise Conflict(f"A department already has the code {data.code!r}.")
            department = Department(
                code=data.code,
                name=data.name.strip(),
                answer_days=data.answer_days,
                position=100,
                email=email,
            )
            session.add(department)
            audit.record(
                session,
                "department.created",
                at=now,
                agent_id=agent.id,
                target=f"department:{data.code}",
                answer_days=data.answer_days,
                email=email is not None or None,
            )
        return department_out(department)

    @patch(
        "/{code:str}",
        summary="Rename a department, change its delay or its email, retire it",
    )
    async def change_department(
        self,
        code: Code,
        data: JSONBody[DepartmentChange],
        agent: NamedDependency[Agent],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
    ) -> DepartmentOut:
        authorize(agent, roles=())
        email = department_email(data.email)
        async with db.writing() as session:
            department = await session.scalar(select(Department).where(Department.code == code))
            if department is None:
                raise NotFound(f"No department has the code {code!r}.")
            if data.name is not None:
                department.name = data.name.strip()
            if data.answer_days is not None:
                department.answer_days = data.answer_days
            if data.active is not None:
                department.active = data.active
            if data.email is not None:
                department.email = email
            audit.record(
                session,
                "department.changed",
                at=now,
                agent_id=agent.id,
                target=f"department:{code}",
                renamed=data.name is not None or None,
                answer_days=data.answer_days,
                active=data.active,
                email=None if data.email is None else email is not None,
            )
        return department_out(department)
