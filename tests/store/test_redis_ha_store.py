"""Redis Cluster specifics: hash-tagged keys (every script in one slot), calls retried after a lost
reply applied once, and the failover_wait bound. Against the session's real 6-node cluster."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, ResponseError

from tests.conftest import free_port
from tests.redis_ha import RedisCluster, command
from verifier.store import RedisHAStore, StoreUnavailableError, Transaction
from verifier.store.redis_ha_client import retryable

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


def new_tx() -> Transaction:
    hexes = [uuid.uuid4().hex for _ in range(4)]
    return Transaction(
        id=hexes[0], request_id=hexes[1], state=hexes[2], nonce=hexes[3], client_id="c"
    )


def slot(cluster: RedisCluster, key: str) -> int:
    return int(command(cluster.ports[0], "CLUSTER", "KEYSLOT", key).strip())


def keys(cluster: RedisCluster, pattern: str) -> list[str]:
    found: list[str] = []
    for port in cluster.masters():
        found += command(port, "--scan", "--pattern", pattern).split()
    return sorted(found)


async def test_keys_carry_hash_tags_and_each_record_stays_in_one_slot(
    redis_cluster: RedisCluster,
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    store = RedisHAStore(redis_cluster.url, prefix=prefix)
    try:
        tx = new_tx()
        await store.create(tx, retain_until=int(time.time()) + 100)
        assert await store.update_if(
            tx.id, {"status": "pending"}, {"status": "verified"}, kind="presentation"
        )
        assert await store.claim("n1", ttl=60)
        assert await store.add_within("m", {"uses": 1}, {}, ttl=60) == {"uses": 1}
        assert await store.append_event("s", {"a": 1}, ttl=60) == 0
        assert await store.enqueue("hooks", "i1", {}, due_at=0, ttl=60)
    finally:
        await store.close()

    record = f"{prefix}tx:{{presentation:{tx.id}}}"
    index = f"{prefix}req:{{presentation:{tx.request_id}}}"
    assert keys(redis_cluster, f"{prefix}tx:*") == [record]
    assert keys(redis_cluster, f"{prefix}req:*") == [index]
    assert keys(redis_cluster, f"{prefix}claim:*") == [f"{prefix}claim:{{n1}}"]
    assert keys(redis_cluster, f"{prefix}ctr:*") == [f"{prefix}ctr:{{m}}"]
    assert keys(redis_cluster, f"{prefix}ev:*") == [f"{prefix}ev:{{s}}"]
    queue = [f"{prefix}{part}:{{hooks}}" for part in ("q", "qa", "qp")]
    assert keys(redis_cluster, f"{prefix}q*") == queue
    # One "applied" marker per write call, each in the slot of the record it guards.
    markers = keys(redis_cluster, f"{prefix}op:*")
    tags = sorted(m.split("{")[1].split("}")[0] for m in markers)
    assert tags == sorted([f"presentation:{tx.id}"] * 2 + ["m", "s", "hooks"])
    for marker in markers:
        tag = marker.split("{")[1].split("}")[0]
        assert slot(redis_cluster, marker) == slot(redis_cluster, f"x{{{tag}}}")
        ttl = int(command(redis_cluster.master_of(marker), "PTTL", marker).strip())
        assert 0 < ttl <= (30 + 30 + 2) * 1000  # failover_wait + margin + timeout


class LoseFirstReply:
    """Wraps the store's replicated writer: the first run of each script happens on Redis, then
    its reply is 'lost' (the connection drops), as when a master dies between applying a write
    (and its replica acknowledging it) and answering."""

    def __init__(self, store: RedisHAStore, names: tuple[str, ...]) -> None:
        self.names = {id(getattr(store, name)): name for name in names}
        self.calls = dict.fromkeys(names, 0)
        self.script: Callable[..., Awaitable[Any]] = store._writer.script
        store._writer.script = self  # type: ignore[method-assign]

    async def __call__(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        name = self.names.get(id(script))
        reply = await self.script(script, keys, args)
        if name is not None:
            self.calls[name] += 1
            if self.calls[name] == 1:
                raise RedisConnectionError("Connection closed by server.")
        return reply


async def test_a_retried_write_whose_reply_was_lost_is_applied_once(redis_cluster_url: str) -> None:
    store = RedisHAStore(redis_cluster_url, prefix=f"t{uuid.uuid4().hex[:8]}:")
    scripts = ("_create_record", "_create_index", "_update_if", "_add_within", "_claim")
    lose = LoseFirstReply(store, (*scripts, "_append", "_enqueue", "_lease"))
    try:
        tx = new_tx()
        await store.create(tx, retain_until=int(time.time()) + 100)  # both steps retried
        assert await store.get_by_request(tx.request_id, kind="presentation") == tx
        updated = await store.update_if(
            tx.id, {"status": "pending"}, {"status": "verified"}, kind="presentation"
        )
        assert updated is not None and (updated.status, updated.version) == ("verified", 1)
        assert await store.add_within("c", {"n": 5}, {"n": 9}, ttl=60) == {"n": 5}
        assert await store.get_counters("c") == {"n": 5}  # not 10
        assert await store.claim("once", ttl=60) is True  # our own claim, not a replay
        assert await store.claim("once", ttl=60) is False  # a second call is a replay
        assert await store.append_event("s", {"a": 1}, ttl=60) == 0
        assert await store.read_events("s") == [{"a": 1}]  # one event, not two
        assert await store.enqueue("q", "i", {}, due_at=0, ttl=60) is True
        # The first run leased "i" and its reply was lost: the retry answers that lease (once
        # counted), instead of nothing - which left "i" leased to nobody for the lease's length.
        leased = await store.lease("q", now=1, lease_for=9, limit=9)
        assert [(i.item_id, i.attempts) for i in leased] == [("i", 1)]
        assert await store.lease("q", now=2, lease_for=9, limit=9) == []  # still leased
        assert lose.calls == {n: 3 if n in ("_claim", "_lease") else 2 for n in lose.calls}
        # A refused call leaves no marker: its retry is refused again, still changing nothing.
        assert await store.add_within("c", {"n": 5}, {"n": 9}, ttl=60) is None
        assert await store.get_counters("c") == {"n": 5}
    finally:
        await store.close()


async def test_a_retried_lease_answers_only_what_its_first_run_still_holds(
    redis_cluster_url: str,
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    store = RedisHAStore(redis_cluster_url, prefix=prefix)
    try:
        for item in ("a", "b", "c"):
            assert await store.enqueue("q", item, {"n": item}, due_at=0, ttl=60)
        keys = [*store._queue_keys("q"), store._op("q")[1]]
        args = [10, 40, 2, 60_000]  # now, lease until, limit, marker ttl

        async def run() -> list[Any]:
            return list(await store._writer.script(store._lease, keys, args))

        first = await run()
        assert first[0::3] == ["a", "b"] and first[2::3] == ["1", "1"]
        assert await run() == first  # the same call again: the same lease, nothing counted
        # "a" acknowledged, "b" leased again by another instance after this lease ran out:
        await store.ack("q", "a")
        again = await store.lease("q", now=41, lease_for=9, limit=9)
        assert sorted(i.item_id for i in again) == ["b", "c"]
        assert await run() == []  # neither is this call's any more
    finally:
        await store.close()


async def test_a_request_id_taken_by_another_record_undoes_the_new_record(
    redis_cluster: RedisCluster,
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    store = RedisHAStore(redis_cluster.url, prefix=prefix)
    try:
        first, second = new_tx(), new_tx()
        second.request_id = first.request_id
        await store.create(first, retain_until=int(time.time()) + 100)
        with pytest.raises(ValueError, match="request_id already exists"):
            await store.create(second, retain_until=int(time.time()) + 100)
        assert await store.get(second.id, kind="presentation") is None
        assert await store.get_by_request(first.request_id, kind="presentation") == first
        assert keys(redis_cluster, f"{prefix}tx:*") == [f"{prefix}tx:{{presentation:{first.id}}}"]
    finally:
        await store.close()


async def test_an_unreachable_cluster_answers_unavailable_within_failover_wait() -> None:
    store = RedisHAStore(f"redis+cluster://127.0.0.1:{free_port()}?failover_wait=1", timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError):
            await store.get("x", kind="presentation")
        assert time.monotonic() - started < 30  # bounded (generous: loaded machine)
        assert await store.ping() is False
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (RedisConnectionError("Connection closed by server."), True),
        (ResponseError("CLUSTERDOWN The cluster is down"), True),
        (ResponseError("READONLY You can't write against a read only replica."), True),
        (ResponseError("LOADING Redis is loading the dataset in memory"), True),
        (ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"), False),
        (ResponseError("ERR Error running script"), False),
        (RedisClusterException("EVALSHA - all keys must map to the same key slot"), False),
        (AttributeError("'Transaction' has no attribute 'x'"), False),
        (AttributeError("'NoneType' object has no attribute 'writelines'"), True),
        (
            RuntimeError("unable to perform operation on <TCPTransport>; the handler is closed"),
            True,
        ),
        (RuntimeError("Event loop is closed"), False),
    ],
)
def test_only_failover_errors_are_retried(error: Exception, retried: bool) -> None:
    assert retryable(error) is retried


async def test_a_create_whose_index_cannot_be_written_leaves_no_record(
    redis_cluster: RedisCluster,
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    url = redis_cluster.url.replace("failover_wait=30", "failover_wait=1")
    store = RedisHAStore(url, prefix=prefix)

    run = store._writer.script

    async def unreachable(script: Any, keys: list[str], args: list[Any]) -> Any:
        if script is store._create_index:  # the index's slot is unreachable
            raise RedisConnectionError("Connection refused")
        return await run(script, keys, args)

    store._writer.script = unreachable  # type: ignore[method-assign]
    try:
        assert await store.ping() is True
        tx = new_tx()
        with pytest.raises(StoreUnavailableError):
            await store.create(tx, retain_until=int(time.time()) + 100)
        assert await store.get(tx.id, kind="presentation") is None
        assert keys(redis_cluster, f"{prefix}tx:*") == []
    finally:
        await store.close()


def moved_replies(cluster: RedisCluster) -> int:
    """MOVED redirections the nodes have answered so far (INFO errorstats)."""
    total = 0
    for port in cluster.procs:
        for line in command(port, "INFO", "errorstats").splitlines():
            if line.startswith("errorstat_MOVED:"):
                total += int(line.split("count=")[1].split(",")[0])
    return total


async def test_a_fresh_store_under_concurrent_calls_sends_each_to_its_node(
    redis_cluster: RedisCluster,
) -> None:
    """Calls racing before the slot map is loaded must not go to any node: redis-py meets the
    MOVED replies by closing every connection, in use or not, and that cascades into reconnect
    storms (seen as hundreds of reconnections a second under load)."""
    store = RedisHAStore(redis_cluster.url, prefix=f"t{uuid.uuid4().hex[:8]}:")
    before = moved_replies(redis_cluster)
    try:

        async def work(n: int) -> None:
            for i in range(5):
                assert await store.claim(f"{n}.{i}", ttl=60)
                assert await store.add_within(f"{n}", {"n": 1}, {}, ttl=60)

        await asyncio.gather(*(work(n) for n in range(32)))
    finally:
        await store.close()
    assert moved_replies(redis_cluster) - before == 0


@pytest.mark.parametrize("form", ["cluster", "sentinel"])
async def test_close_closes_every_connection_the_client_opened(
    form: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(f"redis_{form}").url
    store = RedisHAStore(url, prefix=f"t{uuid.uuid4().hex[:8]}:")
    await asyncio.gather(*(store.claim(f"c{n}", ttl=60) for n in range(20)))
    opened = list(store._connections.seen)
    assert opened and any(conn.is_connected for conn in opened)
    await store.close()
    assert not any(conn.is_connected for conn in opened)
