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
from app.i18n import N_, gettext, ngettext
from app.web.staff import Staff

FALLBACK_REFUSAL = N_("Cette modification n'est pas possible. Vérifiez le formulaire.")


def admin_context(staff: Staff, section: str) -> dict[str, Any]:
    """The context every administration page starts from; `section` is lit in the menu."""
    return {"staff": staff, "agent": staff.actor, "section": section}


def done_text(request: Request[Any, Any, State], done: Mapping[str, str]) -> str | None:
    """The confirmation, among `done` (msgids by flag), that the change before the
    redirect asked for, in the current language."""
    found = done.get(request.query_params.get("fait", ""))
    return gettext(found) if found else None


def refusal_by_field(
    error: DomainError, texts: Mapping[str, str], fields: Mapping[str, str], **values: Any
) -> dict[str, str]:
    """The service's refusal of a form, in the current language (`texts`: msgids by code,
    with `values` put in), by the field it is shown next to (`fields` by code; the others
    go at the top of the form)."""
    text = gettext(texts.get(error.code, FALLBACK_REFUSAL), **values)
    return {fields.get(error.code, "form"): text}


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
        errors[name] = gettext(
            "%(label)s : indiquez un nombre entier de %(low)d à %(high)d.",
            label=label,
            low=low,
            high=high,
        )
    return value


def line(form: FormMultiDict, name: str, limit: int, errors: dict[str, str], missing: str) -> str:
    value = text(form, name, limit)
    if not value:
        errors[name] = missing
    elif len(value) > limit:
        errors[name] = ngettext("%(num)d caractère au plus.", "%(num)d caractères au plus.", limit)
    elif re.search(r"[\x00-\x1f\x7f]", value):
        errors[name] = gettext("N'utilisez que des lettres, des chiffres et des signes lisibles.")
    return value


def held_to(shape: type[msgspec.Struct], values: dict[str, Any], errors: dict[str, str]) -> None:
    """Hold the form to the API's own rules too, so that no value gets in by the pages that
    the API would refuse; the checks before have already said most of it in plain words."""
    try:
        msgspec.convert({k: v for k, v in values.items() if k in shape.__struct_fields__}, shape)
    except msgspec.ValidationError as exc:
        found = re.search(r"\$\.(\w+)", str(exc))
        field = found.group(1) if found else "form"
        errors.setdefault(field, gettext("Cette valeur n'est pas acceptée : vérifiez-la."))
