"""What every resident's page shares: refusals and errors shown as a page in French with
the right status, and forms accepted only from our own pages."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.response import Template

from app.errors import DomainError, status_of
from app.i18n import gettext
from app.i18n.texts import refusal
from app.security import forms_from_our_pages


def on_page_error(request: Request[Any, Any, State], exc: Exception) -> Response[Any]:
    """Errors on the usager's pages, as a French page with the right status."""
    status = status_of(exc)
    if status == 404:
        title = gettext("Page introuvable")
        text = gettext("Cette page n'existe pas, ou ce lien n'est plus valable.")
    elif status == 429:
        title = gettext("Trop de demandes")
        text = gettext("Vous avez fait beaucoup de demandes : attendez une minute.")
    elif status < 500:
        title, text = gettext("Demande impossible"), refusal(getattr(exc, "code", ""))
    else:
        title = gettext("Erreur")
        text = gettext("Le service rencontre un problème. Réessayez dans un instant.")
    headers = exc.headers if isinstance(exc, DomainError) else {}
    return Template(
        "page_error.html",
        context={"title": title, "text": text},
        status_code=status,
        headers=headers,
    )


class PublicController(Controller):
    """The base of the residents' pages: out of the API's document, forms from our pages
    only, errors as pages."""

    include_in_schema = False
    guards = [forms_from_our_pages]
    exception_handlers = {DomainError: on_page_error, HTTPException: on_page_error}
