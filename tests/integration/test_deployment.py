"""The production deployment files (Dockerfile, docker-compose.yml, deploy/Caddyfile, the
README's section) agree with the settings, the command line and the routes of the app."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml
from click.testing import CliRunner

import app.asgi
from app import cli, schema
from app.config import PREFIX, Settings, load_settings
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
DOCKERIGNORE = ROOT / ".dockerignore"
README = ROOT / "README.md"
GUICHET = str(Path(sys.executable).parent / "guichet")
REPLICAS = ("app1", "app2")
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 (inside its container, behind the proxy)
A_SECRET = "a-secret-for-the-tests-that-is-long-enough-0123456789"
SETTING_NAMES = {f"{PREFIX}{field.upper()}" for field in Settings.__struct_fields__}
GUICHET_VARIABLE = re.compile(r"\bGUICHET_[A-Z0-9_]+\b")


# --- reading the files -------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        whole = pending + stripped
        pending = ""
        keyword, _, arguments = whole.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def dockerfile(keyword: str) -> list[str]:
    return [arguments for name, arguments in dockerfile_instructions() if name == keyword]


def exec_form(arguments: str) -> list[str]:
    argv = json.loads(arguments)
    assert isinstance(argv, list)
    assert all(isinstance(word, str) for word in argv)
    return argv


def healthcheck_command() -> list[str]:
    (healthcheck,) = dockerfile("HEALTHCHECK")
    _options, _, command = healthcheck.partition(" CMD ")
    return exec_form(command)


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def service(name: str) -> dict[str, Any]:
    services: dict[str, Any] = compose()["services"]
    return dict(services[name])


INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<operator>:?[-?])(?P<argument>[^}]*))?\}")


def interpolate(value: str, environ: Mapping[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?error}`, from `environ`."""

    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match["name"], match["operator"], match["argument"]
        present = environ.get(name)
        unset = present is None or (present == "" and operator and operator.startswith(":"))
        if operator in ("?", ":?") and unset:
            raise LookupError(f"{name}: {argument}")
        if operator in ("-", ":-") and unset:
            return argument
        return present or ""

    return INTERPOLATION.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def environment(name: str, environ: Mapping[str, str]) -> dict[str, str]:
    raw = service(name).get("environment", {})
    assert isinstance(raw, dict), f"{name}: write the environment as a mapping"
    return {key: interpolate(str(value), environ) for key, value in raw.items()}


def readme_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Running it in production\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def caddyfile() -> tuple[Path, str]:
    """The proxy's configuration, found through the proxy service's bind mount."""
    for volume in service("proxy")["volumes"]:
        source, _, target = str(volume).partition(":")
        if target.startswith("/etc/caddy/Caddyfile"):
            path = (ROOT / source).resolve()
            assert path.is_relative_to(ROOT / "deploy"), path
            return path, path.read_text(encoding="utf-8")
    raise AssertionError("the proxy mounts no Caddyfile")


def caddy_directives(text: str) -> list[str]:
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


# --- the command line ------------------------------------------------------------------


def resolve_command(argv: list[str]) -> tuple[click.Command, list[str], list[str]]:
    """The click command `argv` runs, the words naming it, and the arguments it is given."""
    assert argv[0] == "guichet", argv
    command: click.Command = cli.main
    path: list[str] = []
    rest = argv[1:]
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        found = command.get_command(click.Context(command), rest[0])
        assert found is not None, f"`guichet {' '.join([*path, rest[0]])}` is no command"
        command, path, rest = found, [*path, rest[0]], rest[1:]
    assert not isinstance(command, click.Group), f"`{' '.join(argv)}` names a group only"
    return command, path, rest


def assert_real_command(argv: list[str]) -> None:
    command, path, arguments = resolve_command(argv)
    helped = CliRunner().invoke(cli.main, [*path, "--help"])
    assert helped.exit_code == 0, helped.output
    known = {option for parameter in command.params for option in parameter.opts}
    for word in arguments:
        if word.startswith("--"):
            assert word.split("=", 1)[0] in known, f"`guichet {' '.join(path)}` has no {word}"
    # Parsing the arguments as the command would, without running it.
    command.make_context(" ".join(["guichet", *path]), list(arguments))


def test_the_image_command_is_guichet_serve_on_all_interfaces_port_8000() -> None:
    (command,) = dockerfile("CMD")
    argv = exec_form(command)
    assert_real_command(argv)
    assert argv == ["guichet", "serve", "--host", ALL_INTERFACES, "--port", "8000"]


