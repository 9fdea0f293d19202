"""The `guichet` command: serve, migrate, load the demo, create staff accounts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

import click

from app import schema
from app.accounts.models import ROLES
from app.config import Settings, SettingsError, load_settings
from app.db import Database, utcnow
from app.errors import DomainError
from app.live import settling

if TYPE_CHECKING:
    from app.booking.free_time_rules import StationDay

T = TypeVar("T")


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(
            overrides={key: value for key, value in overrides.items() if value is not None}
        )
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def _with_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def run() -> T:
        db = Database(settings.database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(run())
    except DomainError as exc:
        raise click.ClickException(exc.detail) from exc


def _load_demo(settings: Settings) -> str | None:
    """Load the demo; the address of its paired lobby screen, if one was paired."""
    from app import demo

    today = utcnow().astimezone(ZoneInfo(settings.timezone)).date()
    loaded = _with_database(
        settings,
        lambda db: demo.load(
            db, today=today, with_agents=not settings.is_production, secret=settings.secret_key
        ),
    )
    report = loaded.data
    click.echo(
        f"demo data: {report.sites} mairies, {report.stations} stations, "
        f"{report.services} services, {report.needs} needs, "
        f"{report.exceptions} dated exceptions added"
        + (f", {len(loaded.agents)} staff accounts" if loaded.agents else "")
    )
    return loaded.screen_path


@click.group()
def main() -> None:
    """guichet: appointment booking and waiting queue for the Paris mairies."""


@main.command()
@click.option("--host", help="Address to listen on (default GUICHET_HOST or 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default GUICHET_PORT or 8000).")
@click.option("--demo", is_flag=True, default=None, help="Load the Paris demo data first.")
def serve(host: str | None, port: int | None, demo: bool | None) -> None:
    """Migrate the embedded database, load the demo if asked, and serve."""
    import uvicorn

    from app.asgi import create_app
    from app.demo import DEMO_AGENTS, DEMO_PASSWORD
    from app.serving import KEEP_ALIVE_SECONDS, GuardedHttpProtocol, GuardedWebSocketProtocol

    settings = _settings(host=host, port=port, demo=demo)
    if settings.is_sqlite:
        schema.upgrade(settings.database_url)
    screen = _load_demo(settings) if settings.demo else None
    base = f"http://{settings.host}:{settings.port}"
    display = f"{base}{screen}  (a paired screen)" if screen else f"{base}/display/paris-15"
    click.echo(
        f"\nguichet serves on {base}\n"
        f"  pages          {base}/\n"
        f"  lobby display  {display}\n"
        f"  API docs       {base}/schema  (OpenAPI: {base}/schema/openapi.json)\n"
        f"  health         {base}/health/ready\n"
    )
    if settings.demo and not settings.is_production:
        click.echo(f"  demo staff accounts, password {DEMO_PASSWORD!r}:")
        for email, _name, role, sites in DEMO_AGENTS:
            click.echo(f"    {role:<12} {email}  {' '.join(sites) or 'all sites'}")
        click.echo("")
    app = create_app(settings)
    # What is built by now lives as long as the process. Frozen, it is no longer walked by
    # each full garbage collection, a pause of 40 to 110 ms that held up every request and
    # screen of the instance; so are the lobby screens after each burst.
    settling.freeze_built()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # X-Forwarded-For and -Proto are believed from GUICHET_TRUSTED_PROXIES only (never
        # from uvicorn's default, loopback, nor from its FORWARDED_ALLOW_IPS).
        proxy_headers=bool(settings.trusted_proxy_list),
        forwarded_allow_ips=settings.trusted_proxy_list,
        server_header=False,
        timeout_graceful_shutdown=10,
        # httptools, with time and size limits on request heads and bodies (slow
        # clients); idle connections closed after a few seconds. No limit_concurrency:
        # it counts idle connections too, so slow clients would get everyone else a 503.
        http=GuardedHttpProtocol,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        # Screens and phones only listen: small frames, no compression (about 19 KiB a
        # connection instead of 70), pings that find dead connections, and the sans-I/O
        # implementation, whose send waits while a client is not reading (and which
        # stops reading from such a client).
        ws=GuardedWebSocketProtocol,
        ws_max_size=4096,
        ws_per_message_deflate=False,
        ws_ping_interval=20,
        ws_ping_timeout=20,
    )


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the pending migrations to GUICHET_DATABASE_URL."""
    settings = _settings()
    schema.upgrade(settings.database_url)
    click.echo("database is up to date")


@db.command("check")
def db_check() -> None:
    """Fail if the models hold changes that no migration makes."""
    settings = _settings()
    difference = schema.pending_changes(settings.database_url)
    if difference:
        raise click.ClickException(f"the models and the migrations differ: {difference}")
    click.echo("models and migrations agree")


@db.command("check-free-time")
@click.option("--repair", is_flag=True, help="Rebuild the summary when it differs.")
def db_check_free_time(repair: bool) -> None:
    """Rebuild the summary of free time in memory and compare it with the stored one."""
    from app.booking import free_time

    settings = _settings()

    async def check(database: Database) -> list[free_time.Difference]:
        async with database.session() as session:
            return await free_time.check(session)

    async def rebuild(database: Database) -> int:
        return await free_time.roll_all(database, utcnow(), whole=True)

    differences = _with_database(settings, check)
    for item in differences[:20]:
        click.echo(
            f"{item.site} station {item.station_id} {item.day.isoformat()}: "
            f"stored {_figures(item.stored)}, expected {_figures(item.expected)}"
        )
    if len(differences) > 20:
        click.echo(f"… and {len(differences) - 20} more")
    if differences and repair:
        days = _with_database(settings, rebuild)
        click.echo(f"summary rebuilt: {days} days worked out")
        return
    if differences:
        raise click.ClickException(f"the summary of free time differs on {len(differences)} rows")
    click.echo("the summary of free time agrees with the data")


def _figures(day: StationDay | None) -> str:
    if day is None:
        return "nothing"
    return (
        f"open {day.open_minutes} min, booked {day.booked_minutes} min, "
        f"longest free {day.longest_minutes} min"
    )


@main.command("demo")
def demo_command() -> None:
    """Load the Paris demo data (idempotent)."""
    settings = _settings()
    screen = _load_demo(settings)
    if screen:
        click.echo(f"a paired lobby screen of the demo: {settings.base_url}{screen}")


@main.group()
def agent() -> None:
    """Staff accounts."""


@agent.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True, help="At least 12 characters.")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--site", "sites", multiple=True, help="Slug of a site; repeat for several.")
@click.option("--name", default="", help="Name shown to colleagues.")
def agent_create(email: str, password: str, role: str, sites: tuple[str, ...], name: str) -> None:
    """Create a staff account."""
    from app.accounts.service import create_agent

    settings = _settings()

    async def create(database: Database) -> str:
        async with database.writing() as session:
            created = await create_agent(
                session, email=email, password=password, role=role, site_slugs=sites, name=name
            )
            return created.email

    address = _with_database(settings, create)
    click.echo(f"created {role} {address}")
