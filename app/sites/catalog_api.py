"""The catalogs over HTTP: managers read every item, retired ones included; administrators
add, change, retire (`active: false`) and offer again (`active: true`).

The two catalogs' APIs differ only by their items: `catalog_controller` makes each one's
controller from its `catalog.Kind`, its operations named after its items (`list_services`,
`get_need`…)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from litestar import Controller, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from app.accounts.guards import STAFF_SECURITY, Caller
from app.problems import problem_responses
from app.shapes import from_model
from app.sites import catalog
from app.sites.catalog import CODE_PATTERN, NeedChange, NeedIn, ServiceChange, ServiceIn
from app.sites.schemas import NeedOut, ServiceOut

CodeParam = Annotated[
    str, PathParameter(pattern=CODE_PATTERN, max_length=40, description="The item's code")
]
Handler = TypeVar("Handler", bound=Callable[..., Any])


class ServiceAdminOut(ServiceOut, kw_only=True):
    position: int
    active: bool
    # Empty: English readers are shown the French text.
    name_en: str
    description_en: str
    documents_en: list[str]


class NeedAdminOut(NeedOut, kw_only=True):
    position: int
    active: bool
    name_en: str


# The types of a catalog's new item, change and item answered: each controller gives its own
# (`signature_namespace`), for its operations and its OpenAPI document.
New = ServiceIn | NeedIn
Change = ServiceChange | NeedChange
Out = ServiceAdminOut | NeedAdminOut


def _named(handler: Handler, name: str) -> Handler:
    """`handler` named `name`: its operation's id ends with it."""
    handler.__name__ = handler.__qualname__ = name
    return handler


def catalog_controller(kind: catalog.Kind[Any], out: type[Out], listing: str) -> type[Controller]:
    """The controller of one catalog's API at `/api/v1/admin/<items>`, its items answered
    as `out`; `listing` says what its list is."""
    one = kind.name
    items = f"{one}s"

    async def list_items(self: Controller, caller: NamedDependency[Caller]) -> list[Out]:
        found = await catalog.all_of(caller.session, caller.actor, kind.model)
        return [from_model(item, out) for item in found]

    async def get_item(self: Controller, code: CodeParam, caller: NamedDependency[Caller]) -> Out:
        return from_model(await catalog.one_of(caller.session, caller.actor, kind.model, code), out)

    async def add_item(
        self: Controller, data: JSONBody[New], caller: NamedDependency[Caller]
    ) -> Out:
        item = await kind.create(caller.session, data, actor=caller.actor, now=caller.now)
        return from_model(item, out)

    async def change_item(
        self: Controller, code: CodeParam, data: JSONBody[Change], caller: NamedDependency[Caller]
    ) -> Out:
        item = await kind.save(caller.session, code, data, actor=caller.actor, now=caller.now)
        return from_model(item, out)

    operations = [
        get("/", summary=f"{listing}, retired ones last (manager)")(
            _named(list_items, f"list_{items}")
        ),
        get("/{code:str}", summary=f"One {one} of the catalog (manager)")(
            _named(get_item, f"get_{one}")
        ),
        post(
            "/",
            summary=f"Add a {one} to the catalog (administrator)",
            responses=problem_responses(409),
        )(_named(add_item, f"add_{one}")),
        patch(
            "/{code:str}",
            summary=f"Change a {one}, retire it (`active: false`) or offer it again "
            "(administrator)",
        )(_named(change_item, f"change_{one}")),
    ]
    return type(
        f"{items.title()}AdminController",
        (Controller,),
        {
            "path": f"/api/v1/admin/{items}",
            "tags": ["administration"],
            "security": STAFF_SECURITY,
            "signature_namespace": {"New": kind.new, "Change": kind.change, "Out": out},
            **{operation.handler_name: operation for operation in operations},
        },
    )


ServicesAdminController = catalog_controller(
    catalog.SERVICES, ServiceAdminOut, "The catalog of services"
)
NeedsAdminController = catalog_controller(
    catalog.NEEDS, NeedAdminOut, "The needs an usager may declare"
)
