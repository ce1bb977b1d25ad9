"""Writes are answered only once a replica has them (``WAIT``), on a real Redis Cluster and a real
Sentinel setup: a replica that stops acknowledging (SIGSTOP) holds writes back, unanswered, until
``failover_wait``; ``wait_replicas=0`` opts out; a master with no replica at all (the survivor of
a failover) is written to without waiting."""

from __future__ import annotations

import gc
import os
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
import redis
from redis.asyncio.connection import Connection

from tests.redis_ha import RedisCluster, SentinelSetup, _info
from verifier.store import RedisHAStore, StoreUnavailableError
from verifier.store.redis_ha_client import Connections, connect
from verifier.store.redis_replicated import _pack
from verifier.store.redis_urls import HATarget

pytestmark = [pytest.mark.anyio, pytest.mark.redis]


@contextmanager
def stalled(pid: int) -> Iterator[None]:
    """The process stays connected but answers nothing (its replication acks stop)."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def replica_port(master: int) -> int:
    fields = dict(part.split("=", 1) for part in _info(master, "replication")["slave0"].split(","))
    return int(fields["port"])


def port_of(url: str) -> int:
    """The port of the session's ``redis://127.0.0.1:<port>/0``."""
    port = urlsplit(url).port
    assert port is not None
    return port


def url_with(url: str, **options: str) -> str:
    url = url.replace("failover_wait=30", "failover_wait=1")
    return url + "".join(f"&{name}={value}" for name, value in options.items())


def read_on_replica(port: int, key: str, *, cluster: bool) -> str | None:
    with redis.Redis(port=port, decode_responses=True) as replica:
        if cluster:
            replica.execute_command("READONLY")  # a cluster replica answers MOVED otherwise
        value: str | None = replica.hget(key, "n")  # type: ignore[assignment]
        return value


async def check_held_back(
    url: str, replica_pid: int, replica: int, prefix: str, names: dict[str, str]
) -> None:
    store = RedisHAStore(url_with(url), prefix=prefix)
    relaxed = RedisHAStore(url_with(url, wait_replicas="0"), prefix=prefix)
    try:
        assert await store.add_within(names["warm"], {"n": 1}, {"n": 9}, ttl=60) == {"n": 1}
        with stalled(replica_pid):
            with pytest.raises(StoreUnavailableError, match="no replica acknowledged"):
                await store.add_within("held", {"n": 1}, {"n": 9}, ttl=60)
            # Opting out: answered at once, though no replica has it yet.
            relaxed_add = await relaxed.add_within(names["relaxed"], {"n": 1}, {"n": 9}, ttl=60)
            assert relaxed_add == {"n": 1}
        assert await store.add_within(names["after"], {"n": 2}, {"n": 9}, ttl=60) == {"n": 2}
        # Answered means on the replica: read it there, not on the master.
        key = f"{prefix}ctr:{{{names['after']}}}"
        assert read_on_replica(replica, key, cluster="cluster" in url) == "2"
    finally:
        await store.close()
        await relaxed.close()


async def test_a_cluster_write_is_answered_only_once_a_replica_has_it(
    redis_cluster: RedisCluster,
) -> None:
    redis_cluster.wait_healthy(timeout=90)
    prefix = f"w{uuid.uuid4().hex[:8]}:"
    master = redis_cluster.master_of(f"{prefix}ctr:{{held}}")
    # The other keys' slots must be served by the same master (its replica is the one stalled).
    names = {
        role: next(
            f"{role}{n}"
            for n in range(200)
            if redis_cluster.master_of(f"{prefix}ctr:{{{role}{n}}}") == master
        )
        for role in ("warm", "relaxed", "after")
    }
    replica = replica_port(master)
    try:
        pid = redis_cluster.procs[replica].pid
        await check_held_back(redis_cluster.url, pid, replica, prefix, names)
    finally:
        redis_cluster.wait_healthy(timeout=90)


async def test_a_sentinel_write_is_answered_only_once_a_replica_has_it(
    redis_sentinel: SentinelSetup,
) -> None:
    master = redis_sentinel.master()
    replica = replica_port(master)
    prefix = f"w{uuid.uuid4().hex[:8]}:"
    pid = redis_sentinel.procs[replica].pid
    names = {role: role for role in ("warm", "relaxed", "after")}
    await check_held_back(redis_sentinel.url, pid, replica, prefix, names)


async def test_a_master_without_replicas_is_written_to_without_waiting(
    redis_sentinel: SentinelSetup,
) -> None:
    master = redis_sentinel.master()
    replica = replica_port(master)
    store = RedisHAStore(url_with(redis_sentinel.url), prefix=f"w{uuid.uuid4().hex[:8]}:")
    try:
        redis_sentinel.kill(replica)
        # No replica left to wait on: the writes go on (with failover_wait=1, a wait would fail).
        for n in range(1, 4):
            assert await store.add_within("alone", {"n": 1}, {"n": 9}, ttl=60) == {"n": n}
        assert await store.claim(f"c{uuid.uuid4().hex}", ttl=60) is True
    finally:
        await store.close()
        redis_sentinel.restore()


