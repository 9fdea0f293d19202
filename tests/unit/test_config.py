"""Settings from GUICHET_* variables: defaults, parsing, and refusals."""

from __future__ import annotations

import pytest

from app.config import DEFAULT_SECRET_KEY, SettingsError, load_settings


def test_defaults_serve_the_embedded_database_on_loopback() -> None:
    settings = load_settings(environ={})

    assert settings.env == "local"
    assert settings.database_url == "sqlite+aiosqlite:///var/guichet.db"
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.timezone == "Europe/Paris"
    assert settings.demo is False
    assert settings.base_url == "http://127.0.0.1:8000"


def test_variables_are_read_and_converted() -> None:
    settings = load_settings(
        environ={
            "GUICHET_PORT": "9000",
            "GUICHET_DEMO": "true",
            "GUICHET_DATABASE_URL": "postgresql+asyncpg://db/guichet",
            "GUICHET_PUBLIC_URL": "https://rdv.example.org/",
            "GUICHET_UNRELATED": "ignored",
            "OTHER_PORT": "1",
        }
    )

    assert settings.port == 9000
    assert settings.demo is True
    assert not settings.is_sqlite
    assert settings.base_url == "https://rdv.example.org"


def test_a_value_of_the_wrong_type_names_its_variable() -> None:
    with pytest.raises(SettingsError, match="GUICHET_PORT"):
        load_settings(environ={"GUICHET_PORT": "eighty"})


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(SettingsError, match="GUICHET_SECRET_KEY is the development default"):
        load_settings(environ={"GUICHET_ENV": "production"})
    with pytest.raises(SettingsError, match="at least 32"):
        load_settings(environ={"GUICHET_ENV": "production", "GUICHET_SECRET_KEY": "short"})


def test_production_starts_with_a_real_secret() -> None:
    settings = load_settings(environ={"GUICHET_ENV": "production", "GUICHET_SECRET_KEY": "s" * 40})

    assert settings.is_production
    assert settings.secret_key != DEFAULT_SECRET_KEY


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("GUICHET_TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("GUICHET_DATABASE_URL", "mysql://x/y", "GUICHET_DATABASE_URL"),
        ("GUICHET_TOKEN_TTL_MINUTES", "0", "GUICHET_TOKEN_TTL_MINUTES"),
        ("GUICHET_ENV", "staging", "GUICHET_ENV"),
        ("GUICHET_DISPATCH_BATCH", "0", "GUICHET_DISPATCH_BATCH must be between 1 and 1000"),
        ("GUICHET_PERSONAL_DATA_DAYS", "-1", "GUICHET_PERSONAL_DATA_DAYS must be between"),
        ("GUICHET_SMTP_SECURITY", "ssl", "GUICHET_SMTP_SECURITY"),
    ],
)
def test_unusable_values_are_refused_in_plain_words(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(environ={variable: value})
