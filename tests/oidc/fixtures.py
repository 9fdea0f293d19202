"""A real OpenID provider on loopback for the sign-in tests: the certified `oidc-provider`
package from npm, run by Node (tests/oidc/provider.mjs), configured by the test with its
clients and users.

`start_provider()` starts one with any configuration (a clock moved back, so that its ID
tokens have expired; an issuer that is a proxy's address); the `oidc_provider` fixture is
one with the two clients guichet has (residents, staff) and a few test users. Without
Node or the package these tests skip with one line saying why, except under CI=true,
where that is a failure (`make pytest` installs the npm packages).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest

from tests.conftest import IN_CI
from tests.servers import die_with_parent

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_SCRIPT = Path(__file__).resolve().parent / "provider.mjs"
PACKAGE = ROOT / "node_modules" / "oidc-provider"
# The ports these servers take, and how long one may take to answer or to stop.
# Below the ports the system gives outgoing connections, and below those of
# tests.servers.free_port (20000 and up).
PORTS = range(19_000, 20_000)
READY_WITHIN_SECONDS = 30
STOP_WITHIN_SECONDS = 10
# Where the test's guichet says it is (GUICHET_PUBLIC_URL): the provider sends the
# browser back there, and the test hands that address's path to its client.
GUICHET_URL = "http://guichet.test"
RESIDENTS_RETURN = f"{GUICHET_URL}/mon-espace/connexion/retour"
# Where the provider sends a resident back after its own logout: their space, signed out.
RESIDENTS_SIGNED_OUT = f"{GUICHET_URL}/mon-espace"
STAFF_RETURN = f"{GUICHET_URL}/agents/connexion/retour"
# Where the provider sends an agent back after its own logout: guichet's login page.
STAFF_LOGGED_OUT = f"{GUICHET_URL}/connexion"


@dataclass(frozen=True)
class OidcClient:
    """One client registered at the provider."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    # Where the provider may send the browser back after a logout this client asked for.
    post_logout_redirect_uris: tuple[str, ...] = ()

    def as_config(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": list(self.redirect_uris),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
        }


@dataclass(frozen=True)
class OidcUser:
    """A person who can sign in at the provider, with `sub` (or `email`) as the login and
    any password."""

    sub: str
    email: str | None = None
    email_verified: bool = False
    name: str = ""
    phone: str | None = None
    phone_verified: bool = False

    def as_config(self) -> dict[str, Any]:
        return {
            "sub": self.sub,
            "email": self.email,
            "email_verified": self.email_verified,
            "name": self.name,
            "phone": self.phone,
            "phone_verified": self.phone_verified,
        }


RESIDENTS_CLIENT = OidcClient(
    "guichet-usagers",
    "usagers-secret-0123456789",
    (RESIDENTS_RETURN,),
    (RESIDENTS_SIGNED_OUT,),
)
STAFF_CLIENT = OidcClient(
    "guichet-agents", "agents-secret-0123456789", (STAFF_RETURN,), (STAFF_LOGGED_OUT,)
)
USERS = (
    OidcUser(
        "resident-alice",
        email="alice.martin@example.org",
        email_verified=True,
        name="Alice Martin",
        phone="+33612345678",
        phone_verified=False,
    ),
    OidcUser(
        "resident-bob", email="bob.durand@example.org", email_verified=False, name="Bob Durand"
    ),
    OidcUser(
        "agent-claire",
        email="claire.petit@paris.example.org",
        email_verified=True,
        name="Claire Petit",
    ),
)


