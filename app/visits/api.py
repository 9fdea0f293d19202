"""Requests sent on to expert departments, for managers; the departments themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import msgspec
from litestar import get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from sqlalchemy import select

from app.accounts.actors import MANAGERS
from app.accounts.guards import Caller
from app.accounts.service import STAFF_ROLES, authorize
from app.i18n.texts import ESCALATION_STATUSES as STATUS_LABELS
from app.i18n.texts import label
from app.problems import problem_responses
from app.shapes import from_model
from app.sites.models import Site
from app.visits import commands, service
from app.visits.commands import Code, DepartmentChange, DepartmentIn
from app.visits.models import ESCALATION_STATUSES, Department, Escalation
from app.web.api import Limit, SiteQuery, StaffApi, managed_site, managed_sites

Status = Literal["received", "in_progress", "answered", "closed"]
Reference = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]


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
    partner: int | None = None  # the partner whose account it is


def escalation_out(escalation: Escalation, site: Site, now: datetime) -> EscalationOut:
    tz = ZoneInfo(site.timezone)
    return EscalationOut(
        reference=escalation.reference,
        site=site.slug,
        department=escalation.department.code,
        department_name=escalation.department.name,
        status=escalation.status,
        status_label=label(STATUS_LABELS, escalation.status),
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
    return from_model(department, DepartmentOut, partner=department.partner_id)


class EscalationsController(StaffApi):
    path = "/api/v1/escalations"
    tags = ["visits"]

    @get("/", summary="Requests sent on to expert departments, oldest first")
    async def list_escalations(
        self,
        caller: NamedDependency[Caller],
        site: SiteQuery = None,
        status: Annotated[list[Status] | None, QueryParameter(max_items=4)] = None,
        overdue: Annotated[bool, QueryParameter(description="Only those waiting too long")] = False,
        limit: Limit = 200,
    ) -> list[EscalationOut]:
        now = caller.now
        sites = await managed_sites(caller, site)
        found = await service.escalations_of(
            caller.session, list(sites), statuses=tuple(status or ESCALATION_STATUSES), limit=limit
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
        caller: NamedDependency[Caller],
    ) -> EscalationOut:
        escalation = await service.get_escalation(caller.session, reference)
        site = await managed_site(caller, escalation.site_id)
        return escalation_out(escalation, site, caller.now)

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
        caller: NamedDependency[Caller],
    ) -> EscalationOut:
        now = caller.now
        escalation = await service.move(
            caller.session,
            reference,
            data.status,
            agent_id=caller.actor.agent_id,
            message=data.message,
            now=now,
            may_change=lambda site: authorize(caller.actor, roles=MANAGERS, site=site),
        )
        site = await caller.session.get_one(Site, escalation.site_id)
        return escalation_out(escalation, site, now)


class DepartmentsController(StaffApi):
    path = "/api/v1/departments"
    tags = ["visits"]

    @get("/", summary="The expert departments requests may be sent on to")
    async def list_departments(
        self,
        caller: NamedDependency[Caller],
    ) -> list[DepartmentOut]:
        authorize(caller.actor, roles=STAFF_ROLES)
        found = await caller.session.scalars(
            select(Department).order_by(Department.position, Department.name)
        )
        return [department_out(item) for item in found]

    @post(
        "/", summary="Add an expert department (administrators)", responses=problem_responses(409)
    )
    async def add_department(
        self,
        data: JSONBody[DepartmentIn],
        caller: NamedDependency[Caller],
    ) -> DepartmentOut:
        added = await commands.add_department(
            caller.session, data, actor=caller.actor, now=caller.now
        )
        return department_out(added)

    @patch(
        "/{code:str}",
        summary="Rename a department, change its delay, its email or its partner, retire it",
    )
    async def change_department(
        self,
        code: Code,
        data: JSONBody[DepartmentChange],
        caller: NamedDependency[Caller],
    ) -> DepartmentOut:
        department = await commands.change_department(
            caller.session, code, data, actor=caller.actor, now=caller.now
        )
        return department_out(department)
