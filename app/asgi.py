"""create_app(): the Litestar application with its routes, dependencies and lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from os import PathLike
from pathlib import Path
from typing import Any

from litestar import Litestar, Router
from litestar.channels import ChannelsPlugin
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig

from app.accounts.admin_api import AgentsAdminController
from app.accounts.admin_pages import AgentPages
from app.accounts.api import AuthController
from app.accounts.guards import NoStore, provide_agent, provide_caller, provide_optional_agent
from app.audit.api import AuditController
from app.audit.pages import JournalPages
from app.booking.alert_pages import BookingAlertPages
from app.booking.api import BookingAlertsController, BookingController
from app.booking.first_api import FirstSlotController
from app.booking.first_pages import FirstSlotPages
from app.booking.pages import BookingPages
from app.config import Settings, load_settings
from app.db import Database, utcnow
from app.errors import EXCEPTION_HANDLERS
from app.health import HealthController
from app.json_bodies import StrictJsonRequest
from app.live.admin_api import ScreensAdminController
from app.live.admin_pages import ScreenAdminPages
from app.live.api import LiveController, display_socket, ticket_socket
from app.live.arrival import ArrivalCodes
from app.live.channels import backend_for
from app.live.hub import Hub
from app.live.sockets import SocketsOnly
from app.logs import RequestIdMiddleware, configure_logging
from app.notify.api import OutboxController
from app.notify.dispatcher import Dispatcher
from app.opendata.api import OpenDataController
from app.partners.api import PartnersAdminController
from app.partners.pages import PartnerPages
from app.partners.request_pages import PartnerRequestPages
from app.privacy.api import PeopleController
from app.privacy.pages import PrivacyPages
from app.problems import document_problems
from app.queue.api import TICKET_MOVES, QueueController, TrackingController
from app.queue.pages import TrackingPages
from app.queue.remote_api import RemoteDeskController, RemoteQueueController
from app.queue.remote_pages import RemotePages
from app.queue.sms_inbound import SmsInboundController
from app.queue.staff_pages import StaffPages
from app.residents.pages import ResidentPages
from app.scheduler import Scheduler, transports
from app.security import SecurityHeaders, WellFormedHost, origin_of
from app.sites.admin_api import SiteAdminController
from app.sites.admin_pages import SiteAdminPages
from app.sites.api import SitesController
from app.sites.catalog_api import NeedsAdminController, ServicesAdminController
from app.sites.catalog_pages import CatalogPages, NeedPages, ServicePages
from app.sites.pages import PagesController
from app.stats.api import StatsController
from app.stats.busy_api import BusyHoursController
from app.stats.metrics import Metrics, metrics_endpoint
from app.stats.pages import FiguresPages
from app.throttle import Limits, rate_limits
from app.visits.activities_api import ActivitiesController
from app.visits.api import DepartmentsController, EscalationsController
from app.visits.pages import DepartmentPages
from app.visits.staff_pages import RequestPages
from app.waitlist.api import WaitlistController
from app.waitlist.pages import EarlierPages
from app.waitlist.staff_pages import EarlierStaffPages
from app.web import language
from app.web.before import checked_request, note_query
from app.web.context import one_session_per_request, provide_context, provide_session
from app.web.public import favicon, on_failure, on_unknown_address
from app.webhooks.api import WebhooksAdminController

PACKAGE_DIR = Path(__file__).parent
DISPLAY_DIR = PACKAGE_DIR.parent / "display"
# Each slice keeps its pages' templates; app/web/ holds the layouts they all extend.
PAGE_SLICES = (
    "web",
    "sites",
    "booking",
    "queue",
    "visits",
    "stats",
    "privacy",
    "live",
    "accounts",
    "audit",
    "waitlist",
    "partners",
    "residents",
)
TEMPLATE_DIRS: list[Path | PathLike[Any] | str] = [
    PACKAGE_DIR / name / "templates" for name in PAGE_SLICES
]
MAX_BODY_BYTES = 64 * 1024
log = logging.getLogger("guichet")


def provide_settings(state: State) -> Settings:
    settings: Settings = state.settings
    return settings


def provide_db(state: State) -> Database:
    db: Database = state.db
    return db


def provide_now(state: State) -> datetime:
    """The time of this request, from the application's one clock."""
    now: datetime = state.clock()
    return now


