"""The pages' forms may send the browser on to the OpenID providers only: signing out
redirects to the provider's logout, and a browser holds `form-action` for the redirects
that follow a form (Chromium refused the residents' sign-out without it)."""

from __future__ import annotations

from app.security import headers_for, origin_of


def form_action(headers: list[tuple[str, str]]) -> str:
    policy = dict(headers)["content-security-policy"]
    (directive,) = [part.strip() for part in policy.split(";") if "form-action" in part]
    return directive


def test_without_a_provider_forms_go_to_this_origin_only() -> None:
    assert form_action(headers_for("/mon-espace", https_only=True)) == "form-action 'self'"


def test_with_providers_forms_may_lead_to_them_and_nowhere_else() -> None:
    targets = (origin_of("https://moncompte.paris.fr/oidc"), origin_of("https://sso.paris.fr"))
    assert targets == ("https://moncompte.paris.fr", "https://sso.paris.fr")
    directive = form_action(headers_for("/mon-espace", https_only=True, form_targets=targets))
    assert directive == "form-action 'self' https://moncompte.paris.fr https://sso.paris.fr"
