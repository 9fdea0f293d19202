"""The suite's own collection: `make pytest` spreads tests over processes by node id, so two
tests with one id would be run once and counted twice, without a word."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import pytest_collection_modifyitems


@dataclass
class Collected:
    nodeid: str


def test_two_tests_sharing_a_node_id_stop_the_run() -> None:
    items = [Collected("tests/x.py::test_a"), Collected("tests/x.py::test_a")]

    with pytest.raises(pytest.UsageError, match=r"tests/x\.py::test_a"):
        pytest_collection_modifyitems(items)  # type: ignore[arg-type]


def test_tests_with_their_own_ids_pass() -> None:
    items = [Collected("tests/x.py::test_a"), Collected("tests/x.py::test_a[1]")]

    pytest_collection_modifyitems(items)  # type: ignore[arg-type]


async def test_the_in_process_desks_send_requests_that_overlap() -> None:
    import asyncio
    from typing import Annotated

    from litestar import Litestar, get
    from litestar.params import PathParameter

    from tests.conftest import desks

    arrived: list[int] = []
    both_in = asyncio.Event()

    @get("/wait/{n:int}")
    async def wait(n: Annotated[int, PathParameter()]) -> int:
        arrived.append(n)
        if len(arrived) == 2:
            both_in.set()
        # Were the requests run one after the other, the first would wait here forever.
        await asyncio.wait_for(both_in.wait(), timeout=30)
        return n

    async with desks(Litestar([wait])) as (desk,):
        answers = await asyncio.gather(desk.get("/wait/1"), desk.get("/wait/2"))

    assert [answer.json() for answer in answers] == [1, 2]
    assert sorted(arrived) == [1, 2]
