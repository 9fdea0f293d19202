"""Mutation testing of the pure cores: `make mutation`.

mutmut changes the modules listed in pyproject.toml (`[tool.mutmut]`: slots, ordering,
numbering, eta, planner, hours, the lifecycles, and the earlier slots' rules) one small
change at a time (`>` for `>=`, `+` for `-`, a constant, a removed argument...) and runs
the unit tests that reach the changed function. A mutant the tests let through is a change
of behaviour nobody would notice. Prints the score per module and every survivor with its
change. Not part of `make test`: it takes several minutes; its latest result is in
bench/README.md.

    .venv/bin/python -m bench.mutation            # a fresh run
    .venv/bin/python -m bench.mutation --report   # the last run's results again
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

MUTMUT = str(Path(sys.executable).parent / "mutmut")
# What mutmut calls each outcome, and whether the tests saw the change.
DETECTED = {"killed", "timeout", "segfault", "caught by type check"}
NOT_RUN = {"skipped", "not checked", "check was interrupted by user"}
TARGET = 0.90


def run() -> float:
    """A fresh run: results kept from older code would mislead."""
    shutil.rmtree("mutants", ignore_errors=True)
    started = time.monotonic()
    subprocess.run([MUTMUT, "run"], check=False, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def outcomes() -> dict[str, str]:
    listing = subprocess.run(
        [MUTMUT, "results", "--all", "true"], capture_output=True, text=True, check=True
    )
    found = {}
    for line in listing.stdout.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name:
            found[name] = status
    return found


def module_of(mutant: str) -> str:
    """app.queue.ordering.x_order_key__mutmut_3 -> app.queue.ordering (a method's
    mutants are named app.booking.slots.x\u01c1SlotFinder\u01c1check__mutmut_1)."""
    return re.split(r"\.x[_\u01c1]", mutant, maxsplit=1)[0]


def change(mutant: str) -> str:
    """The mutant's diff, less its headers."""
    shown = subprocess.run([MUTMUT, "show", mutant], capture_output=True, text=True, check=False)
    lines = [
        line
        for line in shown.stdout.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    return "\n".join(f"      {line}" for line in lines)


def report(found: dict[str, str], seconds: float | None) -> bool:
    by_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in found.items():
        by_module[module_of(name)][status] += 1
    total_detected = total_counted = 0
    print(f"{'module':<24} {'mutants':>8} {'killed':>8} {'survived':>9} {'score':>7}")
    for module in sorted(by_module):
        counts = by_module[module]
        detected = sum(counts[s] for s in DETECTED)
        counted = sum(n for s, n in counts.items() if s not in NOT_RUN)
        total_detected += detected
        total_counted += counted
        score = detected / counted if counted else 1.0
        print(f"{module:<24} {counted:>8} {detected:>8} {counted - detected:>9} {score:>7.1%}")
    score = total_detected / total_counted if total_counted else 0.0
    print(
        f"{'all':<24} {total_counted:>8} {total_detected:>8} "
        f"{total_counted - total_detected:>9} {score:>7.1%}   (target {TARGET:.0%})"
    )
    if seconds is not None:
        print(f"run took {seconds / 60:.1f} min")
    survivors = sorted(name for name, status in found.items() if status not in DETECTED | NOT_RUN)
    if survivors:
        print("\nsurvivors (`.venv/bin/mutmut show <name>` for the whole diff):")
        for name in survivors:
            print(f"  {name} ({found[name]})\n{change(name)}")
    return score >= TARGET


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="show the last run's results")
    arguments = parser.parse_args()
    seconds = None if arguments.report else run()
    found = outcomes()
    if not found:
        sys.exit("no mutation results: run `make mutation` first")
    sys.exit(0 if report(found, seconds) else 1)


if __name__ == "__main__":
    main()
