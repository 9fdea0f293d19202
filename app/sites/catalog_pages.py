"""The administration pages of the catalog: the démarches (services) and the needs an usager
may declare. Everyone who administers sees the catalog; only administrators change it.

Plain forms posted with the session cookie and its CSRF field; each change is done by the
same commands as the API (app.sites.catalog), then the browser is sent back to the catalog
with a confirmation. Form values are checked here first, to answer in French next to each
field. An item's English texts are optional: left empty, English readers see the French.
The two catalogs' item pages differ only by what `Catalog` holds (with the catalog's
`catalog.Kind`), and are served by one base controller, `CatalogItemPages`, at each
catalog's own path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Generic

from litestar import get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from app.accounts import service as accounts
from app.accounts.admin_forms import (
    admin_context,
    done_text,
    held_to,
    line,
    number,
    refusal_by_field,
    text,
)
from app.errors import DomainError
from app.i18n import N_, gettext, ngettext
from app.shapes import field_names
from app.sites import catalog
from app.sites.catalog import CODE_PATTERN, Item, NeedChange, NeedIn, ServiceChange, ServiceIn
from app.sites.models import Need, Service
from app.web.staff import FormRefusals, Staff, StaffController, back

Code = Annotated[str, PathParameter(pattern=CODE_PATTERN, max_length=40)]

CATALOG_PAGE = "/admin/catalogue"
STATION_KINDS = {"standard": N_("Poste standard"), "double": N_("Poste double écran")}
DONE = {
    "service_ajoute": N_("La démarche a été ajoutée au catalogue."),
    "service_modifie": N_("La démarche a été modifiée."),
    "besoin_ajoute": N_("Le besoin a été ajouté."),
    "besoin_modifie": N_("Le besoin a été modifié."),
    "retire": N_("L'élément a été retiré : il n'est plus proposé, l'historique le garde."),
    "remis": N_("L'élément est de nouveau proposé."),
}
# What the pages say for the domain's refusals that the form checks cannot foresee, and
# next to which field.
REFUSALS = {
    "code_taken": N_(
        "Ce code est déjà pris (peut-être par un élément retiré) : choisissez-en un autre."
    ),
}
REFUSAL_FIELDS = {"code_taken": "code"}


def refusal(error: DomainError) -> dict[str, str]:
    """The commands' refusal of a catalog form, in French, by the field it is shown next to."""
    return refusal_by_field(error, REFUSALS, REFUSAL_FIELDS)


def code_field(form: FormMultiDict, errors: dict[str, str]) -> str:
    value = text(form, "code", 40).lower()
    if not re.fullmatch(CODE_PATTERN, value) or len(value) > 40:
        errors["code"] = gettext(
            "Le code s'écrit en minuscules sans accents, chiffres et tirets (40 caractères "
            "au plus), par exemple « carte-identite »."
        )
    return value


def optional_line(form: FormMultiDict, name: str, limit: int, errors: dict[str, str]) -> str:
    """A line that may be left empty (an English name: the French one is shown instead)."""
    value = text(form, name, limit)
    if len(value) > limit:
        errors[name] = ngettext("%(num)d caractère au plus.", "%(num)d caractères au plus.", limit)
    elif re.search(r"[\x00-\x1f\x7f]", value):
        errors[name] = gettext("N'utilisez que des lettres, des chiffres et des signes lisibles.")
    return value


def description_field(form: FormMultiDict, name: str, errors: dict[str, str]) -> str:
    value = text(form, name, 2000)
    if len(value) > 2000:
        errors[name] = ngettext("%(num)d caractère au plus.", "%(num)d caractères au plus.", 2000)
    return value


def documents_field(form: FormMultiDict, name: str, errors: dict[str, str]) -> list[str]:
    """The documents to bring, one a line, blank lines left out."""
    entries = [entry.strip() for entry in text(form, name, 4000).splitlines()]
    documents = [entry for entry in entries if entry]
    if len(documents) > 20 or any(len(entry) > 200 for entry in documents):
        errors[name] = gettext("20 documents au plus, de 200 caractères chacun au plus.")
    return documents