def create_app(
    settings: Settings | None = None, clock: Callable[[], datetime] = utcnow
) -> Litestar:
    """The application for `settings` (by default, read from the environment); `clock`
    tells the time to every request (tests stop it)."""
    settings = settings or load_settings()
    settings.check()
    configure_logging(settings.log_level, settings.log_format)
    db = Database(
        settings.database_url,
        pool_size=settings.database_pool_size,
        timeout=settings.database_timeout_seconds,
    )

    channels = ChannelsPlugin(
        backend=backend_for(settings.database_url, settings.redis_url),
        arbitrary_channels_allowed=True,
        create_ws_route_handlers=False,
    )
    hub = Hub(
        channels,
        db,
        clock,
        namespace=settings.live_namespace,
        per_address=settings.websockets_per_address,
        arrival=ArrivalCodes(settings.secret_key, settings.base_url),
    )
    db.on_notices, db.before_commit = hub.publish, hub.read_before_commit
    email, sms = transports(settings)
    dispatcher = Dispatcher(
        db,
        clock,
        base_url=settings.base_url,
        email=email,
        sms=sms,
        instance=hub.instance,
        batch=settings.dispatch_batch,
        attempts=settings.message_attempts,
        lease=timedelta(seconds=settings.message_lease_seconds),
    )
    metrics = Metrics()
    scheduler = Scheduler(db, settings, clock, dispatcher, hub.instance, on_run=metrics.ran)

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        log.info("guichet started", extra={"env": settings.env, "database": db.engine.dialect.name})
        await hub.start()
        if settings.scheduler:
            scheduler.start()
        try:
            yield
        finally:
            await scheduler.stop()
            await hub.stop()
            await db.dispose()

    api = Router(
        path="/",
        route_handlers=[
            SitesController,
            BusyHoursController,
            AuthController,
            BookingController,
            BookingAlertsController,
            WaitlistController,
            FirstSlotController,
            QueueController,
            *TICKET_MOVES,
            TrackingController,
            RemoteQueueController,
            SmsInboundController,
            RemoteDeskController,
            LiveController,
            OutboxController,
            AuditController,
            AgentsAdminController,
            ServicesAdminController,
            NeedsAdminController,
            SiteAdminController,
            ScreensAdminController,
            EscalationsController,
            DepartmentsController,
            PeopleController,
            StatsController,
            ActivitiesController,
            WebhooksAdminController,
            PartnersAdminController,
            display_socket,
            ticket_socket,
        ],
    )
    app = Litestar(
        route_handlers=[
            api,
            HealthController,
            OpenDataController,
            metrics_endpoint,
            PagesController,
            BookingPages,
            FirstSlotPages,
            StaffPages,
            RequestPages,
            FiguresPages,
            AgentPages,
            CatalogPages,
            ServicePages,
            NeedPages,
            JournalPages,
            SiteAdminPages,
            BookingAlertPages,
            ScreenAdminPages,
            TrackingPages,
            EarlierPages,
            EarlierStaffPages,
            RemotePages,
            DepartmentPages,
            PrivacyPages,
            PartnerPages,
            PartnerRequestPages,
            ResidentPages,
            favicon,
            create_static_files_router(
                path="/static",
                directories=[PACKAGE_DIR / "web" / "static"],
                include_in_schema=False,
            ),
            create_static_files_router(
                path="/display/static", directories=[DISPLAY_DIR], include_in_schema=False
            ),
        ],
        dependencies={
            "settings": Provide(provide_settings, sync_to_thread=False),
            "db": Provide(provide_db, sync_to_thread=False),
            "now": Provide(provide_now, sync_to_thread=False),
            "session": Provide(provide_session, sync_to_thread=False),
            "context": Provide(provide_context),
            "agent": Provide(provide_agent),
            "caller": Provide(provide_caller),
            "optional_agent": Provide(provide_optional_agent),
        },
        state=State(
            {
                "settings": settings,
                "db": db,
                "limits": Limits(settings),
                "clock": clock,
                "hub": hub,
                "dispatcher": dispatcher,
                "metrics": metrics,
            }
        ),
        lifespan=[lifespan],
        plugins=[channels],
        exception_handlers={
            **EXCEPTION_HANDLERS,
            HTTPException: on_unknown_address,
            Exception: on_failure,
        },
        openapi_config=OpenAPIConfig(
            title="guichet",
            version="1",
            description="Appointment booking and waiting queue of the facilitation numérique "
            "stations of the Paris mairies.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            components=Components(
                security_schemes={
                    "staff": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
        ),
        template_config=TemplateConfig(
            directory=TEMPLATE_DIRS,
            engine=JinjaTemplateEngine,
            engine_callback=lambda engine: language.install(engine.engine),
        ),
        middleware=[rate_limits, one_session_per_request],
        before_request=checked_request,
        request_max_body_size=MAX_BODY_BYTES,
        request_class=StrictJsonRequest,
        logging_config=None,
        debug=False,
    )
    document_problems(app)
    note_query(app)
    # Outermost, so that every answer, routed or not, carries a request id and is logged;
    # Litestar's before_send hooks would wrap every websocket message too. Every answer,
    # routed or not, is in the visitor's language, and HEAD is GET without the body.
    in_language = language.Language(
        language.HeadAsGet(SocketsOnly(app.asgi_handler)),
        secure=settings.is_production or settings.base_url.startswith("https://"),
    )
    app.asgi_handler = RequestIdMiddleware(
        SecurityHeaders(
            WellFormedHost(NoStore(in_language)),
            https_only=settings.is_production,
            form_targets=tuple(
                origin_of(issuer)
                for issuer in sorted({settings.oidc_issuer, settings.staff_oidc_issuer})
                if issuer
            ),
        ),
        observe=metrics.observe_request,
    )
    return app
