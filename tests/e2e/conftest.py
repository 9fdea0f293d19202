"""Browser tests: the public pages in headless Chromium, served by a real `guichet serve`.

They need Debian's Chromium (`GUICHET_TEST_CHROMIUM`, default /usr/bin/chromium) and, for
the accessibility checks, axe-core from npm, which `make pytest` installs when npm is
there. Without them these tests skip with one line saying why, except under CI=true,
where that is a failure (`make pytest` installs Chromium there).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import NoReturn

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from app.demo import DEMO_PASSWORD
from tests.conftest import IN_CI
from tests.e2e.axe import AXE_SCRIPT, Axe, axe_violations
from tests.server_clock import ServerClock
from tests.servers import Server, die_with_parent, free_port

E2E = Path(__file__).resolve().parent
GUICHET = str(Path(sys.executable).parent / "guichet")
CHROMIUM = os.environ.get("GUICHET_TEST_CHROMIUM", "/usr/bin/chromium")
# Where the network is closed, as under CI, Chromium without the background-networking
# switches keeps opening connections that are refused, many at a time.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY_WITHIN_SECONDS = 60
STOP_WITHIN_SECONDS = 20


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(E2E):
            item.add_marker(pytest.mark.browser)


_missing: set[str] = set()


def unavailable(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"{reason}: CI requires it", pytrace=False)
    _missing.add(reason)
    pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport() -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # pytest reports a skip from a fixture at each test's own line; pointing them all at
    # this folder folds them into the one line that says what is missing.
    if report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2])
        if message.removeprefix("Skipped: ") in _missing:
            report.longrepr = (str(E2E), None, message)
    return report


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_WITHIN_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def live_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The empty folder the live server starts in; its database is var/guichet.db there."""
    return tmp_path_factory.mktemp("live-server")


@pytest.fixture(scope="session")
def live_clock() -> ServerClock:
    """The live server's clock: the real one but late in the evening (`tests.server_clock`)."""
    return ServerClock.for_tests()


@pytest.fixture(scope="session")
def live_server(live_folder: Path, live_clock: ServerClock) -> Iterator[str]:
    """The base URL of `guichet serve --demo` started in an empty folder, as a newcomer would.

    It uses the embedded SQLite database (var/guichet.db in that folder) and listens on
    127.0.0.1 only.
    """
    folder = live_folder
    log = folder / "serve.log"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("GUICHET_")}
    env.update(live_clock.environment())
    arguments = ["serve", "--demo", "--host", "127.0.0.1", "--port", str(port)]
    command = live_clock.command(GUICHET, arguments)
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    try:
        _wait_until_ready(base, process, log)
        yield base
    finally:
        _stop(process)


def _wait_until_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace")
            pytest.fail(f"guichet serve stopped (exit {process.returncode}):\n{output}")
        try:
            if httpx.get(f"{base}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    output = log.read_text(errors="replace")
    pytest.fail(f"guichet serve was not ready within {READY_WITHIN_SECONDS} s:\n{output}")


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium executable; the browser tests skip (fail under CI) without it."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        unavailable(
            f"Chromium not found at {CHROMIUM}; install Debian's chromium "
            "or set GUICHET_TEST_CHROMIUM to run the browser tests"
        )
    return CHROMIUM


@pytest.fixture(scope="package")
def browser(chromium: str) -> Iterator[Browser]:
    """Headless Chromium, with a temporary profile of its own.

    Package-scoped: while sync Playwright runs, asyncio believes a loop is running in
    this thread, which the async tests of the other packages could not bear.
    """
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, live_server: str) -> Iterator[Page]:
    """A fresh tab, in a context of its own, whose relative URLs go to the live server."""
    context = browser.new_context(base_url=live_server, locale="fr-FR")
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def axe(chromium: str) -> Axe:
    """`axe(page)`: the serious and critical WCAG 2.1 AA violations on the page.

    Takes `chromium` first so that, with neither, the skip gives one reason only.
    """
    if not AXE_SCRIPT.is_file():
        missing = "axe-core not installed (node_modules/axe-core/axe.min.js)"
        if shutil.which("npm") is None:
            unavailable(f"{missing} and npm not found: install npm to run the accessibility checks")
        unavailable(f"{missing}: run `make pytest` or `npm ci` to run the accessibility checks")
    return axe_violations


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A demo `guichet serve` of the test module's own, for tests that fill its queue."""
    folder = tmp_path_factory.mktemp("demo")
    server = Server(
        folder,
        free_port(),
        {"GUICHET_LOG_LEVEL": "WARNING"},
        demo=True,
        clock=ServerClock.for_tests(),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def headers(server: Server) -> dict[str, str]:
    """The bearer token of the 15e's demo manager on `server`."""
    token = httpx.post(
        f"{server.base}/api/v1/auth/token",
        json={"email": "responsable.paris15@guichet.example.org", "password": DEMO_PASSWORD},
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}
