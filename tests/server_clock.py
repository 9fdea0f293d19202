"""The clock of the servers the browser tests start (`tests.servers.Server.clock`).

Those tests open a mairie "all day today", 00:00 to 23:59 in Paris, and take tickets
there on the real clock. Late in the evening that day ends under them: from about 23:20
a ticket from a phone is refused because the wait would pass closing time, and at
midnight the day they opened is over (a CI run late in the evening failed so). So from
`SET_BACK_FROM` in Paris, such a server has its clock set back to noon of the same day;
earlier, it keeps the real one (a test run lasts far less than the six hours left).
`TESTS_AT_NOON=1` sets it back whatever the hour, to check the tests against it by day.
Other servers (the benchmarks', and the tests' that write times in the database
themselves) keep the real clock: `ServerClock()`.

Run as `python -m tests.server_clock SECONDS guichet-arguments...`: `guichet` with
`app.db.utcnow`, the one clock of the application, moved by SECONDS. It is replaced
before any other module of the application is imported, so each one that imports it by
name (the models' defaults, `create_app`'s clock) gets the moved one.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
PARIS = ZoneInfo("Europe/Paris")
SET_BACK_FROM = time(18)
NOON = time(12)


@dataclass(frozen=True)
class ServerClock:
    """What a server's clock says, from the test's side."""

    shift: timedelta = timedelta(0)

    @classmethod
    def for_tests(cls, now: datetime | None = None) -> ServerClock:
        local = (now or datetime.now(UTC)).astimezone(PARIS)
        if local.time() < SET_BACK_FROM and os.environ.get("TESTS_AT_NOON") != "1":
            return cls()
        noon = datetime.combine(local.date(), NOON, tzinfo=PARIS)
        return cls(noon - local)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift

    def today(self) -> date:
        """The server's day in Paris."""
        return self.now().astimezone(PARIS).date()

    def command(self, guichet: str, arguments: list[str]) -> list[str]:
        """How to start `guichet arguments` with this clock (in the `environment`)."""
        if not self.shift:
            return [guichet, *arguments]
        seconds = str(self.shift.total_seconds())
        return [sys.executable, "-m", "tests.server_clock", seconds, *arguments]

    def environment(self) -> dict[str, str]:
        return {"PYTHONPATH": str(ROOT)} if self.shift else {}


def main() -> None:
    shift = timedelta(seconds=float(sys.argv[1]))
    import app.db

    real = app.db.utcnow

    def moved() -> datetime:
        return real() + shift

    app.db.utcnow = moved

    from app.cli import main as guichet

    sys.argv = ["guichet", *sys.argv[2:]]
    guichet()


if __name__ == "__main__":
    main()
