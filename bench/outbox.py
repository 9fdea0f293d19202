"""Messages per second delivered to a local SMTP server: 10,000 due messages, dispatched
by one and by two `guichet serve` instances sharing PostgreSQL (and by one on SQLite).
The baseline is the same SMTP server fed ready-made messages by four aiosmtplib
connections, with nothing else: the server's own ceiling (the floor).

Target: at least 300 messages a second with one instance.
Run: .venv/bin/python -m bench.outbox [--messages 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiosmtplib
import asyncpg
from sqlalchemy import insert, select

from app import schema
from app.db import Database
from app.notify.models import OutboxMessage
from app.sites.demo import load_demo
from app.sites.models import Site
from tests.mail import smtp_server
from tests.servers import die_with_parent, free_port

GUICHET = str(Path(sys.executable).parent / "guichet")


async def fill(db: Database, count: int) -> None:
    now = datetime.now(UTC)
    async with db.writing() as session:
        site = await session.scalar(select(Site.id).where(Site.slug == "paris-15"))
        for start in range(0, count, 2000):
            await session.execute(
                insert(OutboxMessage),
                [
                    {
                        "idempotency_key": f"bench:{now.timestamp()}:{n}",
                        "site_id": site,
                        "kind": "follow_up",
                        "channel": "email",
                        "recipient": f"person{n}@example.org",
                        "data": {
                            "token": f"t{n:031d}",
                            "site": "Mairie du 15e arrondissement",
                            "address": "31 rue Péclet, 75015 Paris",
                            "service": "Démarches CAF en ligne",
                            "number": "A001",
                        },
                        "send_after": now,
                        "status": "pending",
                        "attempts": 0,
                        "last_error": "",
                        "claimed_by": "",
                        "created_at": now,
                    }
                    for n in range(start, min(count, start + 2000))
                ],
            )


async def wait_ready(port: int, process: asyncio.subprocess.Process) -> None:
    import httpx

    async with httpx.AsyncClient() as client, asyncio.timeout(60):
        while process.returncode is None:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health/ready")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("server stopped")


async def through_guichet(label: str, url: str, instances: int, count: int, folder: Path) -> None:
    await asyncio.to_thread(schema.upgrade, url)
    db = Database(url)
    async with db.writing() as session:
        await load_demo(session, today=datetime.now(UTC).date())
    with smtp_server(free_port()) as smtp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GUICHET_")}
        env.update(
            {
                "GUICHET_DATABASE_URL": url,
                "GUICHET_LOG_LEVEL": "WARNING",
                "GUICHET_REQUESTS_PER_MINUTE": "10000000",
                "GUICHET_SMTP_HOST": "127.0.0.1",
                "GUICHET_SMTP_PORT": str(smtp.port),
                "GUICHET_SMTP_SECURITY": "none",
                "GUICHET_DISPATCH_EVERY_SECONDS": "0.5",
            }
        )
        servers = []
        for _ in range(instances):
            port = free_port()
            process = await asyncio.create_subprocess_exec(
                GUICHET, "serve", "--port", str(port),
                cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                preexec_fn=die_with_parent,
            )  # fmt: skip
            await wait_ready(port, process)
            servers.append(process)
        try:
            await fill(db, count)
            started = time.perf_counter()
            await asyncio.to_thread(smtp.mailbox.wait_for, count, 600)
            elapsed = time.perf_counter() - started
        finally:
            for process in servers:
                process.send_signal(signal.SIGINT)
                await process.wait()
        received = smtp.mailbox.count()
    await db.dispose()
    rate = received / elapsed
    print(f"  {label:<30} {received:>6} delivered in {elapsed:6.1f} s   {rate:7.1f} per second")


async def smtp_rate(count: int, port: int, connections: int = 4) -> tuple[int, float]:
    """The SMTP server's own ceiling: ready-made messages over a few bare connections;
    how many were sent, and in how many seconds."""
    raw = (
        "From: bench@example.org\r\nTo: person@example.org\r\nSubject: Merci\r\n\r\n"
        + "Merci de votre visite a la Mairie du 15e arrondissement.\r\n" * 20
    ).encode()
    with smtp_server(port) as smtp:
        clients = [
            aiosmtplib.SMTP(hostname="127.0.0.1", port=smtp.port, start_tls=False)
            for _ in range(connections)
        ]
        for client in clients:
            await client.connect()
        started = time.perf_counter()

        async def send_share(client: aiosmtplib.SMTP, share: int) -> None:
            for n in range(share):
                await client.sendmail("bench@example.org", [f"person{n}@example.org"], raw)

        await asyncio.gather(*(send_share(c, count // connections) for c in clients))
        elapsed = time.perf_counter() - started
        for client in clients:
            await client.quit()
    return count // connections * connections, elapsed


async def floor(count: int, connections: int = 4) -> None:
    sent, elapsed = await smtp_rate(count, free_port(), connections)
    label, rate = f"floor: {connections} raw SMTP clients", sent / elapsed
    print(f"  {label:<30} {sent:>6} delivered in {elapsed:6.1f} s   {rate:7.1f} per second")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(f"{args.messages} due messages to a local SMTP server")
    await floor(args.messages)
    with tempfile.TemporaryDirectory() as folder:
        await through_guichet(
            "one instance, SQLite",
            f"sqlite+aiosqlite:///{folder}/bench.db",
            1,
            args.messages,
            Path(folder),
        )
    admin = await asyncpg.connect(args.postgres)
    base = args.postgres.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        for instances in (1, 2):
            name = f"guichet_bench_outbox_{instances}_{int(time.time())}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            try:
                with tempfile.TemporaryDirectory() as folder:
                    label = f"{instances} instance{'s' if instances > 1 else ''}, PostgreSQL"
                    await through_guichet(
                        label, f"{base}/{name}", instances, args.messages, Path(folder)
                    )
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
