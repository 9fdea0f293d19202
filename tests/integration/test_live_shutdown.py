"""An instance that stops while lobby screens are still connected leaves no live task
behind: nothing reads the disposed database or publishes through the stopped channels
plugin after its lifespan has ended (a refresh once did, and failed in the log)."""

from __future__ import annotations

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from sqlalchemy import select

from app.db import Database
from app.live.feeds import Connection
from app.live.hub import Hub
from app.sites.models import Site
from tests.conftest import Clock


async def test_the_feeds_of_screens_still_connected_stop_with_the_instance(
    db: Database, clock: Clock
) -> None:
    channels = ChannelsPlugin(
        backend=MemoryChannelsBackend(),
        arbitrary_channels_allowed=True,
        create_ws_route_handlers=False,
    )
    await channels._on_startup()
    hub = Hub(channels, db, clock, namespace="test", per_address=10)
    await hub.start()
    try:
        async with db.session() as session:
            site = await session.scalar(select(Site).where(Site.slug == "paris-15"))
        assert site is not None
        feed = await hub._join(site, Connection(None, "127.0.0.1"), None)  # type: ignore[arg-type]
        assert feed.listener is not None
        assert feed.refresher is not None
        assert not feed.refresher.done()

        await hub.stop()  # the socket is still there

        assert feed.listener.done()
        assert feed.refresher.done()
    finally:
        await channels._on_shutdown()
