"""What the administration pages share: the context each page starts from, the
confirmation of the last change, and the reading of a form's values in French (a line of
text, a whole number, and the API's own shape as the last check), so that the pages of the
agents, of the catalog, of the journal and of one person's data answer alike."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Request
from litestar.datastructures import FormMultiDict, State

from app import bounds
from app.errors import DomainError
from app.web.staff import Staff

FALLBACK_REFUSAL = "Cette modification n'est pas possible. Vérifiez le formulaire."


def admin_context(staff: Staff, section: str) -> dict[str, Any]:
    """The context every administration page starts from; `section` is lit in the menu."""
    return {"staff": staff, "agent": staff.agent, "section": section}


def done_text(request: Request[Any, Any, State], done: Mapping[str, str]) -> str | None:
    """The confirmation, among `done`, that the change before the redirect asked for."""
    return done.get(request.query_params.get("fait", ""))


def refusal_by_field(
    error: DomainError, texts: Mapping[str, str], fields: Mapping[str, str]
) -> dict[str, str]:
    """The service's refusal of a form, in French (`texts` by code), by the field it is
    shown next to (`fields` by code; the others go at the top of the form)."""
    return {fields.get(error.code, "form"): texts.get(error.code, FALLBACK_REFUSAL)}


def text(form: FormMultiDict, name: str, limit: int) -> str:
    """The field's value, cut one character past `limit` so that a longer one is told."""
    return str(form.get(name, "")).strip()[: limit + 1]


def number(
    form: FormMultiDict,
    name: str,
    low: int,
    high: int,
    errors: dict[str, str],
    label: str,
    *,
    required: bool = True,
) -> int | None:
    raw = text(form, name, 10)
    if not raw and not required:
        return None
    value = bounds.parse_int(raw, low, high)
    if value is None:
        errors[name] = f"{label} : indiquez un nombre entier de {low} à {high}."
    return value


def line(form: FormMultiDict, name: str, limit: int, errors: dict[str, str], missing: str) -> str:
    value = text(form, name, limit)
    if not value:
        errors[name] = missing
    elif len(value) > limit:
        errors[name] = f"{limit} caractères au plus."
    elif re.search(r"[\x00-\x1f\x7f]", value):
        errors[name] = "N'utilisez que des lettres, des chiffres et des signes lisibles."
    return value


def held_to(shape: type[msgspec.Struct], values: dict[str, Any], errors: dict[str, str]) -> None:
    """Hold the form to the API's own rules too, so that no value gets in by the pages that
    the API would refuse; the checks before have already said most of it in plain words."""
    try:
        msgspec.convert({k: v for k, v in values.items() if k in shape.__struct_fields__}, shape)
    except msgspec.ValidationError as exc:
        found = re.search(r"\$\.(\w+)", str(exc))
        field = found.group(1) if found else "form"
        errors.setdefault(field, "Cette valeur n'est pas acceptée : vérifiez-la.")
