"""Settings: the one object that holds every GUICHET_* environment variable."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

PREFIX = "GUICHET_"
DEFAULT_SECRET_KEY = "local-development-secret-do-not-use-in-production"  # noqa: S105 (refused in production)
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/guichet.db"


class SettingsError(ValueError):
    """The environment holds a setting that cannot be used."""


class Settings(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Every setting, with a safe default for a developer's machine.

    Each field `name` is read from the environment variable `GUICHET_NAME`.
    """

    env: Literal["local", "production"] = "local"
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    secret_key: str = DEFAULT_SECRET_KEY
    timezone: str = "Europe/Paris"
    demo: bool = False
    token_ttl_minutes: int = 60
    session_idle_minutes: int = 120
    session_max_hours: int = 12
    login_attempts_per_minute: int = 10
    availability_requests_per_minute: int = 120
    booking_requests_per_minute: int = 20
    bookings_per_address_per_day: int = 4
    booking_alert_per_hour: int = 10
    requests_per_minute: int = 1200
    token_lookups_per_minute: int = 300
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    redis_url: str = ""
    live_namespace: str = "guichet"
    websockets_per_address: int = 100
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    mail_from: str = "Mairie de Paris <ne-pas-repondre@guichet.example.org>"
    sms_url: str = ""
    sms_key: str = ""
    sms_sender: str = "MairieParis"
    # Signs the SMS gateway's inbound webhook (texts answered to us, e.g. QUITTER);
    # empty: the webhook is off (404).
    sms_inbound_secret: str = ""
    outbox_dir: str = "var/outbox"
    scheduler: bool = True
    dispatch_every_seconds: float = 2.0
    # How often an instance offers the slots freed since its last round (earlier slots).
    offer_every_seconds: float = 5.0
    dispatch_batch: int = 50
    message_attempts: int = 8
    message_lease_seconds: int = 120
    personal_data_days: int = 730
    message_body_days: int = 183
    audit_address_days: int = 365
    metrics_token: str = ""
    # Addresses or networks (comma-separated) of the reverse proxies whose X-Forwarded-For
    # and X-Forwarded-Proto are believed; empty: none, every client is its socket's peer.
    trusted_proxies: str = ""
    database_pool_size: int = 10
    database_timeout_seconds: float = 5.0
    # Webhooks: how often an instance sends the deliveries due, how many it claims at once,
    # the attempts before one is given up, how long one attempt may take, how long a claim
    # lasts (a dead instance's deliveries are sent by another after it), and how many days
    # finished deliveries are kept.
    webhook_every_seconds: float = 2.0
    webhook_batch: int = 20
    webhook_attempts: int = 10
    webhook_timeout_seconds: float = 5.0
    webhook_lease_seconds: int = 120
    webhook_keep_days: int = 30
    # Residents' sign-in with the City's OpenID Connect provider (app/residents/): the
    # provider's issuer URL (its discovery document is at
    # <issuer>/.well-known/openid-configuration), guichet's client there, and the scopes
    # asked. Without the issuer the sign-in is off: no button, its pages answer 404.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid email profile phone"
    # A resident's session ends after this long without a request, or this long after
    # signing in, whichever comes first.
    resident_session_idle_minutes: int = 30
    resident_session_max_hours: int = 12
    # Staff single sign-on with the City's staff OpenID Connect provider
    # (app/accounts/sso.py), set as the residents' provider above. Without the issuer staff
    # log in with their guichet password only: no button, the sign-on's pages answer 404.
    staff_oidc_issuer: str = ""
    staff_oidc_client_id: str = ""
    staff_oidc_client_secret: str = ""
    staff_oidc_scopes: str = "openid email profile"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [proxy.strip() for proxy in self.trusted_proxies.split(",") if proxy.strip()]

    @property
    def residents_sign_in(self) -> bool:
        """Whether residents may sign in with the City's OpenID provider."""
        return bool(self.oidc_issuer)

    @property
    def staff_sign_in(self) -> bool:
        """Whether agents may sign in with the City's staff OpenID provider."""
        return bool(self.staff_oidc_issuer)

    @property
    def base_url(self) -> str:
        """The address people reach this service at, for links in messages and logs."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    def check(self) -> None:
        """Refuse settings that would be unsafe or cannot work."""
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(f"GUICHET_TIMEZONE: unknown time zone {self.timezone!r}") from exc
        if not (
            self.database_url.startswith("sqlite+aiosqlite://")
            or self.database_url.startswith("postgresql+asyncpg://")
        ):
            raise SettingsError(
                "GUICHET_DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
            )
        if not 1 <= self.token_ttl_minutes <= 24 * 60:
            raise SettingsError("GUICHET_TOKEN_TTL_MINUTES must be between 1 and 1440")
        for field, low, high in RANGES:
            if not low <= getattr(self, field) <= high:
                raise SettingsError(f"{PREFIX}{field.upper()} must be between {low} and {high}")
        for proxy in self.trusted_proxy_list:
            try:
                if proxy != "*":
                    ipaddress.ip_network(proxy)
            except ValueError as exc:
                raise SettingsError(
                    f"GUICHET_TRUSTED_PROXIES: {proxy!r} is not an address or a network"
                ) from exc
        if self.oidc_issuer:
            self._check_oidc("OIDC", self.oidc_issuer, self.oidc_client_id, self.oidc_scopes)
        if self.staff_oidc_issuer:
            self._check_oidc(
                "STAFF_OIDC",
                self.staff_oidc_issuer,
                self.staff_oidc_client_id,
                self.staff_oidc_scopes,
            )
        if self.is_production:
            if self.secret_key == DEFAULT_SECRET_KEY:
                raise SettingsError(
                    "GUICHET_SECRET_KEY is the development default: "
                    "set a long random secret before running in production"
                )
            if len(self.secret_key) < 32:
                raise SettingsError("GUICHET_SECRET_KEY must be at least 32 characters long")

    def _check_oidc(self, name: str, issuer: str, client_id: str, scopes: str) -> None:
        """One OpenID provider's settings, GUICHET_<name>_*."""
        prefix = f"{PREFIX}{name}"
        if not issuer.startswith(("https://", "http://")):
            raise SettingsError(f"{prefix}_ISSUER must be an https:// address")
        if self.is_production and not issuer.startswith("https://"):
            raise SettingsError(f"{prefix}_ISSUER must be an https:// address in production")
        if not client_id:
            raise SettingsError(f"{prefix}_CLIENT_ID is needed with {prefix}_ISSUER")
        if "openid" not in scopes.split():
            raise SettingsError(f"{prefix}_SCOPES must include openid")