def service_form(form: FormMultiDict, *, new: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The entered values of a service form, and what is wrong with them, by field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {
        "code": code_field(form, errors) if new else "",
        "name": line(form, "name", 120, errors, gettext("Indiquez le nom de la démarche.")),
        "description": description_field(form, "description", errors),
        "duration_minutes": number(form, "duration_minutes", 5, 240, errors, gettext("Durée")),
        "station_kind": str(form.get("station_kind", "")),
        "documents": documents_field(form, "documents", errors),
        "name_en": optional_line(form, "name_en", 120, errors),
        "description_en": description_field(form, "description_en", errors),
        "documents_en": documents_field(form, "documents_en", errors),
        "position": number(form, "position", 0, 10_000, errors, gettext("Ordre"), required=False),
    }
    if values["station_kind"] not in STATION_KINDS:
        errors["station_kind"] = gettext("Choisissez le type de poste.")
    if not errors:
        held_to(ServiceIn if new else ServiceChange, values, errors)
    return values, errors


def need_form(form: FormMultiDict, *, new: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The entered values of a need form, and what is wrong with them, by field."""
    errors: dict[str, str] = {}
    kind = str(form.get("station_kind", ""))
    values: dict[str, Any] = {
        "code": code_field(form, errors) if new else "",
        "name": line(
            form, "name", 120, errors, gettext("Indiquez le besoin, tel que l'usager le lit.")
        ),
        "extra_minutes": number(form, "extra_minutes", 0, 120, errors, gettext("Temps en plus")),
        "station_kind": kind or None,
        "requires_accessible": form.get("requires_accessible") == "oui",
        "name_en": optional_line(form, "name_en", 120, errors),
        "position": number(form, "position", 0, 10_000, errors, gettext("Ordre"), required=False),
    }
    if kind and kind not in STATION_KINDS:
        errors["station_kind"] = gettext("Choisissez le type de poste.")
    if not errors:
        held_to(NeedIn if new else NeedChange, values, errors)
    return values, errors


@dataclass(frozen=True)
class Catalog(Generic[Item]):
    """What tells the pages of one catalog from the other's, besides its `catalog.Kind`."""

    kind: catalog.Kind[Item]
    read: Callable[..., tuple[dict[str, Any], dict[str, str]]]
    added: str
    changed: str
    blank: dict[str, Any]  # the values of a new item's form

    @property
    def template(self) -> str:
        return f"admin_catalog_{self.kind.name}.html"

    @property
    def fields(self) -> tuple[str, ...]:
        """Those of an item's form: what a change may change, but its being offered."""
        return tuple(name for name in field_names(self.kind.change) if name != "active")


SERVICES = Catalog[Service](
    kind=catalog.SERVICES,
    read=service_form,
    added="service_ajoute",
    changed="service_modifie",
    blank={"station_kind": "standard", "duration_minutes": 20, "documents": [], "documents_en": []},
)
NEEDS = Catalog[Need](
    kind=catalog.NEEDS,
    read=need_form,
    added="besoin_ajoute",
    changed="besoin_modifie",
    blank={"extra_minutes": 0, "station_kind": None, "requires_accessible": False},
)


class CatalogPages(StaffController):
    """The catalog: its démarches, then its needs, retired ones last."""

    @get(CATALOG_PAGE)
    async def catalog_page(
        self,
        staff: NamedDependency[Staff],
    ) -> Template:
        services = await catalog.all_of(staff.session, staff.actor, Service)
        needs = await catalog.all_of(staff.session, staff.actor, Need)
        return Template(
            "admin_catalog.html",
            context={
                **admin_context(staff, "catalogue"),
                "services": services,
                "needs": needs,
                "kinds": {code: gettext(name) for code, name in STATION_KINDS.items()},
                "editable": staff.actor.is_admin,
                "done": done_text(staff.request, DONE),
            },
        )


class CatalogItemPages(StaffController):
    """The form of a new item of one catalog (`pages`), its adding, the form of an item and
    its change; a subclass made by `item_pages` serves one catalog at its `path`, with the
    new item's form."""

    pages: ClassVar[Catalog[Any]]

    def _item_page(
        self,
        staff: Staff,
        item: Service | Need | None,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
    ) -> Template:
        """The form of a new item, or of `item`; again with `errors` when it was refused."""
        accounts.authorize(staff.actor, roles=catalog.ADMINISTRATORS)
        if values is None:
            fields = self.pages.fields
            values = self.pages.blank if item is None else {k: getattr(item, k) for k in fields}
        return Template(
            self.pages.template,
            context={
                **admin_context(staff, "catalogue"),
                "item": item,
                "values": values,
                "errors": errors or {},
                "kinds": {code: gettext(name) for code, name in STATION_KINDS.items()},
            },
            status_code=400 if errors else 200,
        )

    @post("/")
    async def add_item(
        self,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        pages, kind = self.pages, self.pages.kind
        values, errors = pages.read(await staff.request.form(), new=True)
        if not errors:
            with FormRefusals(errors, refusal):
                new = kind.new(**values)
                await kind.create(staff.session, new, actor=staff.actor, now=staff.now)
                return back(CATALOG_PAGE, fait=pages.added)
        return self._item_page(staff, None, values, errors)

    @get("/{code:str}")
    async def item_page(self, code: Code, staff: NamedDependency[Staff]) -> Template:
        item = await catalog.one_of(staff.session, staff.actor, self.pages.kind.model, code)
        return self._item_page(staff, item)

    @post("/{code:str}")
    async def change_item(
        self,
        code: Code,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        pages, kind, db, now = self.pages, self.pages.kind, staff.session, staff.now
        item = await catalog.one_of(staff.session, staff.actor, kind.model, code)
        form = await staff.request.form()
        if form.get("active") in ("oui", "non"):
            active = form.get("active") == "oui"
            await kind.save(db, item.code, kind.change(active=active), actor=staff.actor, now=now)
            return back(CATALOG_PAGE, fait="remis" if active else "retire")
        values, errors = pages.read(form, new=False)
        values.pop("code")
        if not errors:
            with FormRefusals(errors, refusal):
                await kind.save(db, item.code, kind.change(**values), actor=staff.actor, now=now)
                return back(CATALOG_PAGE, fait=pages.changed)
        return self._item_page(staff, item, values, errors)


def item_pages(pages: Catalog[Any], path: str, new_form: str) -> type[CatalogItemPages]:
    """The item pages of one catalog at `CATALOG_PAGE/<path>`, with the new item's form at
    the path its French gender asks for (`new_form`)."""

    async def new_item_form(self: CatalogItemPages, staff: NamedDependency[Staff]) -> Template:
        return self._item_page(staff, None)

    return type(
        f"{pages.kind.name.title()}Pages",
        (CatalogItemPages,),
        {
            "path": f"{CATALOG_PAGE}/{path}",
            "pages": pages,
            "new_item_form": get(f"/{new_form}")(new_item_form),
        },
    )


ServicePages = item_pages(SERVICES, "demarches", "nouvelle")
NeedPages = item_pages(NEEDS, "besoins", "nouveau")