def test_every_guichet_command_of_the_compose_file_is_a_real_command() -> None:
    commands = [
        (name, spec["command"])
        for name, spec in compose()["services"].items()
        if "command" in spec and spec.get("image") == service("app1")["image"]
    ]
    assert [name for name, _ in commands] == ["migrate"]
    for _name, command in commands:
        argv = command if isinstance(command, list) else shlex.split(command)
        assert_real_command(argv)


def test_guichet_serve_on_postgresql_leaves_the_migrations_to_the_migrate_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn

    upgraded: list[str] = []
    served: list[dict[str, Any]] = []
    monkeypatch.setattr(schema, "upgrade", lambda url, *args: upgraded.append(url))
    monkeypatch.setattr(uvicorn, "run", lambda _app, **options: served.append(options))
    monkeypatch.setattr(app.asgi, "configure_logging", lambda *_args: None)
    replica = environment("app1", {"GUICHET_SECRET_KEY": A_SECRET})
    for name in [key for key in os.environ if key.startswith(PREFIX)]:
        monkeypatch.delenv(name)
    for name, value in replica.items():
        monkeypatch.setenv(name, value)

    (command,) = dockerfile("CMD")
    result = CliRunner().invoke(cli.main, exec_form(command)[1:])

    assert result.exit_code == 0, result.output
    assert upgraded == [], "a replica must not migrate PostgreSQL: the migrate service does"
    (options,) = served
    assert (options["host"], options["port"]) == (ALL_INTERFACES, 8000)
    # The forwarded headers are believed from GUICHET_TRUSTED_PROXIES only, never from
    # uvicorn's own default (loopback) or its FORWARDED_ALLOW_IPS.
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == ["*"]


# --- the image -------------------------------------------------------------------------


def test_the_image_starts_from_a_slim_official_python_pinned_to_its_minor_version() -> None:
    (base,) = dockerfile("FROM")
    match = re.fullmatch(r"python:3\.(\d+)-slim(-[a-z]+)?", base)
    assert match, f"{base}: use python:3.X-slim"
    assert int(match[1]) >= 11, "pyproject.toml asks for Python 3.11 or newer"


def test_the_image_runs_as_a_user_that_is_not_root() -> None:
    instructions = [name for name, _ in dockerfile_instructions()]
    users = dockerfile("USER")
    assert users, "no USER: the app would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")
    last_user = max(index for index, name in enumerate(instructions) if name == "USER")
    assert last_user < instructions.index("CMD")
    assert not [name for name in instructions[last_user:] if name in ("RUN", "COPY", "ADD")]


def test_the_image_installs_the_dependencies_of_pyproject_and_no_dev_tools() -> None:
    runs = " ".join(dockerfile("RUN"))
    assert "pyproject.toml" in runs
    assert "pip install" in runs
    assert "[dev]" not in runs
    assert not re.search(r"apt-get install|\bcurl\b|\bgcc\b|build-essential", runs)


def test_the_image_holds_what_the_app_reads_beside_its_package() -> None:
    """app/schema.py and the display routes find migrations/ and display/ next to app/:
    the source tree is copied whole and installed in place, not into site-packages."""
    needed = {
        schema.MIGRATIONS_DIR.relative_to(ROOT).as_posix(),
        app.asgi.DISPLAY_DIR.resolve().relative_to(ROOT).as_posix(),
        "app",
        "pyproject.toml",
    }
    copied: set[str] = set()
    for arguments in dockerfile("COPY"):
        *sources, _target = arguments.split()
        copied |= {source.rstrip("/") for source in sources if not source.startswith("--")}
    assert needed <= copied, f"the image lacks {needed - copied}"
    ignored = {line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()}
    assert not needed & ignored, f".dockerignore keeps out {needed & ignored}"
    assert re.search(r"pip install [^&]*(--editable|-e) \.", " ".join(dockerfile("RUN")))


def test_the_healthcheck_asks_the_port_the_image_serves_for_readiness() -> None:
    argv = healthcheck_command()
    assert argv[:2] == ["python", "-c"], "the slim image has no curl: use Python's urllib"
    compile(argv[2], "<healthcheck>", "exec")
    (url,) = re.findall(r"https?://[^'\"\s]+", argv[2])
    (exposed,) = dockerfile("EXPOSE")
    (command,) = dockerfile("CMD")
    served_port = exec_form(command)[exec_form(command).index("--port") + 1]
    assert urlsplit(url).port == int(exposed) == int(served_port)
    assert urlsplit(url).path == "/health/ready"


