"""How long something refused waits before it is tried again: a message to a resident
(`app.notify.dispatcher`) and a webhook delivery (`app.webhooks.deliver`) back off alike.
Pure: no clock, the jitter is an argument."""

from __future__ import annotations

from datetime import timedelta

FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)


def retry_delay(attempts: int, jitter: float = 1.0) -> timedelta:
    """How long after its `attempts`-th refused attempt it is tried again: 30 s, 1 min,
    2 min, 4 min… up to an hour, each spread by `jitter` (0.5 to 1.5)."""
    doubled: timedelta = FIRST_RETRY * 2 ** min(max(0, attempts - 1), 16)
    return min(doubled, LAST_RETRY) * jitter
