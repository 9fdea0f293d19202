"""The processes around `bench.network_screens`: the client processes that hold the lobby
screens and report when each call reaches each of them, and the floor's bare servers.

A client process: .venv/bin/python -m bench.screens_sides --worker (its screens come on
stdin as [target, site, address]; it reports each call's first arrival at each screen,
and the port of the server that screen is on, on stdout). A floor server:
.venv/bin/python -m bench.screens_sides --floor-server PORT.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import websockets

from bench.fanout import raise_file_limit
from tests.servers import die_with_parent

PER_WORKER = 2_500  # connections one client process holds
CONNECT_PER_SECOND = 50  # per client process: 200 a second for 10,000 screens
CONNECT_SECONDS = 300.0  # a client process stops connecting after this
DELIVERY_SECONDS = 10.0
WORKER_LIFETIME = 2_400.0  # a client process or floor server stops by itself after this
ROOT = Path(__file__).resolve().parents[1]

# What a call is known by: (target, site, number, called_at).
Call = tuple[str, str, str, datetime]


@dataclass
class Watchers:
    """The client processes and what they report: when each call reached each screen."""

    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    arrivals: dict[Call, list[tuple[float, int]]] = field(default_factory=dict)  # moment, port
    ready: int = 0
    failed: int = 0
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self, target: str, addresses: list[tuple[str, str]]) -> int:
        """Connect one target's screens (site, address); how many failed to connect."""
        ready, failed = self.ready, self.failed
        shares = [addresses[i : i + PER_WORKER] for i in range(0, len(addresses), PER_WORKER)]
        for share in shares:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.screens_sides", "--worker",
                cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                preexec_fn=die_with_parent, limit=1 << 20,
            )  # fmt: skip
            assert process.stdin is not None
            screens = [[target, slug, address] for slug, address in share]
            process.stdin.write((json.dumps(screens) + "\n").encode())
            await process.stdin.drain()
            self.processes.append(process)
            self.readers.append(asyncio.create_task(self._read(process)))
        async with asyncio.timeout(CONNECT_SECONDS + 120):
            while self.ready < ready + len(shares):
                await self._wait()
        return self.failed - failed

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for raw in process.stdout:
            words = raw.decode().split()
            if words[0] == "ready":
                self.ready += 1
                self.failed += int(words[1])
            elif words[0] == "A":
                _, target, slug, port, number, called_at, moment = words
                found = (target, slug, number, datetime.fromisoformat(called_at))
                self.arrivals.setdefault(found, []).append((float(moment), int(port)))
            self.changed.set()

    async def _wait(self) -> None:
        await self.changed.wait()
        self.changed.clear()

    async def reached(self, call: Call, screens: int) -> list[tuple[float, int]]:
        """When `call` reached each of its screens, and on which server's port, once all
        `screens` have it (or after DELIVERY_SECONDS)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DELIVERY_SECONDS):
                while len(self.arrivals.get(call, [])) < screens:
                    await self._wait()
        return self.arrivals.get(call, [])

    async def stop(self) -> None:
        for process in self.processes:
            if process.stdin is not None and process.returncode is None:
                with contextlib.suppress(ConnectionError):
                    process.stdin.write(b"stop\n")
                    await process.stdin.drain()
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        for reader in self.readers:
            reader.cancel()


async def worker() -> None:
    """Hold the screens given on stdin; say `ready <failed>`, then `A target slug port
    number called_at moment` for each call's first arrival at each screen, until told
    `stop`."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    screens: list[list[str]] = json.loads(await reader.readline())
    out = sys.stdout

    async def watch(target: str, slug: str, address: str) -> bool:
        try:
            connection = await websockets.connect(
                address, compression=None, max_queue=None, open_timeout=60, ping_interval=None
            )
        except (OSError, TimeoutError, websockets.InvalidHandshake):
            return False
        where = f"{target} {slug} {urlsplit(address).port}"
        tasks.append(asyncio.create_task(listen(where, connection)))
        return True

    async def listen(where: str, connection: Any) -> None:
        seen: set[tuple[str, str]] = set()
        with contextlib.suppress(websockets.ConnectionClosed):
            async for message in connection:
                moment = time.monotonic()
                for entry in json.loads(message).get("called") or []:
                    if (entry["number"], entry["called_at"]) not in seen:
                        seen.add((entry["number"], entry["called_at"]))
                        out.write(f"A {where} {entry['number']} {entry['called_at']} {moment}\n")
                out.flush()

    tasks: list[asyncio.Task[None]] = []
    # Screens come at a steady rate whether or not the server has answered those before
    # them (as screens switched on across a network would), each waiting up to a minute
    # for its handshake; those still not answered CONNECT_SECONDS on count as failed.
    batch = max(1, CONNECT_PER_SECOND // 10)
    began = time.monotonic()
    tries: list[asyncio.Task[bool]] = []
    for start in range(0, len(screens), batch):
        tries += [asyncio.create_task(watch(*screen)) for screen in screens[start : start + batch]]
        await asyncio.sleep(max(0.0, began + 0.1 * (start // batch + 1) - time.monotonic()))
    done, late = await asyncio.wait(
        tries, timeout=max(1.0, began + CONNECT_SECONDS - time.monotonic())
    )
    for task in late:
        task.cancel()
    failed = len(late) + sum(not task.result() for task in done)
    # The screens held here stay until the end: out of the collector's reach, as an
    # instance's are, lest a full collection of them here delay a call's arrivals.
    gc.collect()
    gc.freeze()
    out.write(f"ready {failed}\n")
    out.flush()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(WORKER_LIFETIME):
            await reader.readline()
    for listener in tasks:
        listener.cancel()


def floor_server(port: int) -> None:
    """The floor: the websockets library's server and broadcast() to one room per site,
    freezing what it built before it serves and collecting once when a burst of screens
    is over, as guichet's instances do (`app/live/settling.py`): else CPython's own full
    collection of all the screens' objects may fall in a call, and the floor measures the
    collector's luck."""
    from app.live.settling import Settling, freeze_built
    from bench.fanout import display_message

    freeze_built()

    rooms: dict[str, set[Any]] = {}
    settling = Settling()

    async def handler(connection: Any) -> None:
        path = connection.request.path
        if path == "/control":
            seq = 0
            async for order in connection:
                slug, number, called_at = str(order).split()
                seq += 1
                body = display_message(number, seq)
                body["called"][0]["called_at"] = called_at
                websockets.broadcast(rooms.get(slug, set()), json.dumps(body))
            return
        room = rooms.setdefault(path.rsplit("/", 1)[1], set())
        room.add(connection)
        settling.joined()
        try:
            await connection.wait_closed()
        finally:
            room.discard(connection)

    async def settle() -> None:
        while True:
            await asyncio.sleep(1)
            await settling.step()

    async def serve() -> None:
        async with websockets.serve(handler, "127.0.0.1", port, compression=None, max_size=4096):
            settler = asyncio.create_task(settle())
            await asyncio.sleep(WORKER_LIFETIME)
            settler.cancel()

    asyncio.run(serve())


if __name__ == "__main__":
    raise_file_limit()
    if "--floor-server" in sys.argv:
        floor_server(int(sys.argv[sys.argv.index("--floor-server") + 1]))
    elif "--worker" in sys.argv:
        asyncio.run(worker())
