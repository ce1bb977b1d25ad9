"""Redis specifics: the key layout and TTLs, and behaviour while Redis is down or hung."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from verifier.store import RedisStore, StoreUnavailableError, Transaction

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

Spawn = Callable[[int | None], tuple[int, subprocess.Popen[bytes]]]


def new_tx() -> Transaction:
    hexes = [uuid.uuid4().hex for _ in range(4)]
    return Transaction(
        id=hexes[0], request_id=hexes[1], state=hexes[2], nonce=hexes[3], client_id="c"
    )


@pytest.fixture
async def raw(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


async def test_key_layout_and_ttls(redis_url: str, raw: Redis) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    store = RedisStore(redis_url, prefix=prefix)
    try:
        tx = new_tx()
        retain_until = int(time.time()) + 100
        await store.create(tx, retain_until=retain_until)

        assert await raw.hgetall(f"{prefix}tx:presentation:{tx.id}") == tx.to_fields()
        assert await raw.get(f"{prefix}req:presentation:{tx.request_id}") == f"presentation:{tx.id}"
        assert await raw.expiretime(f"{prefix}tx:presentation:{tx.id}") == retain_until
        assert await raw.expiretime(f"{prefix}req:presentation:{tx.request_id}") == retain_until

        assert await store.update_if(
            tx.id, {"status": "pending"}, {"status": "verified"}, kind="presentation"
        )
        assert await raw.hget(f"{prefix}tx:presentation:{tx.id}", "version") == "1"
        assert await raw.hget(f"{prefix}tx:presentation:{tx.id}", "status") == '"verified"'
        assert await raw.expiretime(f"{prefix}tx:presentation:{tx.id}") == retain_until

        assert await store.claim("n1", ttl=600)
        assert 598 <= await raw.ttl(f"{prefix}claim:n1") <= 600
        assert await store.add_within("m", {"uses": 1}, {}, ttl=600) == {"uses": 1}
        assert await raw.hgetall(f"{prefix}ctr:m") == {"uses": "1"}
        assert await store.add_within("m", {"uses": 1}, {}, ttl=60) == {"uses": 2}
        assert await raw.ttl(f"{prefix}ctr:m") > 60  # a shorter ttl never shortens the group
        assert await store.append_event("s", {"a": 1}, ttl=600) == 0
        assert await raw.lrange(f"{prefix}ev:s", 0, -1) == ['{"a":1}']
        assert 598 <= await raw.ttl(f"{prefix}ev:s") <= 600
    finally:
        await store.close()


async def test_outage_fails_fast_and_the_store_recovers_by_itself(spawn_redis: Spawn) -> None:
    port, server = spawn_redis(None)
    store = RedisStore(f"redis://127.0.0.1:{port}/0", prefix="t:")
    try:
        tx = new_tx()
        await store.create(tx, retain_until=int(time.time()) + 600)
        assert await store.get(tx.id, kind="presentation") == tx

        server.terminate()
        server.wait(timeout=5)
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError):
            await store.get(tx.id, kind="presentation")
        with pytest.raises(StoreUnavailableError):
            await store.update_if(tx.id, {}, {"status": "verified"}, kind="presentation")
        assert await store.ping() is False
        assert time.monotonic() - started < 1.0

        spawn_redis(port)  # back, empty (no persistence) and without our Lua scripts
        assert await store.ping() is True
        await store.create(tx, retain_until=int(time.time()) + 600)
        updated = await store.update_if(
            tx.id, {"status": "pending"}, {"status": "verified"}, kind="presentation"
        )
        assert updated is not None
        assert updated.version == 1
    finally:
        await store.close()


async def test_hung_server_times_out_and_no_stale_reply_is_read_later(spawn_redis: Spawn) -> None:
    port, server = spawn_redis(None)
    store = RedisStore(f"redis://127.0.0.1:{port}/0", prefix="t:", timeout=0.3)
    try:
        first, second = new_tx(), new_tx()
        await store.create(first, retain_until=int(time.time()) + 600)
        await store.create(second, retain_until=int(time.time()) + 600)

        server.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(StoreUnavailableError):
                await store.get(first.id, kind="presentation")
            assert time.monotonic() - started < 1.0
        finally:
            server.send_signal(signal.SIGCONT)

        # The late reply to the timed-out command must not be taken as this command's answer.
        assert await store.get(second.id, kind="presentation") == second
        assert await store.get(first.id, kind="presentation") == first
    finally:
        await store.close()


async def test_a_field_another_client_changed_is_read_with_its_new_value(
    redis_url: str, raw: Redis
) -> None:
    """The store remembers each field's decoding by its text: what another process wrote since
    is decoded, not taken from memory."""
    prefix = f"test:{uuid.uuid4().hex}:"
    store = RedisStore(redis_url, prefix=prefix)
    try:
        tx = new_tx()
        tx.meta = {"step": 1}
        await store.create(tx, retain_until=int(time.time()) + 100)
        first = await store.get(tx.id, kind="presentation")
        assert first is not None and first.meta == {"step": 1}
        key = f"{prefix}tx:presentation:{tx.id}"
        await raw.hset(key, mapping={"meta": '{"step": 2}', "status": '"verified"'})
        second = await store.get_by_request(tx.request_id, kind="presentation")
        assert second is not None
        assert (second.meta, second.status, second.nonce) == ({"step": 2}, "verified", tx.nonce)
    finally:
        await store.close()
