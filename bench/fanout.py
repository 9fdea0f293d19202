"""Fan-out to lobby screens: 1,000 (then 2,000) display clients on one site of a real
`guichet serve`, calls made through the API, and the delay from each call-next response
to its delivery at every client; beside the floor, a minimal broadcast server built on
the `websockets` library alone, under the same load, in the same run.

Targets: p99 under 250 ms at 1,000 clients, under 2× the floor, under 50 KiB of server
memory per connection.
Run: .venv/bin/python -m bench.fanout [--clients 1000 2000] [--calls 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import websockets

from tests.servers import die_with_parent, free_port

GUICHET = str(Path(sys.executable).parent / "guichet")
ROOT = Path(__file__).resolve().parents[1]
FORCED = "Banc d'essai à toute heure"
MANAGER = "responsable.paris15@guichet.example.org"
PAUSE_BETWEEN_CALLS = 0.3


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def wait_for(url: str, process: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as client, asyncio.timeout(60):
        while True:
            if process.returncode is not None:
                raise SystemExit(f"server stopped with {process.returncode}")
            try:
                await client.get(url, timeout=2)
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.2)


def stats(delays: list[float]) -> str:
    ordered = sorted(delays)
    if not ordered:
        return "no delivery"
    p50 = ordered[len(ordered) // 2] * 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
    return f"p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {ordered[-1] * 1000:7.1f} ms"


class Clients:
    """N websocket clients that note when each message reaches them."""

    def __init__(self, url: str, count: int, match: Callable[[str], str | None]) -> None:
        self.url = url
        self.count = count
        self.match = match
        self.arrivals: dict[str, list[float]] = {}
        self.everyone: dict[str, asyncio.Event] = {}
        self.connections: list[Any] = []
        self.tasks: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        for start in range(0, self.count, 100):
            batch = await asyncio.gather(
                *(
                    websockets.connect(self.url, compression=None, max_queue=None, open_timeout=60)
                    for _ in range(start, min(self.count, start + 100))
                )
            )
            self.connections.extend(batch)
        for connection in self.connections:
            self.tasks.append(asyncio.create_task(self._listen(connection)))

    async def _listen(self, connection: Any) -> None:
        async for message in connection:
            key = self.match(message)
            if key is not None:
                arrived = self.arrivals.setdefault(key, [])
                arrived.append(time.monotonic())
                if len(arrived) == self.count:
                    self.everyone.setdefault(key, asyncio.Event()).set()

    async def complete(self, key: str, within: float = 30) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self.everyone.setdefault(key, asyncio.Event()).wait()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*(c.close() for c in self.connections), return_exceptions=True)


async def measure(
    label: str,
    pid: int,
    url: str,
    count: int,
    calls: int,
    trigger: Callable[[int], Awaitable[str]],
    match: Callable[[str], str | None],
) -> None:
    before = rss_kib(pid)
    clients = Clients(url, count, match)
    await clients.connect()
    await asyncio.sleep(1)
    per_connection = (rss_kib(pid) - before) / count
    delays: list[float] = []
    for number in range(calls):
        key = await trigger(number)
        sent = time.monotonic()
        await clients.complete(key)
        arrived = clients.arrivals.get(key, [])
        delays.extend(max(0.0, moment - sent) for moment in arrived)
        missing = count - len(arrived)
        if missing:
            print(f"  {label}: {missing} clients missed call {key}")
        await asyncio.sleep(PAUSE_BETWEEN_CALLS)
    await clients.close()
    print(
        f"  {label:<9} {count:>5} clients  {stats(delays)}   {per_connection:5.1f} KiB/connection"
    )


async def guichet_run(count: int, calls: int, folder: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
    env.update(
        {
            "GUICHET_LOG_LEVEL": "WARNING",
            "GUICHET_WEBSOCKETS_PER_ADDRESS": "100000",
            "GUICHET_REQUESTS_PER_MINUTE": "10000000",
        }
    )
    server = await asyncio.create_subprocess_exec(
        GUICHET, "serve", "--demo", "--port", str(port),
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_for(f"{base}/health/ready", server)
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            token = (
                await http.post(
                    "/api/v1/auth/token", json={"email": MANAGER, "password": "demo-guichet-paris"}
                )
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            site = (await http.get("/api/v1/sites/paris-15")).json()
            stations = [station["id"] for station in site["stations"]]

            async def call(number: int) -> str:
                await http.post(
                    "/api/v1/sites/paris-15/tickets",
                    # The server runs on the real clock: the mairie may be closed.
                    json={"service": "caf", "force_reason": FORCED},
                    headers=headers,
                )
                await asyncio.sleep(PAUSE_BETWEEN_CALLS)
                response = await http.post(
                    f"/api/v1/stations/{stations[number % len(stations)]}/call-next",
                    headers=headers,
                )
                return str(response.json()["number"])

            def called(message: str) -> str | None:
                body = json.loads(message)
                if body.get("type") == "called" and body["called"]:
                    return str(body["called"][0]["number"])
                return None

            url = f"ws://127.0.0.1:{port}/ws/sites/paris-15/display"
            await measure("guichet", server.pid, url, count, calls, call, called)
    finally:
        server.send_signal(signal.SIGINT)
        await server.wait()


async def floor_run(count: int, calls: int) -> None:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.fanout", "--floor-server", str(port),
        cwd=ROOT, stdout=subprocess.DEVNULL, preexec_fn=die_with_parent,
    )  # fmt: skip
    try:
        await asyncio.sleep(1.5)
        control = await websockets.connect(f"ws://127.0.0.1:{port}/control", compression=None)

        async def trigger(number: int) -> str:
            await control.send(f"A{number:03d}")
            return f"A{number:03d}"

        def called(message: str) -> str | None:
            return str(json.loads(message)["called"][0]["number"])

        url = f"ws://127.0.0.1:{port}/screen"
        await measure("floor", server.pid, url, count, calls, trigger, called)
        await control.close()
    finally:
        server.send_signal(signal.SIGINT)
        await server.wait()


def display_message(number: str, seq: int) -> dict[str, Any]:
    """A message of the same shape and size as guichet's, for the floor to send."""
    calls = [
        {
            "number": f"A{n:03d}" if n else number,
            "station": f"Poste {n % 6 + 1}",
            "station_id": 40 + n % 6,
            "service": "caf",
            "called_at": "2026-12-01T10:00:00.000000+01:00",
            "status": "called",
        }
        for n in range(12)
    ]
    waiting = {"count": 7, "eta_minutes": [10, 38], "by_service": {"caf": 5, "ants": 2}}
    return {"type": "called", "seq": seq, "called": calls, "waiting": waiting}


