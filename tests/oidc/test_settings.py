"""The sign-in's settings: off by default, refused when they cannot work."""

from __future__ import annotations

import pytest

from app.config import SettingsError, load_settings

ISSUER = "https://moncompte.paris.example.org"


def test_without_an_issuer_sign_in_is_off() -> None:
    assert not load_settings(environ={}).residents_sign_in


def test_an_issuer_with_its_client_turns_it_on() -> None:
    environ = {"GUICHET_OIDC_ISSUER": ISSUER, "GUICHET_OIDC_CLIENT_ID": "guichet"}
    settings = load_settings(environ=environ)
    assert settings.residents_sign_in
    assert settings.oidc_scopes == "openid email profile phone"
    assert settings.resident_session_idle_minutes == 30


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"GUICHET_OIDC_ISSUER": ISSUER}, "GUICHET_OIDC_CLIENT_ID"),
        ({"GUICHET_OIDC_ISSUER": "moncompte.paris.fr", "GUICHET_OIDC_CLIENT_ID": "g"}, "ISSUER"),
        (
            {
                "GUICHET_OIDC_ISSUER": ISSUER,
                "GUICHET_OIDC_CLIENT_ID": "g",
                "GUICHET_OIDC_SCOPES": "email",
            },
            "GUICHET_OIDC_SCOPES",
        ),
        (
            {
                "GUICHET_ENV": "production",
                "GUICHET_SECRET_KEY": "x" * 40,
                "GUICHET_OIDC_ISSUER": "http://moncompte.paris.example.org",
                "GUICHET_OIDC_CLIENT_ID": "g",
            },
            "https",
        ),
        ({"GUICHET_RESIDENT_SESSION_IDLE_MINUTES": "0"}, "IDLE_MINUTES"),
    ],
)
def test_settings_that_cannot_work_are_refused(environ: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        load_settings(environ=environ)
