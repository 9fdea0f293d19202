"""The one full collection an instance makes when a burst of lobby screens is over: not
during the burst, not for a few screens, once per burst."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
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
        burst=3, quiet=1.0, collect=lambda reclaim: collections.append(clock.now), clock=clock
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


async def test_screens_leaving_in_a_burst_are_collected_with_the_frozen_brought_back() -> None:
    """The frozen are brought back in (`reclaim`) once a burst's worth of screens has
    left, counted over the collections between: a burst of new screens alone does not."""
    clock, collections = Clock(), []
    settling = Settling(burst=3, quiet=1.0, collect=collections.append, clock=clock)

    def burst(step: Callable[[], None], times: int) -> None:
        for _ in range(times):
            step()
        clock.now += 1.5

    burst(settling.left, 3)  # the evening: everyone leaves
    await settling.step()
    burst(settling.joined, 3)  # the morning
    await settling.step()
    burst(settling.left, 2)  # two leave and come back, with one more
    burst(settling.joined, 3)
    await settling.step()
    burst(settling.left, 1)  # the third to leave since the last that brought them back
    third = await settling.step()
    burst(settling.joined, 3)
    await settling.step()

    assert third  # alone, but the third gone since
    assert collections == [True, False, False, True, False]


SCRIPT = """
import gc, weakref
from app.live.settling import FREEZING, freeze_built, settle

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
settle(reclaim=False)  # a burst of screens is in
frozen = not tracked(kept)
alive = weakref.ref(kept)
del kept  # the screen leaves: its objects are cyclic garbage
gc.collect()  # CPython's own collections leave the frozen alone
waits = alive() is not None
settle(reclaim=False)  # another burst of new screens: the frozen stay frozen
stays = alive() is not None
settle(reclaim=True)  # a burst of screens has left
print(FREEZING.on, frozen, waits, stays, alive() is None)
"""


def settled(before: str) -> str:
    ran = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(before=before)],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.strip()


def test_in_a_process_that_froze_what_it_built_a_burst_is_frozen_until_a_burst_has_left() -> None:
    """`guichet serve` freezes its own objects before it serves; the collection after a
    burst then freezes the screens' too, so that CPython's own full collections walk
    neither (each walked 630,000 objects, 0.5 s, every minute or so of calls at the
    instance that answers them). What of the frozen becomes garbage (a screen that left)
    waits for the collection after a burst of screens gone, which brings them back in."""
    assert settled("freeze_built()  # as guichet serve does") == "True True True True True"


def test_a_process_that_froze_nothing_is_only_collected() -> None:
    """Tests and tools that never froze anything keep CPython's usual collections."""
    assert settled("") == "False False False False True"
