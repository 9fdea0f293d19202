"""The administration pages of the catalogs, of the staff accounts and of the audit log.

Plain forms posted with the session cookie and its CSRF field; each change is done by
the same services as the API, then the browser is sent back with a confirmation.
Form values are checked here first, to answer in French next to each field.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, get, post
from litestar.datastructures import FormMultiDict, State
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import bounds
from app.accounts import commands as agents
from app.accounts import service as accounts
from app.accounts.commands import GRANTED_BY_MANAGERS, AgentChange, AgentIn
from app.accounts.credentials import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, password_problem
from app.accounts.models import Agent
from app.accounts.service import MANAGERS, sites_in_view
from app.audit.api import read_log
from app.config import Settings
from app.db import Database
from app.errors import BadRequest, DomainError
from app.sites import catalog
from app.sites.catalog import CODE_PATTERN, NeedChange, NeedIn, ServiceChange, ServiceIn
from app.sites.models import Need, Service, Site
from app.web.staff import FormRefusals, Staff, StaffController, back

AgentId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
Code = Annotated[str, PathParameter(pattern=CODE_PATTERN, max_length=40)]

ROLES = {
    "reception": "Accueil",
    "facilitator": "Facilitation",
    "manager": "Responsable de mairie",
    "admin": "Administration de la Ville (toutes les mairies)",
}
STATION_KINDS = {"standard": "Poste standard", "double": "Poste double écran"}
DONE = {
    "agent_cree": "Le compte a été créé.",
    "agent_modifie": "Le compte a été modifié. Ses connexions ouvertes avant ont été fermées "
    "si son rôle ou ses mairies ont changé.",
    "agent_desactive": "Le compte a été désactivé : il ne peut plus se connecter.",
    "agent_reactive": "Le compte a été réactivé.",
    "mot_de_passe": "Le mot de passe a été changé et le compte débloqué. Communiquez-le à "
    "l'agent de vive voix, jamais par e-mail.",
    "debloque": "Le compte a été débloqué.",
    "service_ajoute": "La démarche a été ajoutée au catalogue.",
    "service_modifie": "La démarche a été modifiée.",
    "besoin_ajoute": "Le besoin a été ajouté.",
    "besoin_modifie": "Le besoin a été modifié.",
    "retire": "L'élément a été retiré : il n'est plus proposé, l'historique le garde.",
    "remis": "L'élément est de nouveau proposé.",
}
# What the pages say for the domain's refusals that the form checks cannot foresee.
REFUSALS = {
    "code_taken": "Ce code est déjà pris (peut-être par un élément retiré) : choisissez-en un "
    "autre.",
    "email_invalid": "Cette adresse e-mail n'est pas valide. Exemple : prenom.nom@paris.fr",
    "unknown_site": "Une des mairies choisies n'existe pas.",
    "sites_missing": "Choisissez au moins une mairie.",
    "password_invalid": "Ce mot de passe n'est pas accepté : au moins "
    f"{MIN_PASSWORD_LENGTH} caractères variés, et pas l'adresse e-mail.",
    "email_taken": "Un compte existe déjà avec cette adresse e-mail.",
    "own_role": "Vous ne pouvez pas changer votre propre rôle : demandez à l'administration "
    "de la Ville.",
    "admin_only": "Seule l'administration de la Ville nomme des administrateurs.",
    "foreign_sites": "Seule l'administration de la Ville attribue des mairies qui ne sont pas "
    "les vôtres.",
    "admin_account": "Seule l'administration de la Ville modifie le compte d'un administrateur.",
    "shared_agent": "Cet agent travaille aussi dans une mairie qui n'est pas la vôtre : seule "
    "l'administration de la Ville peut modifier son compte (rôle, mairies, mot de passe, "
    "activation).",
}
# Which field each refusal is shown next to; the others go at the top of the form.
REFUSAL_FIELDS = {
    "code_taken": "code",
    "email_invalid": "email",
    "email_taken": "email",
    "password_invalid": "password",
    "sites_missing": "sites",
    "unknown_site": "sites",
    "foreign_sites": "sites",
    "own_role": "role",
    "admin_only": "role",
}
# The agent forms show even a refusal of rights (own role, sites, administrators) in the form.
AGENT_REFUSALS_PASSING: tuple[int, ...] = ()
ACTIONS = {
    "auth.login": "Connexion",
    "auth.login_failed": "Échec de connexion",
    "auth.login_refused": "Connexion refusée",
    "auth.locked": "Compte bloqué après des erreurs de mot de passe",
    "auth.slowed": "Connexions ralenties depuis une adresse après des erreurs de mot de passe",
    "appointment.booked": "Rendez-vous pris pour une personne",
    "ticket.issued": "Ticket remis",
    "ticket.checked_in": "Arrivée enregistrée",
    "ticket.checked_in_late": "Arrivée en retard enregistrée",
    "ticket.called": "Ticket appelé",
    "ticket.recall": "Ticket rappelé",
    "ticket.start": "Prise en charge commencée",
    "ticket.finish": "Prise en charge terminée",
    "ticket.no_show": "Personne absente",
    "ticket.cancel": "Ticket annulé",
    "ticket.transfer": "Ticket transféré",
    "escalation.moved": "Demande transmise : étape suivante",
    "department.created": "Service expert ajouté",
    "department.changed": "Service expert modifié",
    "service.created": "Démarche ajoutée au catalogue",
    "service.changed": "Démarche modifiée",
    "service.retired": "Démarche retirée",
    "service.restored": "Démarche proposée à nouveau",
    "need.created": "Besoin ajouté",
    "need.changed": "Besoin modifié",
    "need.retired": "Besoin retiré",
    "need.restored": "Besoin proposé à nouveau",
    "agent.created": "Compte d'agent créé",
    "agent.renamed": "Compte d'agent renommé",
    "agent.role_changed": "Rôle d'un agent changé",
    "agent.sites_changed": "Mairies d'un agent changées",
    "agent.disabled": "Compte d'agent désactivé",
    "agent.enabled": "Compte d'agent réactivé",
    "agent.password_reset": "Mot de passe d'un agent changé",
    "agent.unlocked": "Compte d'agent débloqué",
    "site.settings_changed": "Réglages de la mairie modifiés",
    "station.created": "Poste ajouté",
    "station.changed": "Poste modifié",
    "station.out_of_service": "Poste mis hors service",
    "station.back_in_service": "Poste remis en service",
    "hours.changed": "Horaires de la semaine modifiés",
    "hours_exception.added": "Horaires d'un jour particulier fixés",
    "hours_exception.deleted": "Horaires d'un jour particulier retirés",
    "closure.added": "Fermeture exceptionnelle ajoutée",
    "closure.deleted": "Fermeture exceptionnelle retirée",
}
ACTION_FILTERS = {
    "": "Toutes les actions",
    "auth.": "Connexions",
    "agent.": "Comptes des agents",
    "ticket.": "Tickets et file d'attente",
    "appointment.": "Rendez-vous",
    "escalation.": "Demandes transmises",
    "service.": "Catalogue des démarches",
    "need.": "Besoins",
    "department.": "Services experts",
    "site.": "Mairies",
    "station.": "Postes",
    "hours.": "Horaires de la semaine",
    "hours_exception.": "Jours particuliers",
    "closure.": "Fermetures exceptionnelles",
}
ACTION_PATTERN = re.compile(r"^[a-z_]+(\.[a-z_]*)?$")
JOURNAL_PAGE = 50


def action_label(code: str) -> str:
    return ACTIONS.get(code, code)


def refusal(error: DomainError) -> dict[str, str]:
    """The service's refusal of a form, in French, by the field it is shown next to."""
    text = REFUSALS.get(
        error.code, "Cette modification n'est pas possible. Vérifiez le formulaire."
    )
    return {REFUSAL_FIELDS.get(error.code, "form"): text}


