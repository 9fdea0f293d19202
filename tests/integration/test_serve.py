"""`guichet serve` as a newcomer runs it, what it sets up before serving, and CI's refusal to
run without PostgreSQL."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from click.testing import CliRunner

from app import cli
from app.live.settling import FREEZING
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
GUICHET = str(Path(sys.executable).parent / "guichet")


def wait_until_ready(base: str, process: subprocess.Popen[str], limit: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if process.poll() is not None:
            raise AssertionError(
                f"guichet serve stopped: {process.stdout.read() if process.stdout else ''}"
            )
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("guichet serve did not become ready")


def serve(cwd: Path, port: int) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GUICHET_")}
    return subprocess.Popen(
        [GUICHET, "serve", "--demo", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGINT)
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


def test_guichet_serve_demo_migrates_loads_and_serves_on_a_fresh_folder(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = serve(tmp_path, port)
    try:
        wait_until_ready(base, process)
        sites = httpx.get(f"{base}/api/v1/sites").json()
        paris_15 = httpx.get(f"{base}/api/v1/sites/paris-15").json()
        docs = httpx.get(f"{base}/schema")
        home = httpx.get(f"{base}/")
    finally:
        output = stop(process)

    assert len(sites) == 17
    assert paris_15["address"] == "31 rue Péclet, 75015 Paris"
    assert {station["kind"] for station in paris_15["stations"]} == {"standard", "double"}
    assert docs.status_code == 200
    assert home.status_code == 200
    assert (tmp_path / "var" / "guichet.db").exists()
    assert f"API docs       {base}/schema" in output
    assert f"pages          {base}/" in output

    second = serve(tmp_path, port)
    try:
        seconds = wait_until_ready(base, second)
    finally:
        output = stop(second)
    assert "demo data: 0 mairies" in output
    print(f"second start ready in {seconds:.1f} s")


def test_ci_fails_instead_of_skipping_when_postgresql_is_unreachable(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CI": "true",
        "GUICHET_TEST_POSTGRES_URL": "postgresql://postgres@127.0.0.1:1/postgres",
    }
    outside_ci = {**env, "CI": ""}
    target = "tests/integration/test_sites_api.py::test_an_unknown_mairie_is_a_404_problem"
    command = [sys.executable, "-m", "pytest", target, "-p", "no:cacheprovider", "-q"]

    in_ci = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    locally = subprocess.run(
        command, cwd=ROOT, env=outside_ci, capture_output=True, text=True, timeout=300, check=False
    )

    assert in_ci.returncode != 0, in_ci.stdout
    assert "PostgreSQL unreachable at postgresql://postgres@127.0.0.1:1/postgres" in in_ci.stdout
    assert "CI requires it" in in_ci.stdout
    assert locally.returncode == 0, locally.stdout
    assert "1 passed, 1 skipped" in locally.stdout


pytestmark = pytest.mark.slow


def test_serve_freezes_what_it_built_before_it_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The application's own objects are out of the garbage collector's reach once built:
    a full collection walks only what requests and connections made since."""
    frozen: list[tuple[int, bool]] = []
    monkeypatch.setattr(
        uvicorn, "run", lambda app, **_: frozen.append((gc.get_freeze_count(), FREEZING.on))
    )
    monkeypatch.setattr(FREEZING, "on", False)  # and back after: this process froze nothing
    for key in [key for key in os.environ if key.startswith("GUICHET_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("GUICHET_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'g.db'}")
    try:
        result = CliRunner().invoke(cli.main, ["serve"])
    finally:
        gc.unfreeze()
    assert result.exit_code == 0, result.output
    assert len(frozen) == 1
    assert frozen[0][0] > 100_000
    assert frozen[0][1]  # the screens' bursts will be frozen too