def test_the_health_and_websocket_paths_are_routes_of_the_app(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/guichet.db")
    paths = {route.path for route in app.asgi.create_app(settings).routes}
    assert urlsplit(re.findall(r"https?://[^'\"\s]+", healthcheck_command()[2])[0]).path in paths
    assert any(path.startswith("/ws/") for path in paths), "the proxy upgrades /ws/ for these"


def run_healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    """The image's health check, verbatim but for the port."""
    argv = healthcheck_command()
    code = argv[2].replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    assert code != argv[2]
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )


@pytest.fixture
def replica(tmp_path: Path) -> Iterator[int]:
    """`guichet serve` with a replica's settings from the compose file, on SQLite."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(PREFIX)}
    env |= environment("app1", {"GUICHET_SECRET_KEY": A_SECRET})
    env["GUICHET_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path}/guichet.db"
    process = subprocess.Popen(
        [GUICHET, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield port
    finally:
        process.terminate()
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


@pytest.mark.slow
def test_a_replica_passes_the_image_healthcheck_and_fails_it_when_down(replica: int) -> None:
    deadline = time.monotonic() + 60
    while (checked := run_healthcheck(replica)).returncode != 0:
        assert time.monotonic() < deadline, f"never healthy: {checked.stderr}"
        time.sleep(0.3)
    assert run_healthcheck(free_port()).returncode != 0


def test_dockerignore_keeps_the_local_environment_and_secrets_out_of_the_image() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", "var", "node_modules", ".git", ".env"} <= ignored


# --- the compose file ------------------------------------------------------------------


def test_the_compose_file_has_the_services_of_the_deployment() -> None:
    assert set(compose()["services"]) == {"postgres", "migrate", *REPLICAS, "proxy", "mail"}


def test_every_guichet_variable_of_the_deployment_is_a_setting() -> None:
    named = {
        "docker-compose.yml": set(GUICHET_VARIABLE.findall(COMPOSE.read_text(encoding="utf-8"))),
        "Dockerfile": set(GUICHET_VARIABLE.findall(DOCKERFILE.read_text(encoding="utf-8"))),
        "README, Running it in production": set(GUICHET_VARIABLE.findall(readme_section())),
    }
    for where, names in named.items():
        assert names <= SETTING_NAMES, f"{where} names no setting: {names - SETTING_NAMES}"
    assert named["docker-compose.yml"], "the compose file sets no GUICHET_ variable"


def test_the_replicas_make_valid_production_settings_with_the_secret_given() -> None:
    replica = environment("app1", {"GUICHET_SECRET_KEY": A_SECRET})
    settings = load_settings(environ=replica)
    assert settings.is_production
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert urlsplit(settings.database_url).hostname == "postgres"
    assert settings.secret_key == A_SECRET
    assert settings.base_url == "http://localhost:8080"
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_security) == (
        "mail",
        1025,
        "none",
    )
    assert settings.scheduler, "both replicas run the scheduler; the database decides once"


def test_the_secret_key_has_no_default_in_the_compose_file() -> None:
    for name in ("migrate", *REPLICAS):
        raw = service(name)["environment"]["GUICHET_SECRET_KEY"]
        assert re.fullmatch(r"\$\{GUICHET_SECRET_KEY:\?[^}]+\}", raw), raw
        with pytest.raises(LookupError):
            environment(name, {})


def test_the_replicas_share_one_image_and_one_environment() -> None:
    first, second = (service(name) for name in REPLICAS)
    assert first["image"] == second["image"] == service("migrate")["image"]
    assert first["environment"] == second["environment"] == service("migrate")["environment"]
    assert first["build"] == second["build"] == "."


def test_the_replicas_start_after_the_migrations_succeeded_on_a_healthy_database() -> None:
    migrate = service("migrate")
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert str(migrate["restart"]) == "no"
    assert migrate["healthcheck"] == {"disable": True}, "a one-shot job serves nothing"
    for name in REPLICAS:
        depends_on = service(name)["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully"
        assert depends_on["postgres"]["condition"] == "service_healthy"


def test_postgres_keeps_its_data_in_a_volume_and_says_when_it_is_ready() -> None:
    postgres = service("postgres")
    assert postgres["image"].startswith("postgres:")
    test = postgres["healthcheck"]["test"]
    assert "pg_isready" in (" ".join(test) if isinstance(test, list) else test)
    (volume,) = postgres["volumes"]
    name, _, target = volume.partition(":")
    assert name in compose()["volumes"]
    assert target == "/var/lib/postgresql/data"
    user = postgres["environment"]["POSTGRES_USER"]
    database_url = environment("app1", {"GUICHET_SECRET_KEY": A_SECRET})["GUICHET_DATABASE_URL"]
    assert urlsplit(database_url).username == user
    assert urlsplit(database_url).password == interpolate(
        postgres["environment"]["POSTGRES_PASSWORD"], {}
    )
    assert urlsplit(database_url).path == "/" + postgres["environment"]["POSTGRES_DB"]


def test_only_the_proxy_and_the_mail_inbox_are_published() -> None:
    published = {
        name: [str(port) for port in spec.get("ports", [])]
        for name, spec in compose()["services"].items()
        if spec.get("ports")
    }
    assert published == {"proxy": ["8080:80"], "mail": ["127.0.0.1:8025:8025"]}
    for name in ("postgres", "migrate", *REPLICAS):
        assert "expose" not in service(name)


def test_the_mail_catcher_is_the_replicas_mail_server() -> None:
    mail = service("mail")
    assert mail["image"].startswith("axllent/mailpit:")
    replica = environment("app1", {"GUICHET_SECRET_KEY": A_SECRET})
    assert replica["GUICHET_SMTP_HOST"] == "mail"
    assert replica["GUICHET_SMTP_PORT"] == "1025"


# --- the proxy -------------------------------------------------------------------------


def test_the_proxy_balances_both_replicas_on_the_port_the_image_serves() -> None:
    _path, text = caddyfile()
    (exposed,) = dockerfile("EXPOSE")
    proxies = [line for line in caddy_directives(text) if line.startswith("reverse_proxy ")]
    assert len(proxies) == 1, "one reverse_proxy for every path, websockets included"
    upstreams = proxies[0].removeprefix("reverse_proxy ").removesuffix("{").split()
    assert sorted(upstreams) == [f"{name}:{exposed}" for name in REPLICAS]
    assert "health_uri /health/ready" in caddy_directives(text)
    assert set(service("proxy")["depends_on"]) == set(REPLICAS)
    assert service("proxy")["image"].startswith("caddy:2")


def test_the_proxy_upgrades_websockets_and_sets_the_forwarded_headers_itself() -> None:
    """Caddy's reverse_proxy upgrades websockets and sets X-Forwarded-For and -Proto on its
    own; listing no trusted_proxies makes it replace any X-Forwarded-For a client sends,
    which matters because the replicas trust whatever the proxy forwards."""
    _path, text = caddyfile()
    directives = caddy_directives(text)
    assert not [line for line in directives if line.startswith("trusted_proxies")]
    for header in ("Upgrade", "Connection", "X-Forwarded-For", "X-Forwarded-Proto", "Host"):
        assert not [
            line for line in directives if re.match(rf"header_up\s+[-+]?{header}\b", line, re.I)
        ], f"the Caddyfile changes {header} on the way to the replicas"


def test_the_replicas_trust_the_proxy_for_the_client_address() -> None:
    for name in REPLICAS:
        assert service(name)["environment"]["GUICHET_TRUSTED_PROXIES"] == "*"
        assert "ports" not in service(name), "a replica reached directly could fake its address"


# --- the README ------------------------------------------------------------------------


def test_the_readme_says_how_to_run_it_in_production() -> None:
    section = readme_section()
    text = README.read_text(encoding="utf-8")
    assert text.index("## Running it in production") < text.index("## The API")
    assert "GUICHET_SECRET_KEY=$(python3 -c 'import secrets;" in section
    assert "docker compose up" in section
    for name in [*compose()["services"], "deploy/Caddyfile", "Dockerfile"]:
        assert f"`{name}`" in section, f"the README section does not mention {name}"
    for variable in (
        "GUICHET_SECRET_KEY",
        "GUICHET_DATABASE_URL",
        "GUICHET_PUBLIC_URL",
        "GUICHET_SMTP_HOST",
        "GUICHET_SMS_URL",
        "GUICHET_SMS_KEY",
        "GUICHET_SMS_SENDER",
        "GUICHET_REDIS_URL",
        "GUICHET_METRICS_TOKEN",
        "GUICHET_TRUSTED_PROXIES",
    ):
        assert f"`{variable}" in section, f"the README section does not name {variable}"
    for argv in re.findall(r"docker compose run --rm migrate (guichet [^`]+)`", section):
        assert_real_command(shlex.split(argv.replace("\n", " ")))
