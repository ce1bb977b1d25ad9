"""The shared wallet rate limit (verifier/ops/rate_limit_shared.py) on a store with a fixed
clock: the limit holds within a minute, across a minute boundary (the previous minute is carried
over in proportion), per client, and a refused request is not counted."""

from __future__ import annotations

import pytest

from verifier.ops.rate_limit_shared import SharedRateLimit
from verifier.store import MemoryStore

pytestmark = pytest.mark.anyio
START = 1_700_000_020.0  # 40 s into a clock minute


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


async def test_the_limit_holds_within_a_minute_and_per_client() -> None:
    clock = Clock()
    limit = SharedRateLimit(MemoryStore(clock), 3, clock=clock)

    seen = [(await limit.check("203.0.113.7")).allowed for _ in range(5)]

    assert seen == [True, True, True, False, False]
    refused = await limit.check("203.0.113.7")
    assert refused.retry_after == 20 and not refused.first_refusal
    assert (await limit.check("198.51.100.9")).allowed


async def test_a_minute_boundary_does_not_double_the_rate_and_the_window_slides() -> None:
    clock = Clock()
    limit = SharedRateLimit(MemoryStore(clock), 4, clock=clock)
    assert [(await limit.check("c")).allowed for _ in range(4)] == [True] * 4

    clock.now = START + 25  # 5 s into the next minute: 55 s of the last one still count
    assert not (await limit.check("c")).allowed  # ceil(4 * 55/60) = 4 carried over
    clock.now = START + 50  # 30 s in: half of the last minute carried (2)
    assert [(await limit.check("c")).allowed for _ in range(3)] == [True, True, False]
    clock.now = START + 200  # the minute before was empty: nothing carried
    assert [(await limit.check("c")).allowed for _ in range(5)] == [True] * 4 + [False]


async def test_the_first_refusal_of_a_burst_is_marked_once() -> None:
    clock = Clock()
    limit = SharedRateLimit(MemoryStore(clock), 1, clock=clock)
    assert (await limit.check("c")).allowed
    assert [(await limit.check("c")).first_refusal for _ in range(3)] == [True, False, False]
