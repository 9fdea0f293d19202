"""The catalogs over HTTP: managers read every item, retired ones included; administrators
add, change, retire (`active: false`) and offer again (`active: true`)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from app.accounts.guards import STAFF_SECURITY, Caller
from app.problems import problem_responses
from app.shapes import from_model
from app.sites import catalog
from app.sites.catalog import CODE_PATTERN, NeedChange, NeedIn, ServiceChange, ServiceIn
from app.sites.models import Need, Service
from app.sites.schemas import NeedOut, ServiceOut

CodeParam = Annotated[
    str, PathParameter(pattern=CODE_PATTERN, max_length=40, description="The item's code")
]


class ServiceAdminOut(ServiceOut, kw_only=True):
    position: int
    active: bool


class NeedAdminOut(NeedOut, kw_only=True):
    position: int
    active: bool


def service_out(item: Service) -> ServiceAdminOut:
    return from_model(item, ServiceAdminOut)


def need_out(item: Need) -> NeedAdminOut:
    return from_model(item, NeedAdminOut)


class ServicesAdminController(Controller):
    path = "/api/v1/admin/services"
    tags = ["administration"]

    @get(
        "/", summary="The catalog of services, retired ones last (manager)", security=STAFF_SECURITY
    )
    async def list_services(
        self,
        caller: NamedDependency[Caller],
    ) -> list[ServiceAdminOut]:
        return [
            service_out(item)
            for item in await catalog.all_of(caller.session, caller.agent, Service)
        ]

    @get("/{code:str}", summary="One service of the catalog (manager)", security=STAFF_SECURITY)
    async def get_service(
        self,
        code: CodeParam,
        caller: NamedDependency[Caller],
    ) -> ServiceAdminOut:
        return service_out(await catalog.one_of(caller.session, caller.agent, Service, code))

    @post(
        "/",
        summary="Add a service to the catalog (administrator)",
        security=STAFF_SECURITY,
        responses=problem_responses(409),
    )
    async def add_service(
        self,
        data: JSONBody[ServiceIn],
        caller: NamedDependency[Caller],
    ) -> ServiceAdminOut:
        item = await catalog.create_service(
            caller.session, data, agent=caller.agent, now=caller.now
        )
        return service_out(item)

    @patch(
        "/{code:str}",
        summary="Change a service, retire it (`active: false`) or offer it again (administrator)",
        security=STAFF_SECURITY,
    )
    async def change_service(
        self,
        code: CodeParam,
        data: JSONBody[ServiceChange],
        caller: NamedDependency[Caller],
    ) -> ServiceAdminOut:
        item = await catalog.change_service(
            caller.session, code, data, agent=caller.agent, now=caller.now
        )
        return service_out(item)


class NeedsAdminController(Controller):
    path = "/api/v1/admin/needs"
    tags = ["administration"]

    @get(
        "/",
        summary="The needs an usager may declare, retired ones last (manager)",
        security=STAFF_SECURITY,
    )
    async def list_needs(
        self,
        caller: NamedDependency[Caller],
    ) -> list[NeedAdminOut]:
        return [need_out(item) for item in await catalog.all_of(caller.session, caller.agent, Need)]

    @get("/{code:str}", summary="One need (manager)", security=STAFF_SECURITY)
    async def get_need(
        self,
        code: CodeParam,
        caller: NamedDependency[Caller],
    ) -> NeedAdminOut:
        return need_out(await catalog.one_of(caller.session, caller.agent, Need, code))

    @post(
        "/",
        summary="Add a need (administrator)",
        security=STAFF_SECURITY,
        responses=problem_responses(409),
    )
    async def add_need(
        self,
        data: JSONBody[NeedIn],
        caller: NamedDependency[Caller],
    ) -> NeedAdminOut:
        item = await catalog.create_need(caller.session, data, agent=caller.agent, now=caller.now)
        return need_out(item)

    @patch(
        "/{code:str}",
        summary="Change a need, retire it (`active: false`) or offer it again (administrator)",
        security=STAFF_SECURITY,
    )
    async def change_need(
        self,
        code: CodeParam,
        data: JSONBody[NeedChange],
        caller: NamedDependency[Caller],
    ) -> NeedAdminOut:
        item = await catalog.change_need(
            caller.session, code, data, agent=caller.agent, now=caller.now
        )
        return need_out(item)
