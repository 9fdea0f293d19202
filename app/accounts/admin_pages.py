"""The administration pages of the staff accounts: the agents of one's mairies (a
manager) or of all of them (an administrator), a new account, and one account's page where
it is renamed, given another role or other mairies, disabled or enabled, given a new
password, or unlocked.

Plain forms posted with the session cookie and its CSRF field; each change is done by
the same commands as the API (app.accounts.commands), then the browser is sent back with a
confirmation. Form values are checked here first, to answer in French next to each field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

from litestar import get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from app.accounts import commands as agents
from app.accounts.actors import MANAGERS, Actor
from app.accounts.admin_forms import (
    admin_context,
    done_text,
    held_to,
    line,
    refusal_by_field,
    text,
)
from app.accounts.commands import GRANTED_BY_MANAGERS, AgentChange, AgentIn
from app.accounts.credentials import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, password_problem
from app.accounts.models import Agent
from app.accounts.service import sites_in_view
from app.errors import BadRequest, DomainError
from app.i18n import N_, formats, gettext
from app.i18n.texts import ROLES, label
from app.sites.models import Site
from app.web.context import Context
from app.web.staff import FormRefusals, Staff, StaffController, back

AgentId = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]

DONE = {
    "agent_cree": N_("Le compte a été créé."),
    "agent_modifie": N_(
        "Le compte a été modifié. Ses connexions ouvertes avant ont été fermées "
        "si son rôle ou ses mairies ont changé."
    ),
    "agent_desactive": N_("Le compte a été désactivé : il ne peut plus se connecter."),
    "agent_reactive": N_("Le compte a été réactivé."),
    "mot_de_passe": N_(
        "Le mot de passe a été changé et le compte débloqué. Communiquez-le à "
        "l'agent de vive voix, jamais par e-mail."
    ),
    "debloque": N_("Le compte a été débloqué."),
}
# What the pages say for the domain's refusals that the form checks cannot foresee.
REFUSALS = {
    "email_invalid": N_("Cette adresse e-mail n'est pas valide. Exemple : prenom.nom@paris.fr"),
    "unknown_site": N_("Une des mairies choisies n'existe pas."),
    "sites_missing": N_("Choisissez au moins une mairie."),
    "password_invalid": N_(
        "Ce mot de passe n'est pas accepté : au moins %(least)d caractères variés, et pas "
        "l'adresse e-mail."
    ),
    "email_taken": N_("Un compte existe déjà avec cette adresse e-mail."),
    "own_role": N_(
        "Vous ne pouvez pas changer votre propre rôle : demandez à l'administration de la Ville."
    ),
    "admin_only": N_("Seule l'administration de la Ville nomme des administrateurs."),
    "foreign_sites": N_(
        "Seule l'administration de la Ville attribue des mairies qui ne sont pas les vôtres."
    ),
    "admin_account": N_(
        "Seule l'administration de la Ville modifie le compte d'un administrateur."
    ),
    "manager_account": N_(
        "Seule l'administration de la Ville modifie le compte d'un autre responsable."
    ),
    "shared_agent": N_(
        "Cet agent travaille aussi dans une mairie qui n'est pas la vôtre : seule "
        "l'administration de la Ville peut modifier son compte (rôle, mairies, mot de passe, "
        "activation)."
    ),
}
# Which field each refusal is shown next to; the others go at the top of the form.
REFUSAL_FIELDS = {
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


def refusal(error: DomainError) -> dict[str, str]:
    """The commands' refusal of an agent form, in the current language, by the field it is
    shown next to."""
    return refusal_by_field(error, REFUSALS, REFUSAL_FIELDS, least=MIN_PASSWORD_LENGTH)


def _refusal_text(refused: DomainError) -> str:
    """Why the account cannot be changed, in the current language."""
    if refused.code not in REFUSALS:
        return refused.detail
    return gettext(REFUSALS[refused.code], least=MIN_PASSWORD_LENGTH)


def agent_form(
    form: FormMultiDict, staff: Staff, choices: list[Site], *, new: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    allowed = {site.slug for site in choices}
    values: dict[str, Any] = {
        "name": line(
            form, "name", 120, errors, gettext("Indiquez le prénom et le nom de l'agent.")
        ),
        "role": str(form.get("role", "")),
        "sites": sorted({str(slug) for slug in form.getall("sites", [])} & allowed),
    }
    if values["role"] not in roles_for(staff.actor):
        errors["role"] = gettext("Choisissez un rôle.")
    elif values["role"] != "admin" and not values["sites"]:
        errors["sites"] = gettext("Choisissez au moins une mairie.")
    if new:
        values["email"] = text(form, "email", 254)
        if "@" not in values["email"] or len(values["email"]) > 254:
            errors["email"] = gettext(
                "Indiquez l'adresse e-mail professionnelle, par exemple prenom.nom@paris.fr."
            )
        password = str(form.get("password", ""))[: MAX_PASSWORD_LENGTH + 1]
        if password_problem(password, values["email"]):
            errors["password"] = gettext(REFUSALS["password_invalid"], least=MIN_PASSWORD_LENGTH)
        values["password"] = password
    if not errors:
        held_to(AgentIn if new else AgentChange, values, errors)
    return values, errors


def roles_for(actor: Actor) -> dict[str, str]:
    """The roles `actor` may give, each with its name in the current language."""
    codes = ROLES if actor.is_admin else GRANTED_BY_MANAGERS
    return {code: gettext(ROLES[code]) for code in codes}


def _when(value: datetime | None, context: Context) -> str:
    return formats.moment(value.astimezone(context.zone)) if value else gettext("jamais")


def agent_row(other: Agent, context: Context) -> dict[str, Any]:
    """An account as the pages show it, in the city's time."""
    locked = other.locked_until is not None and other.locked_until > context.now
    if not other.active:
        state = gettext("Désactivé")
    elif locked:
        state = gettext("Bloqué jusqu'à %(when)s", when=_when(other.locked_until, context))
    else:
        state = gettext("Actif")
    return {
        "id": other.id,
        "name": other.name,
        "email": other.email,
        "role": label(ROLES, other.role),
        "raw_role": other.role,
        "sites": other.site_slugs,
        "site_names": ", ".join(site.name for site in other.sites) or gettext("toutes"),
        "active": other.active,
        "locked": locked,
        "failed_logins": other.failed_logins,
        "state": state,
        "last_login": _when(other.last_login_at, context),
    }


