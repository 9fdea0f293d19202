"""Lifecycles as data: a pure table of moves `(state, action) -> (state, effects)`.

Each slice declares its own (appointments in `app/booking/rules.py`, tickets in
`app/queue/rules.py`, requests sent on in `app/visits/rules.py`); the service asks the
table whether a move is allowed and applies the effects it names, nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, TypeVar

S = TypeVar("S", bound=StrEnum)
A = TypeVar("A", bound=StrEnum)
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class Move(Generic[S, E]):
    """Where an action leads, and what else it does."""

    to: S
    effects: frozenset[E] = field(default_factory=frozenset)


class NotAllowed(Exception):
    """No move of the lifecycle takes `action` from `state`."""

    def __init__(self, lifecycle: str, state: str, action: str) -> None:
        super().__init__(f"{lifecycle}: no {action} from {state}")
        self.lifecycle = lifecycle
        self.state = state
        self.action = action


@dataclass(frozen=True)
class Lifecycle(Generic[S, A, E]):
    """The states a thing goes through: it starts in `start` (or in one of `also_starts`:
    a ticket taken from a phone starts before its holder is there), stops in one of
    `ends`, and moves only as `moves` says."""

    name: str
    start: S
    ends: frozenset[S]
    moves: Mapping[tuple[S, A], Move[S, E]]
    also_starts: frozenset[S] = frozenset()

    @classmethod
    def table(
        cls,
        name: str,
        *,
        start: S,
        ends: Iterable[S],
        rows: Iterable[tuple[Iterable[S], A, S, Iterable[E]]],
        also_starts: Iterable[S] = (),
    ) -> Lifecycle[S, A, E]:
        """The lifecycle a table writes, a row per action: the states it is taken from, the
        action, the state it leads to and its effects."""
        return cls(
            name=name,
            start=start,
            ends=frozenset(ends),
            moves={
                (origin, action): Move(to, frozenset(effects))
                for origins, action, to, effects in rows
                for origin in origins
            },
            also_starts=frozenset(also_starts),
        )

    def move(self, state: str, action: A) -> Move[S, E]:
        """The move `action` makes from `state`; NotAllowed when there is none."""
        found = self.moves.get((self._state(state), action)) if self._known(state) else None
        if found is None:
            raise NotAllowed(self.name, str(state), str(action))
        return found

    def allows(self, state: str, action: A) -> bool:
        return self._known(state) and (self._state(state), action) in self.moves

    def from_states(self, action: A) -> frozenset[S]:
        """The states `action` may be taken from."""
        return frozenset(state for state, taken in self.moves if taken == action)

    def reachable(self) -> frozenset[S]:
        """Every state some sequence of actions leads to from a start."""
        found = {self.start, *self.also_starts}
        frontier = list(found)
        while frontier:
            state = frontier.pop()
            for (origin, _), move in self.moves.items():
                if origin == state and move.to not in found:
                    found.add(move.to)
                    frontier.append(move.to)
        return frozenset(found)

    def _known(self, state: str) -> bool:
        return state in type(self.start).__members__.values()

    def _state(self, state: str) -> S:
        return type(self.start)(state)
