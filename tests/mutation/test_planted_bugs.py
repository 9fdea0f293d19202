"""The five small bugs an outside audit planted in the pure cores, each applied to a copy
of the code: the module's unit tests must fail on every one of them, and pass on the
untouched copy (so a failure means the bug was seen, not that the copy is broken).
`make mutation` does the same for every small change a tool can make; these five are
the ones an outside reader found, kept by name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Each run stops at the first failure; a run that sees nothing goes through the module's
# unit tests, which take well under this.
RUN_LIMIT_SECONDS = 600


@dataclass(frozen=True)
class Planted:
    bug: str
    path: str
    original: str
    mutated: str
    tests: tuple[str, ...]


PLANTED = [
    Planted(
        "a walk-in waiting exactly the starvation threshold is promoted",
        "app/queue/ordering.py",
        "now - ticket.arrived_at > threshold",
        "now - ticket.arrived_at >= threshold",
        ("tests/unit/test_queue_core.py", "tests/unit/test_queue_oracle.py"),
    ),
    Planted(
        "a daytime quiet-hours window is ignored",
        "app/notify/planner.py",
        "quiet = rules.quiet_from <= clock < rules.quiet_until",
        "quiet = False",
        ("tests/unit/test_planner.py",),
    ),
    Planted(
        "the 24th of a 31-day month is taken as its last such weekday",
        "app/sites/hours.py",
        "day.day + 7 > days_in_month",
        "day.day + 7 >= days_in_month",
        ("tests/unit/test_hours.py", "tests/unit/test_hours_oracle.py"),
    ),
    Planted(
        "a booking ending exactly at a slot's start blocks the slot",
        "app/booking/slots.py",
        "index = bisect.bisect_right(self.ends, start)",
        "index = bisect.bisect_left(self.ends, start)",
        ("tests/unit/test_slots.py", "tests/unit/test_slots_oracle.py"),
    ),
    Planted(
        "the ticket counter restarts at midnight UTC, not at midnight in Paris",
        "app/queue/numbering.py",
        "return now.astimezone(tz).date()",
        "return now.date()",
        ("tests/unit/test_numbering.py", "tests/unit/test_queue_core.py"),
    ),
]


def _copy_of_the_code(folder: Path) -> Path:
    """`app`, the tests and the pytest settings, copied into `folder`."""
    ignore = shutil.ignore_patterns("__pycache__", ".hypothesis")
    shutil.copytree(ROOT / "app", folder / "app", ignore=ignore)
    shutil.copytree(ROOT / "tests", folder / "tests", ignore=ignore)
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    return folder


def _unit_tests(copy: Path, tests: list[str]) -> subprocess.CompletedProcess[str]:
    """Unit tests run against the copy's code, not the installed one."""
    environment = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    environment.pop("PYTEST_ADDOPTS", None)
    command = [sys.executable, "-m", "pytest", *tests, "-x", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(
        command,
        cwd=copy,
        env=environment,
        capture_output=True,
        text=True,
        timeout=RUN_LIMIT_SECONDS,
        check=False,
    )


def _plant(copy: Path, planted: Planted) -> None:
    source = copy / planted.path
    text = source.read_text(encoding="utf-8")
    # The bug is planted in exactly one place: if the code has moved on, say so.
    assert text.count(planted.original) == 1, f"{planted.path} no longer holds the line"
    source.write_text(text.replace(planted.original, planted.mutated), encoding="utf-8")


@pytest.fixture(scope="module")
def untouched_copy_passes(tmp_path_factory: pytest.TempPathFactory) -> None:
    copy = _copy_of_the_code(tmp_path_factory.mktemp("untouched"))
    probe = subprocess.run(
        [sys.executable, "-c", "import app; print(app.__file__)"],
        cwd=copy,
        env={**os.environ, "PYTHONPATH": str(copy)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(probe.stdout.strip()).is_relative_to(copy), "the copy's code is not the one run"
    every_test = sorted({test for planted in PLANTED for test in planted.tests})
    run = _unit_tests(copy, every_test)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


@pytest.mark.parametrize("planted", PLANTED, ids=lambda planted: planted.path.split("/")[-1])
def test_the_unit_tests_catch_each_bug_the_audit_planted(
    planted: Planted, untouched_copy_passes: None, tmp_path: Path
) -> None:
    copy = _copy_of_the_code(tmp_path)
    _plant(copy, planted)
    run = _unit_tests(copy, list(planted.tests))
    # 1: tests failed. Anything else (an import error, no tests collected) is not a catch.
    report = run.stdout[-3000:] + run.stderr[-2000:]
    assert run.returncode == 1, f"{planted.bug}: not caught\n{report}"
    assert " failed" in run.stdout, run.stdout[-3000:]