async def test_a_connection_redis_py_dropped_is_still_closed_at_shutdown(redis_url: str) -> None:
    """After a failover redis-py drops connections without closing them, often into reference
    cycles; :class:`Connections` holds them, so the store's close() closes their sockets (a weak
    hold lost them to the garbage collector, whose ResourceWarning failed the test run)."""
    connections = Connections()
    tracked = connections.tracked(Connection)
    port = port_of(redis_url)
    conn = tracked(host="127.0.0.1", port=port)
    await conn.connect()
    assert conn._writer is not None
    sock = conn._writer.get_extra_info("socket")
    cycle: list[object] = [conn]
    cycle.append(cycle)  # dropped into a cycle, as redis-py's replaced nodes are
    del conn, cycle
    gc.collect()
    await connections.close_all()
    assert sock.fileno() == -1  # closed by close_all, not left to the collector
    assert connections.seen == set()


async def test_a_writer_a_living_connection_let_go_of_is_still_closed_at_shutdown(
    redis_url: str,
) -> None:
    """redis-py can also forget a socket's writer without closing it while the connection
    object lives on (the connection connects again); :class:`Connections` holds each connect's
    writer until it is closed, so the collector never meets it open."""
    connections = Connections()
    port = port_of(redis_url)
    conn = connections.tracked(Connection)(host="127.0.0.1", port=port)
    await conn.connect()
    first = conn._writer
    assert first is not None
    sock = first.get_extra_info("socket")
    conn._writer = conn._reader = None  # let go of, not closed
    del first
    await conn.connect()  # connected again: a second writer
    gc.collect()  # the first writer, if not held, would be collected here, open
    assert sock.fileno() != -1 and len(connections.writers) == 2
    await connections.close_all()
    assert sock.fileno() == -1 and not conn.is_connected
    assert connections.writers == set()


async def test_a_writer_whose_connect_failed_after_opening_is_still_closed_at_shutdown(
    redis_url: str,
) -> None:
    """A connect can fail after its socket is open (a socket option refused on a connection
    the peer already reset); the tracker holds that writer too."""

    class FailsAfterOpening(Connection):
        async def _connect(self) -> None:
            await super()._connect()
            raise OSError("a socket option was refused")

    connections = Connections()
    port = port_of(redis_url)
    conn = connections.tracked(FailsAfterOpening)(host="127.0.0.1", port=port)
    with pytest.raises(OSError, match="refused"):
        await conn._connect()
    writer = conn._writer
    assert writer is not None and writer in connections.writers
    sock = writer.get_extra_info("socket")
    conn._writer = conn._reader = None  # let go of, as a failed connect's caller may
    del writer
    gc.collect()
    assert sock.fileno() != -1
    await connections.close_all()
    assert sock.fileno() == -1


async def test_the_sentinels_own_connections_are_tracked_and_closed_at_shutdown(
    redis_url: str,
) -> None:
    """The Sentinels' clients (asked for the master on every reconnect) connect through the
    tracker too: a connection of theirs that redis-py drops is still closed by close_all, not
    left to the garbage collector (a Sentinel answers PING like any Redis, so a plain server
    stands in for one here)."""
    connections = Connections()
    port = port_of(redis_url)
    target = HATarget(mode="sentinel", nodes=(("127.0.0.1", port),), service="agentvp")
    client, sentinel = connect(target, timeout=5.0, max_connections=4, connections=connections)
    assert sentinel is not None
    watcher = sentinel.sentinels[0]
    assert await watcher.ping()
    pool = watcher.connection_pool
    (conn,) = pool._available_connections
    assert conn in connections.seen and conn._writer is not None
    sock = conn._writer.get_extra_info("socket")
    pool._available_connections.clear()  # dropped by its pool, not closed
    cycle: list[object] = [conn]
    cycle.append(cycle)
    del conn, cycle
    gc.collect()
    assert sock.fileno() != -1  # still held, open: the collector did not meet it
    await connections.close_all()
    assert sock.fileno() == -1
    await client.aclose()
    await watcher.aclose()


@pytest.mark.parametrize(
    "command",
    [
        ("EVALSHA", "0" * 40, 2, "agentvp:tx:{presentation:1}", "agentvp:op:{x}:2", 1733200000),
        ("HSET", "k", "name", '{"given_name":"Élodie","nested":[1,-2,0]}', b"\x00\xffraw"),
        ("WAIT", 1, 500),
        ("SCRIPT", "LOAD", "return redis.call('GET', KEYS[1])"),
        ("ZADD", "q", "XX", -5, ""),
    ],
)
def test_writes_are_packed_as_redis_py_packs_them(command: tuple[object, ...]) -> None:
    """The replicated writer packs with hiredis (C) instead of redis-py (Python): the bytes on
    the wire must be the same."""
    assert _pack(command) == b"".join(Connection().pack_commands([command]))
