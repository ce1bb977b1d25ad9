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


class CountingStore(MemoryStore):
    """A memory store that counts the counter reads the limit makes."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.reads = 0

    async def get_counters(self, key: str) -> dict[str, int]:
        self.reads += 1
        return await super().get_counters(key)


async def test_the_previous_minute_is_read_once_it_is_final_and_not_before() -> None:
    clock = Clock()
    store = CountingStore(clock)
    limit = SharedRateLimit(store, 10, clock=clock)
    other = SharedRateLimit(store, 10, clock=clock)  # a second instance on the same store
    assert [(await limit.check("c")).allowed for _ in range(6)] == [True] * 6

    clock.now = START + 21  # 1 s into the next minute: still settling, read every time
    assert (await limit.check("c")).allowed
    clock.now = START + 21.5
    assert (await other.check("c")).allowed  # the other instance, within the first SETTLE s
    reads = store.reads
    clock.now = START + 30  # 10 s in: the previous minute is final, read it once
    assert (await limit.check("c")).allowed
    assert store.reads == reads + 1
    assert (await limit.check("c")).allowed
    assert store.reads == reads + 1  # kept: one round trip per request now, not two
    # What was kept is the true count: 6 last minute, ceil(6 * 50/60) = 5 carried, 4 counted
    # in this minute so far (two here, one by the other instance, one at 1 s): room for 1.
    assert [(await limit.check("c")).allowed for _ in range(2)] == [True, False]
    clock.now = START + 90  # another minute on: its predecessor is read (once) again
    assert (await limit.check("c")).allowed
    assert store.reads == reads + 2
