"""The City's two OpenID Connect providers, set alike from two prefixes of settings: the
residents' (`GUICHET_OIDC_*`) and the staff's (`GUICHET_STAFF_OIDC_*`). For each, guichet
as its client, and the guard of its sign-in's pages, which do not exist without its
settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers import BaseRouteHandler

from app.config import Settings
from app.residents import oidc


@dataclass(frozen=True)
class Provider:
    """A provider set by the settings `<prefix>oidc_*`, that sends the browser back to
    guichet at `return_path`."""

    prefix: str
    return_path: str

    def setting(self, settings: Settings, name: str) -> str:
        """The setting `<prefix>oidc_<name>`."""
        return str(getattr(settings, f"{self.prefix}oidc_{name}"))

    def client(self, settings: Settings) -> oidc.Client:
        """Guichet as this provider's client."""
        return oidc.Client(
            issuer=self.setting(settings, "issuer"),
            client_id=self.setting(settings, "client_id"),
            client_secret=self.setting(settings, "client_secret"),
            scopes=self.setting(settings, "scopes"),
            redirect_uri=f"{settings.base_url}{self.return_path}",
        )

    async def guard(
        self, connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
    ) -> None:
        """Guard: without the provider's settings (its issuer), its pages do not exist."""
        settings: Settings = connection.app.state.settings
        if not self.setting(settings, "issuer"):
            raise NotFoundException()