def _text(form: FormMultiDict, name: str, limit: int) -> str:
    return str(form.get(name, "")).strip()[: limit + 1]


def _number(
    form: FormMultiDict,
    name: str,
    low: int,
    high: int,
    errors: dict[str, str],
    label: str,
    *,
    required: bool = True,
) -> int | None:
    raw = _text(form, name, 10)
    if not raw and not required:
        return None
    value = bounds.parse_int(raw, low, high)
    if value is None:
        errors[name] = f"{label} : indiquez un nombre entier de {low} à {high}."
    return value


def _line(form: FormMultiDict, name: str, limit: int, errors: dict[str, str], missing: str) -> str:
    value = _text(form, name, limit)
    if not value:
        errors[name] = missing
    elif len(value) > limit:
        errors[name] = f"{limit} caractères au plus."
    elif re.search(r"[\x00-\x1f\x7f]", value):
        errors[name] = "N'utilisez que des lettres, des chiffres et des signes lisibles."
    return value


def _code(form: FormMultiDict, errors: dict[str, str]) -> str:
    value = _text(form, "code", 40).lower()
    if not re.fullmatch(CODE_PATTERN, value) or len(value) > 40:
        errors["code"] = (
            "Le code s'écrit en minuscules sans accents, chiffres et tirets (40 caractères "
            "au plus), par exemple « carte-identite »."
        )
    return value


