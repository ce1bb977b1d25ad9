"""The TransactionStore contract, run against every backend (memory, SQLite, a real Redis, a real
Redis Cluster of three masters with one replica each).

Memory and SQLite follow an injected fake clock, so their TTL tests move time instead of
sleeping; Redis expires keys on its own clock, so its single TTL test sleeps just over 1 s.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from verifier.store import (
    MemoryStore,
    RedisHAStore,
    RedisStore,
    SQLiteStore,
    Transaction,
    TransactionStore,
    TxStatus,
)

pytestmark = pytest.mark.anyio

START = 1_700_000_000.0
BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("redis", marks=pytest.mark.redis),
    pytest.param("cluster", marks=pytest.mark.redis),
]


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Backend:
    kind: str
    store: TransactionStore
    clock: FakeClock | None  # None: the backend runs on real time (Redis)

    def now(self) -> int:
        return int(self.clock.now if self.clock else time.time())

    async def advance(self, seconds: float) -> None:
        if self.clock is None:
            await asyncio.sleep(seconds)
        else:
            self.clock.now += seconds


def new_tx(now: int, **overrides: Any) -> Transaction:
    fields: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "request_id": uuid.uuid4().hex,
        "state": uuid.uuid4().hex,
        "nonce": uuid.uuid4().hex,
        "client_id": "x509_hash:abc",
        "created_at": now,
        "expires_at": now + 300,
    }
    return Transaction(**{**fields, **overrides})


@pytest.fixture
def make_backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[str], tuple[TransactionStore, FakeClock | None]]:
    def make(kind: str) -> tuple[TransactionStore, FakeClock | None]:
        if kind == "redis":
            url = request.getfixturevalue("redis_url")
            return RedisStore(url, prefix=f"test:{uuid.uuid4().hex}:"), None
        if kind == "cluster":
            url = request.getfixturevalue("redis_cluster_url")
            return RedisHAStore(url, prefix=f"test:{uuid.uuid4().hex}:"), None
        clock = FakeClock()
        if kind == "sqlite":
            return SQLiteStore(tmp_path / "db" / "store.db", clock=clock), clock
        return MemoryStore(clock), clock

    return make


@pytest.fixture(params=BACKENDS)
async def backend(
    request: pytest.FixtureRequest,
    make_backend: Callable[[str], tuple[TransactionStore, FakeClock | None]],
) -> AsyncIterator[Backend]:
    store, clock = make_backend(request.param)
    try:
        yield Backend(request.param, store, clock)
    finally:
        await store.close()


async def test_create_then_get_and_get_by_request_round_trip_every_field(backend: Backend) -> None:
    tx = new_tx(
        backend.now(),
        dcql_query={"credentials": [{"id": "pid", "format": "dc+sd-jwt"}]},
        transaction_data=["eyJ0eXBlIjoiYSJ9"],
        enc_jwk={"kty": "EC", "crv": "P-256", "d": "secret"},
        meta={"city": "Köln", "n": [1, 2.5, None, True]},
    )
    await backend.store.create(tx, retain_until=backend.now() + 600)

    assert await backend.store.get(tx.id, kind="presentation") == tx
    assert await backend.store.get_by_request(tx.request_id, kind="presentation") == tx
    assert await backend.store.get("unknown", kind="presentation") is None
    assert await backend.store.get_by_request("unknown", kind="presentation") is None
    got = await backend.store.get(tx.id, kind="presentation")
    assert got is not None
    assert got.status == TxStatus.PENDING
    assert not got.final


async def test_duplicate_id_or_request_id_is_refused_and_the_original_kept(
    backend: Backend,
) -> None:
    tx = new_tx(backend.now())
    await backend.store.create(tx, retain_until=backend.now() + 600)

    with pytest.raises(ValueError, match="id"):
        await backend.store.create(
            new_tx(backend.now(), id=tx.id), retain_until=backend.now() + 600
        )
    other = new_tx(backend.now(), request_id=tx.request_id)
    with pytest.raises(ValueError, match="request_id"):
        await backend.store.create(other, retain_until=backend.now() + 600)

    assert await backend.store.get(other.id, kind="presentation") is None
    assert await backend.store.get_by_request(tx.request_id, kind="presentation") == tx


async def test_update_if_applies_changes_and_bumps_version(backend: Backend) -> None:
    tx = new_tx(backend.now())
    await backend.store.create(tx, retain_until=backend.now() + 600)

    updated = await backend.store.update_if(
        tx.id,
        {"status": "pending", "version": 0, "wallet_nonce": None},
        {"status": TxStatus.REQUEST_RETRIEVED, "wallet_nonce": "wn"},
        kind="presentation",
    )

    assert updated is not None
    assert (updated.status, updated.version, updated.wallet_nonce) == ("request_retrieved", 1, "wn")
    assert await backend.store.get(tx.id, kind="presentation") == updated
    assert await backend.store.get_by_request(tx.request_id, kind="presentation") == updated
    again = await backend.store.update_if(tx.id, {}, {"result": {"ok": True}}, kind="presentation")
    assert again is not None
    assert again.version == 2
    assert again.result == {"ok": True}


async def test_reads_again_give_the_stored_values_whatever_a_caller_assigned(
    backend: Backend,
) -> None:
    """Stores remember what they last read (SQLite its rows, Redis each field's decoding): a
    caller's assignment to a transaction it was given is never what the next read gives, and a
    field changed since is read with its new value, the others as stored."""
    query = {"credentials": [{"id": "pid", "format": "dc+sd-jwt"}]}
    tx = new_tx(backend.now(), dcql_query=query, meta={"a": [1, 2]})
    await backend.store.create(tx, retain_until=backend.now() + 600)
    got = await backend.store.get_by_request(tx.request_id, kind="presentation")
    assert got == tx
    got.meta, got.status, got.dcql_query = {"forged": True}, TxStatus.VERIFIED, {}
    assert await backend.store.get(tx.id, kind="presentation") == tx
    updated = await backend.store.update_if(
        tx.id, {"status": "pending"}, {"result": {"ok": 1}}, kind="presentation"
    )
    assert updated is not None
    assert (updated.result, updated.meta, updated.dcql_query) == ({"ok": 1}, {"a": [1, 2]}, query)
    updated.result = {"ok": "forged"}
    again = await backend.store.get_by_request(tx.request_id, kind="presentation")
    assert again is not None
    assert (again.result, again.version, again.status) == ({"ok": 1}, 1, TxStatus.PENDING)


async def test_update_if_mismatch_returns_none_and_changes_nothing(backend: Backend) -> None:
    tx = new_tx(backend.now(), meta={"a": 1})
    await backend.store.create(tx, retain_until=backend.now() + 600)

    for expect in (
        {"status": "request_retrieved"},
        {"status": "pending", "version": 1},  # one of two fails: nothing applies
        {"meta": {"a": 2}},
        {"wallet_nonce": "x"},
    ):
        assert (
            await backend.store.update_if(
                tx.id, expect, {"status": "verified"}, kind="presentation"
            )
            is None
        )

    assert await backend.store.get(tx.id, kind="presentation") == tx
    assert (
        await backend.store.update_if("unknown", {}, {"status": "verified"}, kind="presentation")
        is None
    )


async def test_update_if_compares_by_json_value(backend: Backend) -> None:
    tx = new_tx(backend.now(), meta={"b": [1, {"y": 2, "x": 1}], "a": "ä"})
    await backend.store.create(tx, retain_until=backend.now() + 600)

    expect = {"meta": {"a": "ä", "b": [1, {"x": 1, "y": 2}]}, "result": None}
    updated = await backend.store.update_if(tx.id, expect, {"meta": {}}, kind="presentation")

    assert updated is not None
    assert updated.meta == {}


async def test_update_if_status_in(backend: Backend) -> None:
    tx = new_tx(backend.now(), status="request_retrieved")
    await backend.store.create(tx, retain_until=backend.now() + 600)
    store = backend.store

    assert (
        await store.update_if(
            tx.id, {"status__in": ["pending"]}, {"status": "error"}, kind="presentation"
        )
        is None
    )
    assert (
        await store.update_if(tx.id, {"status__in": []}, {"status": "error"}, kind="presentation")
        is None
    )
    updated = await store.update_if(
        tx.id,
        {"status__in": ["pending", TxStatus.REQUEST_RETRIEVED]},
        {"status": "rejected"},
        kind="presentation",
    )
    assert updated is not None
    assert (updated.status, updated.version, updated.final) == ("rejected", 1, True)


async def test_update_if_refuses_unknown_and_store_owned_fields(backend: Backend) -> None:
    tx = new_tx(backend.now())
    await backend.store.create(tx, retain_until=backend.now() + 600)

    for expect, changes in (
        ({"no_such_field": 1}, {"status": "verified"}),
        ({}, {"no_such_field": 1}),
        ({}, {"version": 7}),
        ({}, {"request_id": "other"}),
        ({"status__in": "pending"}, {"status": "verified"}),
    ):
        with pytest.raises(ValueError):
            await backend.store.update_if(tx.id, expect, changes, kind="presentation")
    assert await backend.store.get(tx.id, kind="presentation") == tx


async def test_claim_is_single_use_per_key(backend: Backend) -> None:
    assert await backend.store.claim("nonce:a", ttl=600) is True
    assert await backend.store.claim("nonce:a", ttl=600) is False
    assert await backend.store.claim("nonce:b", ttl=600) is True
    with pytest.raises(ValueError, match="ttl"):
        await backend.store.claim("nonce:c", ttl=0)


async def test_add_within_respects_every_limit_without_partial_changes(backend: Backend) -> None:
    store = backend.store
    limits = {"uses": 3, "spent": 1000}

    assert await store.add_within("m1", {"uses": 1, "spent": 400}, limits, ttl=600) == {
        "uses": 1,
        "spent": 400,
    }
    assert await store.add_within("m1", {"uses": 1, "spent": 700}, limits, ttl=600) is None
    assert await store.get_counters("m1") == {"uses": 1, "spent": 400}
    assert await store.add_within("m1", {"uses": 2, "spent": 600}, limits, ttl=600) == {
        "uses": 3,
        "spent": 1000,
    }
    assert await store.add_within("m1", {"spent": 0}, {"uses": 2}, ttl=600) is None
    assert await store.add_within("m1", {"other": 5}, {}, ttl=600) == {
        "uses": 3,
        "spent": 1000,
        "other": 5,
    }
    assert await store.get_counters("m1") == {"uses": 3, "spent": 1000, "other": 5}
    assert await store.get_counters("m2") == {}


async def test_a_named_add_is_applied_once_and_repeats_its_first_answer(backend: Backend) -> None:
    """A decision re-run after a crash (a lease taken over) never counts twice."""
    store, limits = backend.store, {"uses": 3}
    first = await store.add_within("m", {"uses": 1, "spent": 400}, limits, ttl=600, once="av-1")
    assert first == {"uses": 1, "spent": 400}
    assert await store.add_within("m", {"uses": 1, "spent": 100}, limits, ttl=600, once="av-2")
    again = [
        await store.add_within("m", {"uses": 1, "spent": 400}, limits, ttl=600, once="av-1")
        for _ in range(3)
    ]
    assert again == [first] * 3  # the values that add produced, not today's
    assert await store.get_counters("m") == {"uses": 2, "spent": 500}  # no marker among them
    assert await store.add_within("other", {"uses": 1}, {}, ttl=600, once="av-1") == {"uses": 1}
    assert await store.add_within("m", {"uses": 2}, limits, ttl=600, once="av-3") is None
    assert await store.add_within("m", {"uses": 1}, limits, ttl=600, once="av-3") == {
        "uses": 3,
        "spent": 500,
    }  # a refused add is not remembered
    assert await store.add_within("m", {"uses": 1}, limits, ttl=600) is None
    with pytest.raises(ValueError, match="once"):
        await store.add_within("m", {"uses": 1}, {}, ttl=600, once="")


async def test_named_adds_racing_count_once(backend: Backend) -> None:
    results = await asyncio.gather(
        *(
            backend.store.add_within("race", {"uses": 1}, {"uses": 10}, ttl=600, once="av-x")
            for _ in range(50)
        )
    )

    assert results == [{"uses": 1}] * 50
    assert await backend.store.get_counters("race") == {"uses": 1}


async def test_events_append_and_read_in_order_per_stream(backend: Backend) -> None:
    store = backend.store
    indices = [await store.append_event("s1", {"n": i, "status": "x"}, ttl=600) for i in range(5)]
    assert await store.append_event("s2", {"other": True}, ttl=600) == 0

    assert indices == [0, 1, 2, 3, 4]
    assert await store.read_events("s1") == [{"n": i, "status": "x"} for i in range(5)]
    assert await store.read_events("s2") == [{"other": True}]
    assert await store.read_events("none") == []


async def test_ttls_expire_claims_counters_and_events(backend: Backend) -> None:
    store = backend.store
    assert await store.claim("short", ttl=1)
    assert await store.claim("long", ttl=600)
    assert await store.add_within("ctr", {"uses": 1}, {"uses": 1}, ttl=1) == {"uses": 1}
    assert await store.add_within("ctr-long", {"uses": 1}, {}, ttl=600) == {"uses": 1}
    assert await store.append_event("ev", {"n": 0}, ttl=1) == 0

    await backend.advance(1.1)

    assert await store.claim("short", ttl=1) is True
    assert await store.claim("long", ttl=600) is False
    assert await store.get_counters("ctr") == {}
    assert await store.add_within("ctr", {"uses": 1}, {"uses": 1}, ttl=600) == {"uses": 1}
    assert await store.get_counters("ctr-long") == {"uses": 1}
    assert await store.read_events("ev") == []
    assert await store.append_event("ev", {"n": 1}, ttl=600) == 0


async def test_retention_drops_transactions_and_frees_their_ids(backend: Backend) -> None:
    now = backend.now()
    kept = new_tx(now)
    gone = new_tx(now)
    await backend.store.create(kept, retain_until=now + 5)
    await backend.store.create(gone, retain_until=now - 1)

    assert await backend.store.get(kept.id, kind="presentation") == kept
    assert await backend.store.get(gone.id, kind="presentation") is None
    assert await backend.store.get_by_request(gone.request_id, kind="presentation") is None
    assert (
        await backend.store.update_if(gone.id, {}, {"status": "verified"}, kind="presentation")
        is None
    )
    reused = new_tx(now, id=gone.id, request_id=gone.request_id)
    await backend.store.create(reused, retain_until=now + 600)
    assert await backend.store.get_by_request(gone.request_id, kind="presentation") == reused

    if backend.clock is not None:  # Redis: EXPIREAT is checked in test_redis_store.py
        await backend.advance(6)
        assert await backend.store.get(kept.id, kind="presentation") is None
        assert await backend.store.get_by_request(kept.request_id, kind="presentation") is None


async def test_ping(backend: Backend) -> None:
    assert await backend.store.ping() is True


async def test_concurrent_identical_updates_have_exactly_one_winner(backend: Backend) -> None:
    tx = new_tx(backend.now(), status="request_retrieved")
    await backend.store.create(tx, retain_until=backend.now() + 600)

    results = await asyncio.gather(
        *(
            backend.store.update_if(
                tx.id,
                {"status": "request_retrieved"},
                {"status": "verified", "result": {"n": i}},
                kind="presentation",
            )
            for i in range(100)
        )
    )

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await backend.store.get(tx.id, kind="presentation") == winners[0]
    assert winners[0].version == 1


async def test_concurrent_spends_stop_exactly_at_the_limit(backend: Backend) -> None:
    results = await asyncio.gather(
        *(
            backend.store.add_within("budget", {"spent": 20}, {"spent": 300}, ttl=600)
            for _ in range(50)
        )
    )

    assert sum(r is not None for r in results) == 15
    assert await backend.store.get_counters("budget") == {"spent": 300}


KINDS = ["presentation", "agent_verification", "agent_access"]


async def test_records_of_each_kind_live_in_their_own_namespace(backend: Backend) -> None:
    """Typed keys: the same id and request_id can exist once per kind, and a read, an index
    lookup or an update that names one kind never sees, moves or returns a record of another."""
    shared_id, shared_request = uuid.uuid4().hex, uuid.uuid4().hex
    records = {
        kind: new_tx(backend.now(), id=shared_id, request_id=shared_request, kind=kind)
        for kind in KINDS
    }
    for record in records.values():
        await backend.store.create(record, retain_until=backend.now() + 600)
    for kind, record in records.items():
        assert await backend.store.get(shared_id, kind=kind) == record
        assert await backend.store.get_by_request(shared_request, kind=kind) == record

    lone = new_tx(backend.now(), kind="agent_verification")
    await backend.store.create(lone, retain_until=backend.now() + 600)
    for other in ("presentation", "agent_access"):
        assert await backend.store.get(lone.id, kind=other) is None
        assert await backend.store.get_by_request(lone.request_id, kind=other) is None
        moved = await backend.store.update_if(lone.id, {}, {"status": "verified"}, kind=other)
        assert moved is None
    assert await backend.store.get(lone.id, kind="agent_verification") == lone

    updated = await backend.store.update_if(
        shared_id, {"status": "pending"}, {"status": "verified"}, kind="agent_access"
    )
    assert updated is not None and updated.kind == "agent_access"
    assert await backend.store.get(shared_id, kind="presentation") == records["presentation"]


async def test_a_record_kind_cannot_be_changed(backend: Backend) -> None:
    tx = new_tx(backend.now())
    await backend.store.create(tx, retain_until=backend.now() + 600)
    with pytest.raises(ValueError, match="cannot be changed"):
        await backend.store.update_if(tx.id, {}, {"kind": "agent_access"}, kind="presentation")
    assert await backend.store.get(tx.id, kind="presentation") == tx
