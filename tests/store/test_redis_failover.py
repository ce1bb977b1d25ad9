"""A master killed by PID mid-load (Redis Cluster, and Sentinel): its replica is promoted, the
store's calls ride out the pause (retried, bounded by ``failover_wait``), and afterwards no
transaction is lost, no counter double-counted, no claim or event applied twice.

Eight tasks loop over counters (twelve keys spread over the slots), fresh claims, transactions
(create, then one compare-and-set) and per-task event streams; the master serving one of the
counters is SIGKILLed after a second of load, and the load runs on until calls have succeeded
for a while on the promoted replica."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tests.redis_ha import RedisCluster, SentinelSetup
from verifier.store import RedisHAStore, StoreUnavailableError, Transaction

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

WORKERS = 8
KEYS = [f"k{i}" for i in range(12)]


@dataclass
class Load:
    counted: Counter[str] = field(default_factory=Counter)  # successful add_within per key
    txs: list[Transaction] = field(default_factory=list)
    events: dict[int, int] = field(default_factory=dict)  # task -> events appended
    errors: list[BaseException] = field(default_factory=list)
    calls_done: int = 0
    slowest: float = 0.0  # the longest single call: the pause a caller saw


def new_tx() -> Transaction:
    hexes = [uuid.uuid4().hex for _ in range(4)]
    return Transaction(
        id=hexes[0], request_id=hexes[1], state=hexes[2], nonce=hexes[3], client_id="c"
    )


async def timed(load: Load, call: object) -> object:
    started = time.monotonic()
    try:
        return await call  # type: ignore[misc]
    finally:
        load.slowest = max(load.slowest, time.monotonic() - started)
        load.calls_done += 1


async def worker(store: RedisHAStore, task: int, stop: asyncio.Event, load: Load) -> None:
    step = 0
    while not stop.is_set():
        step += 1
        key = KEYS[(task * 5 + step) % len(KEYS)]
        try:
            counters = await timed(load, store.add_within(key, {"n": 1}, {}, ttl=600))
            assert isinstance(counters, dict)
            load.counted[key] += 1
            assert await timed(load, store.claim(f"c{task}.{step}", ttl=600)) is True
            tx = new_tx()
            await timed(load, store.create(tx, retain_until=int(time.time()) + 600))
            changed = await timed(
                load,
                store.update_if(
                    tx.id, {"status": "pending"}, {"status": "verified"}, kind="presentation"
                ),
            )
            assert isinstance(changed, Transaction) and changed.version == 1
            load.txs.append(tx)
            index = await timed(load, store.append_event(f"s{task}", {"step": step}, ttl=600))
            assert index == load.events.get(task, 0)
            load.events[task] = index + 1  # type: ignore[operator]
        except (StoreUnavailableError, AssertionError) as exc:
            load.errors.append(exc)
            return


async def run_through_failover(
    store: RedisHAStore, kill: Callable[[], None], recovered: Callable[[], bool]
) -> Load:
    load, stop = Load(), asyncio.Event()
    tasks = [asyncio.create_task(worker(store, n, stop, load)) for n in range(WORKERS)]
    try:
        started = time.monotonic() + 60  # a loaded machine may take a while to get going
        while load.calls_done < 20 and not load.errors and time.monotonic() < started:
            await asyncio.sleep(0.1)
        assert load.calls_done >= 20 and not load.errors, load.errors
        kill()
        deadline = time.monotonic() + 90
        while not await asyncio.to_thread(recovered):
            assert time.monotonic() < deadline, "the replica was not promoted within 90 s"
            await asyncio.sleep(0.2)
        after = load.calls_done
        while load.calls_done < after + 200 and not load.errors:  # flows go on after promotion
            assert time.monotonic() < deadline, "no progress after the promotion"
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return load


async def check_nothing_lost_or_doubled(store: RedisHAStore, load: Load) -> None:
    assert not load.errors, load.errors
    for key in KEYS:
        assert await store.get_counters(key) == (
            {"n": load.counted[key]} if load.counted[key] else {}
        )
    for tx in load.txs:
        stored = await store.get_by_request(tx.request_id, kind="presentation")
        assert stored is not None and (stored.id, stored.status, stored.version) == (
            tx.id,
            "verified",
            1,
        )
    for task, count in load.events.items():
        events = await store.read_events(f"s{task}")
        assert [event["step"] for event in events] == sorted({e["step"] for e in events})
        assert len(events) == count


async def test_a_cluster_master_killed_mid_load_loses_and_doubles_nothing(
    redis_cluster: RedisCluster,
) -> None:
    prefix = f"fo{uuid.uuid4().hex[:8]}:"
    store = RedisHAStore(redis_cluster.url, prefix=prefix)
    victim = redis_cluster.master_of(f"{prefix}ctr:{{{KEYS[0]}}}")
    try:
        load = await run_through_failover(
            store, lambda: redis_cluster.kill(victim), redis_cluster.promoted
        )
        await check_nothing_lost_or_doubled(store, load)
        assert load.slowest < 30.0  # failover_wait in the cluster's URL
        print(f"cluster failover: {load.calls_done} calls, longest pause {load.slowest:.2f} s")
    finally:
        await store.close()
        if victim not in redis_cluster.procs:  # back as a replica, for the tests after this one
            redis_cluster.start_node(victim)
        redis_cluster.wait_healthy(timeout=90)


async def test_a_sentinel_master_killed_mid_load_loses_and_doubles_nothing(
    redis_sentinel: SentinelSetup,
) -> None:
    sentinels = redis_sentinel
    store = RedisHAStore(sentinels.url, prefix=f"fo{uuid.uuid4().hex[:8]}:")
    victim = sentinels.master()
    survivor = next(port for port in sentinels.data_ports if port != victim)
    try:
        load = await run_through_failover(
            store, lambda: sentinels.kill(victim), lambda: sentinels.promoted(survivor)
        )
        await check_nothing_lost_or_doubled(store, load)
        assert load.slowest < 30.0
        print(f"sentinel failover: {load.calls_done} calls, longest pause {load.slowest:.2f} s")
    finally:
        await store.close()
        sentinels.restore()  # the killed master back, as a replica, for the tests after this one