def _checked(shape: type[msgspec.Struct], values: dict[str, Any], errors: dict[str, str]) -> None:
    """Hold the form to the API's own rules too, so that no value gets in by the pages that
    the API would refuse; the checks above have already said most of it in plain words."""
    try:
        msgspec.convert({k: v for k, v in values.items() if k in shape.__struct_fields__}, shape)
    except msgspec.ValidationError as exc:
        found = re.search(r"\$\.(\w+)", str(exc))
        field = found.group(1) if found else "form"
        errors.setdefault(field, "Cette valeur n'est pas acceptée : vérifiez-la.")


def service_form(form: FormMultiDict, *, new: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """The entered values of a service form, and what is wrong with them, by field."""
    errors: dict[str, str] = {}
    documents = [line.strip() for line in _text(form, "documents", 4000).splitlines()]
    values: dict[str, Any] = {
        "code": _code(form, errors) if new else "",
        "name": _line(form, "name", 120, errors, "Indiquez le nom de la démarche."),
        "description": _text(form, "description", 2000),
        "duration_minutes": _number(form, "duration_minutes", 5, 240, errors, "Durée"),
        "station_kind": str(form.get("station_kind", "")),
        "documents": [line for line in documents if line],
        "position": _number(form, "position", 0, 10_000, errors, "Ordre", required=False),
    }
    if len(values["description"]) > 2000:
        errors["description"] = "2000 caractères au plus."
    if values["station_kind"] not in STATION_KINDS:
        errors["station_kind"] = "Choisissez le type de poste."
    if len(values["documents"]) > 20 or any(len(line) > 200 for line in values["documents"]):
        errors["documents"] = "20 documents au plus, de 200 caractères chacun au plus."
    if not errors:
        _checked(ServiceIn if new else ServiceChange, values, errors)
    return values, errors


def need_form(form: FormMultiDict, *, new: bool) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    kind = str(form.get("station_kind", ""))
    values: dict[str, Any] = {
        "code": _code(form, errors) if new else "",
        "name": _line(form, "name", 120, errors, "Indiquez le besoin, tel que l'usager le lit."),
        "extra_minutes": _number(form, "extra_minutes", 0, 120, errors, "Temps en plus"),
        "station_kind": kind or None,
        "requires_accessible": form.get("requires_accessible") == "oui",
        "position": _number(form, "position", 0, 10_000, errors, "Ordre", required=False),
    }
    if kind and kind not in STATION_KINDS:
        errors["station_kind"] = "Choisissez le type de poste."
    if not errors:
        _checked(NeedIn if new else NeedChange, values, errors)
    return values, errors


@dataclass(frozen=True)
class Catalog:
    """What tells the pages of one catalog from the other's."""

    template: str
    read: Callable[..., tuple[dict[str, Any], dict[str, str]]]
    new: type[ServiceIn] | type[NeedIn]
    change: type[ServiceChange] | type[NeedChange]
    create: Callable[..., Awaitable[object]]
    save: Callable[..., Awaitable[object]]
    added: str
    changed: str
    blank: dict[str, Any]  # the values of a new item's form
    fields: tuple[str, ...]  # those of an item's form


SERVICES = Catalog(
    template="admin_catalog_service.html",
    read=service_form,
    new=ServiceIn,
    change=ServiceChange,
    create=catalog.create_service,
    save=catalog.change_service,
    added="service_ajoute",
    changed="service_modifie",
    blank={"station_kind": "standard", "duration_minutes": 20, "documents": []},
    fields=("name", "description", "duration_minutes", "station_kind", "documents", "position"),
)
NEEDS = Catalog(
    template="admin_catalog_need.html",
    read=need_form,
    new=NeedIn,
    change=NeedChange,
    create=catalog.create_need,
    save=catalog.change_need,
    added="besoin_ajoute",
    changed="besoin_modifie",
    blank={"extra_minutes": 0, "station_kind": None, "requires_accessible": False},
    fields=("name", "extra_minutes", "station_kind", "requires_accessible", "position"),
)


def agent_form(
    form: FormMultiDict, staff: Staff, choices: list[Site], *, new: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    allowed = {site.slug for site in choices}
    values: dict[str, Any] = {
        "name": _line(form, "name", 120, errors, "Indiquez le prénom et le nom de l'agent."),
        "role": str(form.get("role", "")),
        "sites": sorted({str(slug) for slug in form.getall("sites", [])} & allowed),
    }
    if values["role"] not in roles_for(staff.agent):
        errors["role"] = "Choisissez un rôle."
    elif values["role"] != "admin" and not values["sites"]:
        errors["sites"] = "Choisissez au moins une mairie."
    if new:
        values["email"] = _text(form, "email", 254)
        if "@" not in values["email"] or len(values["email"]) > 254:
            errors["email"] = (
                "Indiquez l'adresse e-mail professionnelle, par exemple prenom.nom@paris.fr."
            )
        password = str(form.get("password", ""))[: MAX_PASSWORD_LENGTH + 1]
        if password_problem(password, values["email"]):
            errors["password"] = REFUSALS["password_invalid"]
        values["password"] = password
    if not errors:
        _checked(AgentIn if new else AgentChange, values, errors)
    return values, errors


def roles_for(agent: Agent) -> dict[str, str]:
    """The roles `agent` may give."""
    if agent.role == "admin":
        return ROLES
    return {code: ROLES[code] for code in GRANTED_BY_MANAGERS}


def _done(request: Request[Any, Any, State]) -> str | None:
    return DONE.get(request.query_params.get("fait", ""))


def _base(staff: Staff, section: str) -> dict[str, Any]:
    return {"staff": staff, "agent": staff.agent, "section": section}


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%d/%m/%Y %H:%M") if value else "jamais"


def agent_row(other: Agent, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    locked = other.locked_until is not None and other.locked_until > now
    if not other.active:
        state = "Désactivé"
    elif locked:
        state = f"Bloqué jusqu'à {_when(other.locked_until, zone)}"
    else:
        state = "Actif"
    return {
        "id": other.id,
        "name": other.name,
        "email": other.email,
        "role": ROLES.get(other.role, other.role),
        "raw_role": other.role,
        "sites": other.site_slugs,
        "site_names": ", ".join(site.name for site in other.sites) or "toutes",
        "active": other.active,
        "locked": locked,
        "failed_logins": other.failed_logins,
        "state": state,
        "last_login": _when(other.last_login_at, zone),
    }


def _details(details: Mapping[str, Any]) -> str:
    parts = []
    for key, value in details.items():
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        parts.append(f"{key} : {shown}")
    return " ; ".join(parts)


def _day(raw: str, name: str, errors: dict[str, str]) -> date | None:
    if not raw:
        return None
    day = bounds.parse_date(raw)
    if day is None:
        errors[name] = (
            "Écrivez la date sous la forme AAAA-MM-JJ, par exemple 2026-12-01, "
            f"{bounds.DAY_BOUNDS}."
        )
    return day


class AdminPeoplePages(StaffController):
    # Catalog

    @get("/admin/catalogue")
    async def catalog_page(
        self,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
    ) -> Template:
        services = await catalog.all_of(session, staff.agent, Service)
        needs = await catalog.all_of(session, staff.agent, Need)
        return Template(
            "admin_catalog.html",
            context={
                **_base(staff, "catalogue"),
                "services": services,
                "needs": needs,
                "kinds": STATION_KINDS,
                "editable": staff.agent.role == "admin",
                "done": _done(request),
            },
        )

    def _item_page(
        self,
        kind: Catalog,
        staff: Staff,
        item: Service | Need | None,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
    ) -> Template:
        """The form of a new item, or of `item`; again with `errors` when it was refused."""
        accounts.authorize(staff.agent, roles=catalog.ADMINISTRATORS)
        if values is None:
            values = kind.blank if item is None else {k: getattr(item, k) for k in kind.fields}
        return Template(
            kind.template,
            context={
                **_base(staff, "catalogue"),
                "item": item,
                "values": values,
                "errors": errors or {},
                "kinds": STATION_KINDS,
            },
            status_code=400 if errors else 200,
        )

    async def _add(
        self,
        kind: Catalog,
        request: Request[Any, Any, State],
        db: Database,
        now: datetime,
        staff: Staff,
    ) -> Template | Redirect:
        values, errors = kind.read(await request.form(), new=True)
        if not errors:
            with FormRefusals(errors, refusal):
                await kind.create(db, kind.new(**values), agent=staff.agent, now=now)
                return back("/admin/catalogue", fait=kind.added)
        return self._item_page(kind, staff, None, values, errors)

    async def _change(
        self,
        kind: Catalog,
        item: Service | Need,
        request: Request[Any, Any, State],
        db: Database,
        now: datetime,
        staff: Staff,
    ) -> Template | Redirect:
        form = await request.form()
        if form.get("active") in ("oui", "non"):
            active = form.get("active") == "oui"
            await kind.save(db, item.code, kind.change(active=active), agent=staff.agent, now=now)
            return back("/admin/catalogue", fait="remis" if active else "retire")
        values, errors = kind.read(form, new=False)
        values.pop("code")
        if not errors:
            with FormRefusals(errors, refusal):
                await kind.save(db, item.code, kind.change(**values), agent=staff.agent, now=now)
                return back("/admin/catalogue", fait=kind.changed)
        return self._item_page(kind, staff, item, values, errors)

    @get("/admin/catalogue/demarches/nouvelle")
    async def new_service_form(self, staff: NamedDependency[Staff]) -> Template:
        return self._item_page(SERVICES, staff, None)

    @post("/admin/catalogue/demarches")
    async def add_service(
        self,
        request: Request[Any, Any, State],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        return await self._add(SERVICES, request, db, now, staff)

    @get("/admin/catalogue/demarches/{code:str}")
    async def service_form_page(
        self, code: Code, session: NamedDependency[AsyncSession], staff: NamedDependency[Staff]
    ) -> Template:
        item = await catalog.one_of(session, staff.agent, Service, code)
        return self._item_page(SERVICES, staff, item)

    @post("/admin/catalogue/demarches/{code:str}")
    async def change_service(
        self,
        code: Code,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        item = await catalog.one_of(session, staff.agent, Service, code)
        return await self._change(SERVICES, item, request, db, now, staff)

    @get("/admin/catalogue/besoins/nouveau")
    async def new_need_form(self, staff: NamedDependency[Staff]) -> Template:
        return self._item_page(NEEDS, staff, None)

    @post("/admin/catalogue/besoins")
    async def add_need(
        self,
        request: Request[Any, Any, State],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        return await self._add(NEEDS, request, db, now, staff)

    @get("/admin/catalogue/besoins/{code:str}")
    async def need_form_page(
        self, code: Code, session: NamedDependency[AsyncSession], staff: NamedDependency[Staff]
    ) -> Template:
        item = await catalog.one_of(session, staff.agent, Need, code)
        return self._item_page(NEEDS, staff, item)

    @post("/admin/catalogue/besoins/{code:str}")
    async def change_need(
        self,
        code: Code,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        item = await catalog.one_of(session, staff.agent, Need, code)
        return await self._change(NEEDS, item, request, db, now, staff)

    # Agents

    async def _agents_page(
        self,
        request: Request[Any, Any, State],
        session: AsyncSession,
        settings: Settings,
        now: datetime,
        staff: Staff,
        *,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        slug = request.query_params.get("mairie") or None
        choices = await sites_in_view(session, staff.agent, roles=MANAGERS)
        if slug is not None and slug not in {site.slug for site in choices}:
            slug = None
        found = await agents.agents_in_view(session, staff.agent, slug=slug)
        zone = ZoneInfo(settings.timezone)
        return Template(
            "admin_agents.html",
            context={
                **_base(staff, "agents"),
                "agents": [agent_row(other, zone, now) for other in found],
                "sites": choices,
                "chosen_site": slug,
                "roles": roles_for(staff.agent),
                "values": values or {"role": "reception", "sites": []},
                "errors": errors or {},
                "done": _done(request),
                "min_password": MIN_PASSWORD_LENGTH,
            },
            status_code=status,
        )

    @get("/admin/agents")
    async def agents_page(
        self,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template:
        return await self._agents_page(request, session, settings, now, staff)

    @post("/admin/agents")
    async def add_agent(
        self,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        choices = await sites_in_view(session, staff.agent, roles=MANAGERS)
        values, errors = agent_form(await request.form(), staff, choices, new=True)
        if not errors:
            with FormRefusals(errors, refusal, passing=AGENT_REFUSALS_PASSING):
                created = await agents.create(db, AgentIn(**values), actor=staff.agent, now=now)
                return back(f"/admin/agents/{created.id}", fait="agent_cree")
        values.pop("password", None)
        return await self._agents_page(
            request, session, settings, now, staff, values=values, errors=errors, status=400
        )

    async def _agent_page(
        self,
        session: AsyncSession,
        settings: Settings,
        now: datetime,
        staff: Staff,
        agent_id: int,
        *,
        done: str | None = None,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        other = await agents.agent_in_view(session, staff.agent, agent_id)
        choices = await sites_in_view(session, staff.agent, roles=MANAGERS)
        # A manager also sees, without being able to change them, the agent's other sites.
        shown = {site.slug: site for site in [*choices, *other.sites]}
        row = agent_row(other, ZoneInfo(settings.timezone), now)
        refused = agents.change_refusal(staff.agent, other)
        return Template(
            "admin_agents_edit.html",
            context={
                **_base(staff, "agents"),
                "other": row,
                "sites": sorted(shown.values(), key=lambda site: site.id),
                "own_sites": {site.slug for site in choices},
                "roles": roles_for(staff.agent),
                "may_change": refused is None,
                "refusal": REFUSALS.get(refused.code, refused.detail) if refused else "",
                "itself": other.id == staff.agent.id,
                "values": values or {"name": other.name, "role": other.role, "sites": row["sites"]},
                "errors": errors or {},
                "done": done,
                "min_password": MIN_PASSWORD_LENGTH,
            },
            status_code=status,
        )

    async def _refused(
        self, session: AsyncSession, settings: Settings, now: datetime, staff: Staff, agent_id: int
    ) -> Template | None:
        """The agent's page, answered 403 with the reason, when `staff` may not change this
        account at all (the API's refusal, in the same words as the page); None otherwise."""
        other = await agents.agent_in_view(session, staff.agent, agent_id)
        if agents.change_refusal(staff.agent, other) is None:
            return None
        return await self._agent_page(session, settings, now, staff, agent_id, status=403)

    @get("/admin/agents/{agent_id:int}")
    async def agent_page(
        self,
        agent_id: AgentId,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template:
        return await self._agent_page(session, settings, now, staff, agent_id, done=_done(request))

    @post("/admin/agents/{agent_id:int}")
    async def change_agent(
        self,
        agent_id: AgentId,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        if refused := await self._refused(session, settings, now, staff, agent_id):
            return refused
        other = await agents.agent_in_view(session, staff.agent, agent_id)
        choices = await sites_in_view(session, staff.agent, roles=MANAGERS)
        values, errors = agent_form(await request.form(), staff, choices, new=False)
        # The sites the manager may not see in the form stay as they are.
        kept = [slug for slug in other.site_slugs if slug not in {s.slug for s in choices}]
        values["sites"] = sorted({*values["sites"], *kept})
        if errors.get("sites") and kept:
            del errors["sites"]
        if not errors:
            change = AgentChange(
                name=values["name"],
                role=values["role"] if values["role"] != other.role else None,
                sites=values["sites"],
            )
            with FormRefusals(errors, refusal, passing=AGENT_REFUSALS_PASSING):
                await agents.change(db, agent_id, change, actor=staff.agent, now=now)
                return back(f"/admin/agents/{agent_id}", fait="agent_modifie")
        return await self._agent_page(
            session, settings, now, staff, agent_id, values=values, errors=errors, status=400
        )

    @post("/admin/agents/{agent_id:int}/activation")
    async def switch_agent(
        self,
        agent_id: AgentId,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        if refused := await self._refused(session, settings, now, staff, agent_id):
            return refused
        active = (await request.form()).get("active") == "oui"
        change = AgentChange(active=active)
        await agents.change(db, agent_id, change, actor=staff.agent, now=now)
        return back(
            f"/admin/agents/{agent_id}", fait="agent_reactive" if active else "agent_desactive"
        )

    @post("/admin/agents/{agent_id:int}/mot-de-passe")
    async def reset_password(
        self,
        agent_id: AgentId,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        if refused := await self._refused(session, settings, now, staff, agent_id):
            return refused
        password = str((await request.form()).get("password", ""))[: MAX_PASSWORD_LENGTH + 1]
        try:
            await agents.reset_password(db, agent_id, password, actor=staff.agent, now=now)
        except BadRequest:
            errors = {"password": REFUSALS["password_invalid"]}
            return await self._agent_page(
                session, settings, now, staff, agent_id, errors=errors, status=400
            )
        return back(f"/admin/agents/{agent_id}", fait="mot_de_passe")

    @post("/admin/agents/{agent_id:int}/deblocage")
    async def unlock_agent(
        self,
        agent_id: AgentId,
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        if refused := await self._refused(session, settings, now, staff, agent_id):
            return refused
        await agents.unlock(db, agent_id, actor=staff.agent, now=now)
        return back(f"/admin/agents/{agent_id}", fait="debloque")

    # Audit log

    @get("/admin/journal")
    async def journal(
        self,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        staff: NamedDependency[Staff],
    ) -> Template:
        params = request.query_params
        errors: dict[str, str] = {}
        slug = params.get("mairie", "")[:40] or None
        action = params.get("action", "")[:40]
        if action and not ACTION_PATTERN.fullmatch(action):
            errors["action"] = "Choisissez un type d'action de la liste."
        by_agent = params.get("agent", "")
        agent_id = bounds.parse_int(by_agent, 1, bounds.LARGEST_ID)
        if by_agent and agent_id is None:
            errors["agent"] = "Choisissez un agent de la liste."
        before = bounds.parse_int(params.get("avant"), 1, 2**63 - 1)
        first = _day(params.get("du", ""), "du", errors)
        last = _day(params.get("au", ""), "au", errors)
        if first and last and last < first:
            errors["au"] = "Le dernier jour vient avant le premier."
        sites = await sites_in_view(session, staff.agent, roles=MANAGERS)
        events = []
        older = None
        if not errors:
            log = await read_log(
                session,
                staff.agent,
                settings,
                slug=slug,
                agent_id=agent_id,
                action=action or None,
                first=first,
                last=last,
                before=before,
                limit=JOURNAL_PAGE,
            )
            names = {site.slug: site.name for site in sites}
            events = [
                {
                    "at": event.at.strftime("%d/%m/%Y %H:%M:%S"),
                    "iso": event.at.isoformat(),
                    "agent": (event.agent.name or event.agent.email) if event.agent else "",
                    "site": names.get(event.site, event.site) if event.site else "",
                    "action": action_label(event.action),
                    "code": event.action,
                    "target": event.target,
                    "details": _details(event.details),
                    "address": event.address,
                }
                for event in log.events
            ]
            if log.next_before is not None:
                query = {key: value for key, value in params.items() if key != "avant" and value}
                older = "/admin/journal?" + urlencode({**query, "avant": str(log.next_before)})
        colleagues = await agents.agents_in_view(session, staff.agent, slug=None)
        newest = None
        if before:
            query = {key: value for key, value in params.items() if key != "avant" and value}
            newest = "/admin/journal?" + urlencode(query)
        return Template(
            "admin_journal.html",
            context={
                **_base(staff, "journal"),
                "events": events,
                "older": older,
                "newest": newest,
                "sites": sites,
                "colleagues": colleagues,
                "actions": ACTION_FILTERS,
                "chosen": {
                    "mairie": slug or "",
                    "agent": by_agent,
                    "action": action,
                    "du": params.get("du", "")[:10],
                    "au": params.get("au", "")[:10],
                },
                "errors": errors,
                "zone": settings.timezone,
            },
            status_code=400 if errors else 200,
        )