def floor_server(port: int) -> None:
    """The floor: the websockets library's own server and broadcast(), nothing else."""
    screens: set[Any] = set()

    async def handler(connection: Any) -> None:
        if connection.request.path == "/control":
            seq = 0
            async for number in connection:
                seq += 1
                websockets.broadcast(screens, json.dumps(display_message(str(number), seq)))
            return
        screens.add(connection)
        try:
            await connection.wait_closed()
        finally:
            screens.discard(connection)

    async def main() -> None:
        async with websockets.serve(handler, "127.0.0.1", port, compression=None, max_size=4096):
            await asyncio.Future()

    with contextlib.suppress(KeyboardInterrupt):  # the benchmark stops it with SIGINT
        asyncio.run(main())


def raise_file_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--floor-server", type=int, default=0)
    args = parser.parse_args()
    raise_file_limit()
    print(
        f"fan-out to display clients, {args.calls} calls each, delay from the call to each client"
    )
    for count in args.clients:
        with tempfile.TemporaryDirectory() as folder:
            await guichet_run(count, args.calls, Path(folder))
        await floor_run(count, args.calls)


if __name__ == "__main__":
    if "--floor-server" in sys.argv:
        raise_file_limit()
        floor_server(int(sys.argv[sys.argv.index("--floor-server") + 1]))
    else:
        asyncio.run(main())