RANGES = (
    ("login_attempts_per_minute", 1, 10_000),
    ("bookings_per_address_per_day", 1, 10_000),
    ("booking_alert_per_hour", 1, 10_000),
    ("requests_per_minute", 1, 10_000_000),
    ("token_lookups_per_minute", 1, 10_000_000),
    ("dispatch_every_seconds", 0.1, 3600),
    ("offer_every_seconds", 0.1, 3600),
    ("dispatch_batch", 1, 1000),
    ("message_attempts", 1, 50),
    ("message_lease_seconds", 1, 3600),
    ("personal_data_days", 1, 3650),
    ("message_body_days", 1, 3650),
    ("audit_address_days", 1, 3650),
    ("webhook_every_seconds", 0.1, 3600),
    ("webhook_batch", 1, 200),
    ("webhook_attempts", 1, 50),
    ("webhook_timeout_seconds", 0.5, 60),
    ("webhook_lease_seconds", 10, 3600),
    ("webhook_keep_days", 1, 3650),
    ("resident_session_idle_minutes", 1, 24 * 60),
    ("resident_session_max_hours", 1, 24 * 30),
)


def load_settings(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None
) -> Settings:
    """Read the settings from the environment; `overrides` win over it."""
    environ = os.environ if environ is None else environ
    names = set(Settings.__struct_fields__)
    raw: dict[str, object] = {
        key[len(PREFIX) :].lower(): value
        for key, value in environ.items()
        if key.startswith(PREFIX) and key[len(PREFIX) :].lower() in names
    }
    raw.update(overrides or {})
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(_name_the_variable(str(exc))) from exc
    settings.check()
    return settings


def _name_the_variable(message: str) -> str:
    """Turn msgspec's `... - at `$.port`` into a message naming GUICHET_PORT."""
    if "`$." in message:
        field = message.rsplit("`$.", 1)[1].rstrip("`")
        return f"{PREFIX}{field.upper()}: {message.rsplit(' - at ', 1)[0]}"
    return message
