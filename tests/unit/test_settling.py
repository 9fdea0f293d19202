"""The one full collection an instance makes when a burst of lobby screens is over: not
during the burst, not for a few screens, once per burst."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.live.settling import Settling

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_burst_is_collected_once_when_it_is_over_and_a_trickle_never() -> None:
    clock, collections = Clock(), []
    settling = Settling(
        burst=3, quiet=1.0, collect=lambda: collections.append(clock.now), clock=clock
    )

    for _ in range(3):
        settling.joined()
        clock.now += 0.4
        assert not await settling.step()  # still connecting
    clock.now += 0.6
    collected = await settling.step()
    clock.now += 5
    again = await settling.step()
    settling.joined()
    settling.joined()
    clock.now += 60
    trickle = await settling.step()

    assert collected
    assert collections == [pytest.approx(101.8)]
    assert not again
    assert not trickle


FREEZING = """
import gc, weakref
from app.live.settling import settle

class Node:
    pass

def cycle():
    node = Node()
    node.me = node
    return node

def tracked(node):
    return any(found is node for found in gc.get_objects())

{before}
kept = cycle()
settle()  # a burst is over
frozen = not tracked(kept)
alive = weakref.ref(kept)
del kept  # the screen leaves: its objects are cyclic garbage
gc.collect()  # CPython's own collections leave the frozen alone
leaked = alive() is not None
settle()  # the next burst's
print(gc.get_freeze_count() > 0, frozen, leaked, alive() is None)
"""


def settled(before: str) -> str:
    ran = subprocess.run(
        [sys.executable, "-c", FREEZING.format(before=before)],
        capture_output=True, text=True, timeout=60, check=True, cwd=ROOT,
    )  # fmt: skip
    return ran.stdout.strip()


def test_in_a_process_that_froze_what_it_built_a_burst_is_frozen_until_the_next_one() -> None:
    """`guichet serve` freezes its own objects before it serves; the collection after a
    burst then freezes the screens' too, so that CPython's own full collections walk
    neither (each walked 630,000 objects, 0.5 s, every minute or so of calls at the
    instance that answers them). What of the frozen becomes garbage (a screen that left)
    is collected by the next burst's collection, which brings the frozen back in first."""
    assert settled("gc.collect(); gc.freeze()  # as guichet serve") == "True True True True"


def test_a_process_that_froze_nothing_is_only_collected() -> None:
    """Tests and tools that never froze anything keep CPython's usual collections."""
    assert settled("") == "False False False True"