async def choices_of(staff: Staff) -> list[Site]:
    """The mairies whose agents `staff` manages."""
    return await sites_in_view(staff.session, staff.actor, roles=MANAGERS)


class AgentPages(StaffController):
    async def _agents_page(
        self,
        staff: Staff,
        *,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        slug = staff.request.query_params.get("mairie") or None
        choices = await choices_of(staff)
        if slug is not None and slug not in {site.slug for site in choices}:
            slug = None
        found = await agents.agents_in_view(staff.session, staff.actor, slug=slug)
        return Template(
            "admin_agents.html",
            context={
                **admin_context(staff, "agents"),
                "agents": [agent_row(other, staff.context) for other in found],
                "sites": choices,
                "chosen_site": slug,
                "roles": roles_for(staff.actor),
                "values": values or {"role": "reception", "sites": []},
                "errors": errors or {},
                "done": done_text(staff.request, DONE),
                "min_password": MIN_PASSWORD_LENGTH,
            },
            status_code=status,
        )

    @get("/admin/agents")
    async def agents_page(
        self,
        staff: NamedDependency[Staff],
    ) -> Template:
        return await self._agents_page(staff)

    @post("/admin/agents")
    async def add_agent(
        self,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        choices = await choices_of(staff)
        values, errors = agent_form(await staff.request.form(), staff, choices, new=True)
        if not errors:
            with FormRefusals(errors, refusal, passing=AGENT_REFUSALS_PASSING):
                created = await agents.create(
                    staff.session,
                    AgentIn(**values),
                    actor=staff.actor,
                    now=staff.now,
                )
                return back(f"/admin/agents/{created.id}", fait="agent_cree")
        values.pop("password", None)
        return await self._agents_page(staff, values=values, errors=errors, status=400)

    async def _agent_page(
        self,
        staff: Staff,
        agent_id: int,
        *,
        done: str | None = None,
        values: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        other = await agents.agent_in_view(staff.session, staff.actor, agent_id)
        choices = await choices_of(staff)
        # A manager also sees, without being able to change them, the agent's other sites.
        shown = {site.slug: site for site in [*choices, *other.sites]}
        row = agent_row(other, staff.context)
        refused = agents.change_refusal(staff.actor, other)
        return Template(
            "admin_agents_edit.html",
            context={
                **admin_context(staff, "agents"),
                "other": row,
                "sites": sorted(shown.values(), key=lambda site: site.id),
                "own_sites": {site.slug for site in choices},
                "roles": roles_for(staff.actor),
                "may_change": refused is None,
                "refusal": _refusal_text(refused) if refused else "",
                "itself": other.id == staff.actor.agent_id,
                "values": values or {"name": other.name, "role": other.role, "sites": row["sites"]},
                "errors": errors or {},
                "done": done,
                "min_password": MIN_PASSWORD_LENGTH,
            },
            status_code=status,
        )

    async def _refused(self, staff: Staff, agent_id: int) -> Template | None:
        """The agent's page, answered 403 with the reason, when the one logged in may not
        change this account at all (the API's refusal, in the same words as the page); None
        otherwise."""
        other = await agents.agent_in_view(staff.session, staff.actor, agent_id)
        if agents.change_refusal(staff.actor, other) is None:
            return None
        return await self._agent_page(staff, agent_id, status=403)

    @get("/admin/agents/{agent_id:int}")
    async def agent_page(
        self,
        agent_id: AgentId,
        staff: NamedDependency[Staff],
    ) -> Template:
        return await self._agent_page(staff, agent_id, done=done_text(staff.request, DONE))

    @post("/admin/agents/{agent_id:int}")
    async def change_agent(
        self,
        agent_id: AgentId,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        if refused := await self._refused(staff, agent_id):
            return refused
        other = await agents.agent_in_view(staff.session, staff.actor, agent_id)
        choices = await choices_of(staff)
        values, errors = agent_form(await staff.request.form(), staff, choices, new=False)
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
                await agents.change(
                    staff.session,
                    agent_id,
                    change,
                    actor=staff.actor,
                    now=staff.now,
                )
                return back(f"/admin/agents/{agent_id}", fait="agent_modifie")
        return await self._agent_page(staff, agent_id, values=values, errors=errors, status=400)

    async def _act(
        self,
        staff: Staff,
        agent_id: int,
        done: str,
        command: Callable[..., Awaitable[Agent]],
        *args: Any,
    ) -> Template | Redirect:
        """`command` (one of app.accounts.commands) done on the account by the one logged
        in, then back to the account's page with the confirmation `done`; the account's page
        answered 403 when they may not change it at all."""
        if refused := await self._refused(staff, agent_id):
            return refused
        await command(staff.session, agent_id, *args, actor=staff.actor, now=staff.now)
        return back(f"/admin/agents/{agent_id}", fait=done)

    @post("/admin/agents/{agent_id:int}/activation")
    async def switch_agent(
        self,
        agent_id: AgentId,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        active = (await staff.request.form()).get("active") == "oui"
        done = "agent_reactive" if active else "agent_desactive"
        return await self._act(staff, agent_id, done, agents.change, AgentChange(active=active))

    @post("/admin/agents/{agent_id:int}/mot-de-passe")
    async def reset_password(
        self,
        agent_id: AgentId,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        password = str((await staff.request.form()).get("password", ""))[: MAX_PASSWORD_LENGTH + 1]
        try:
            return await self._act(staff, agent_id, "mot_de_passe", agents.reset_password, password)
        except BadRequest:
            errors = {"password": gettext(REFUSALS["password_invalid"], least=MIN_PASSWORD_LENGTH)}
            return await self._agent_page(staff, agent_id, errors=errors, status=400)

    @post("/admin/agents/{agent_id:int}/deblocage")
    async def unlock_agent(
        self,
        agent_id: AgentId,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        return await self._act(staff, agent_id, "debloque", agents.unlock)
