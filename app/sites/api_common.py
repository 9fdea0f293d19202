"""What the staff API's handlers about one mairie share: the `site_caller` dependency, the
mairie of the path's `{slug}` resolved and checked once for all of a controller's handlers,
and `SiteAdministration`, the base of the controllers of a mairie's administration."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from litestar import Controller
from litestar.di import NamedDependency, Provide

from app.accounts.actors import MANAGERS
from app.accounts.guards import STAFF_SECURITY, Caller
from app.accounts.service import authorize
from app.sites.models import Site
from app.sites.schemas import Slug
from app.sites.service import get_site


@dataclass(frozen=True)
class SiteCaller(Caller):
    """Who calls the staff API, with the mairie at the path's `{slug}`, which they may act on."""

    site: Site

    @property
    def tz(self) -> ZoneInfo:
        """The mairie's time zone, in which answers give their instants."""
        return ZoneInfo(self.site.timezone)


def site_dependency(roles: Collection[str] = MANAGERS) -> dict[str, Provide]:
    """A controller's `dependencies` giving its handlers `site_caller`: the mairie at
    `{slug}` if the caller has one of `roles` there (by default: runs it, as `site_to_run`);
    404 unknown, 403 otherwise."""

    async def provide_site_caller(slug: Slug, caller: NamedDependency[Caller]) -> SiteCaller:
        site = await get_site(caller.session, slug)
        authorize(caller.actor, roles=roles, site=site)
        return SiteCaller(context=caller.context, agent=caller.agent, actor=caller.actor, site=site)

    return {"site_caller": Provide(provide_site_caller)}


class SiteAdministration(Controller):
    """A controller of a mairie's administration, `{slug}` in its paths: staff only, its
    handlers may take `site_caller`, the mairie which the caller runs."""

    tags = ["administration"]
    security = STAFF_SECURITY
    dependencies = site_dependency()