@dataclass
class OidcProvider:
    """A running provider: its issuer URL (what guichet's GUICHET_OIDC_ISSUER is), its
    clients by name, its users."""

    issuer: str
    port: int
    clients: dict[str, OidcClient]
    users: tuple[OidcUser, ...]
    process: subprocess.Popen[bytes]
    log: Path
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Where the provider itself listens (the issuer may be a proxy's address)."""
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


_missing: set[str] = set()


def unavailable(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"{reason}: CI requires it", pytrace=False)
    _missing.add(reason)
    pytest.skip(reason)


def node() -> str:
    """Node's path, or a skip (a failure under CI) saying what is missing."""
    found = shutil.which("node")
    if found is None:
        unavailable("Node.js is not installed: the OpenID provider of the sign-in tests needs it")
    if not (PACKAGE / "package.json").exists():
        unavailable("node_modules/oidc-provider is missing: run `npm ci` (or `make browser-tools`)")
    return found


_taken: set[int] = set()


def free_port() -> int:
    """A free port of 19000–19999, never one this process gave before (a provider's keys
    are its own: a guichet that knew another provider at that address would be misled)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    share = len(PORTS) // 8  # each of up to eight workers its own ports
    mine = PORTS[(int(worker) % 8) * share :][:share] if worker.isdigit() else PORTS
    candidates = [port for port in mine if port not in _taken]
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _taken.add(port)
        return port
    raise RuntimeError("no free port in 19000-19999")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_WITHIN_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class ProviderStopped(AssertionError):
    """The provider's process ended before it answered (its output says why)."""


def _wait_until_ready(provider: OidcProvider) -> None:
    """Until the provider's discovery document answers (a provider that stopped: why)."""
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    discovery = f"{provider.url}/.well-known/openid-configuration"
    while time.monotonic() < deadline:
        if provider.process.poll() is not None:
            raise ProviderStopped(f"the OpenID provider stopped:\n{provider.output()}")
        try:
            if httpx.get(discovery, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the OpenID provider did not answer in time:\n{provider.output()}")


@contextmanager
def start_provider(
    folder: Path,
    *,
    clients: Mapping[str, OidcClient] | None = None,
    users: Sequence[OidcUser] = USERS,
    clock_offset: int = 0,
    id_token_ttl: int | None = None,
    issuer: str | None = None,
    port: int | None = None,
) -> Iterator[OidcProvider]:
    """A provider on 127.0.0.1, stopped afterwards. `clock_offset` (seconds) moves its
    clock; `id_token_ttl` (seconds) is how long its ID tokens last; `issuer` is the
    address it names itself by, when something (a proxy) stands in front of it."""
    executable = node()
    clients = dict(clients or {"residents": RESIDENTS_CLIENT, "staff": STAFF_CLIENT})
    for attempt in range(3):  # a port taken meanwhile by another process: another port
        provider = _launch(
            executable, folder, clients, users, clock_offset, id_token_ttl, issuer, port
        )
        try:
            _wait_until_ready(provider)
        except ProviderStopped:
            if port is not None or attempt == 2:
                raise
            continue
        try:
            yield provider
        finally:
            _stop(provider.process)
        return


def _launch(
    executable: str,
    folder: Path,
    clients: Mapping[str, OidcClient],
    users: Sequence[OidcUser],
    clock_offset: int,
    id_token_ttl: int | None,
    issuer: str | None,
    port: int | None,
) -> OidcProvider:
    port = port or free_port()
    config: dict[str, Any] = {
        "port": port,
        "issuer": issuer or f"http://127.0.0.1:{port}",
        "clients": [client.as_config() for client in clients.values()],
        "users": [user.as_config() for user in users],
        "clock_offset": clock_offset,
    }
    if id_token_ttl is not None:
        config["id_token_ttl"] = id_token_ttl
    config_file = folder / f"oidc-{port}.json"
    config_file.write_text(json.dumps(config))
    log = folder / f"oidc-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [executable, str(PROVIDER_SCRIPT), str(config_file)],
            cwd=ROOT,
            env={**os.environ, "NODE_ENV": "test"},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    return OidcProvider(config["issuer"], port, dict(clients), tuple(users), process, log, config)


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """A provider with guichet's two clients (`residents`, `staff`) and the test users
    (`USERS`), for the whole session."""
    with start_provider(tmp_path_factory.mktemp("oidc")) as provider:
        yield provider


@pytest.fixture
def oidc_folder(tmp_path: Path) -> Path:
    """Where a test's own providers keep their configuration and log."""
    return tmp_path
