"""Reaching replicated Redis for :mod:`.redis_ha`: the client for a cluster or a Sentinel-watched
master (:func:`connect`), and which errors mean "a failover is under way, try again"
(:func:`retryable`). No retries happen here; the store's own loop does them, bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.connection import AbstractConnection, Connection, SSLConnection
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import (
    Sentinel,
    SentinelManagedConnection,
    SentinelManagedSSLConnection,
)
from redis.backoff import NoBackoff
from redis.exceptions import (
    AskError,
    BusyLoadingError,
    ClusterDownError,
    MasterDownError,
    ReadOnlyError,
    RedisClusterException,
    ResponseError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .redis_replicated import NotReplicatedError
from .redis_urls import HATarget

__all__ = ["RETRYABLE", "Connections", "connect", "retryable"]


# Errors after which the call may or may not have been applied, or surely was not; either way a
# retry with the same token is safe, and the next node (or the promoted replica) may answer.
RETRYABLE = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    BusyLoadingError,
    ClusterDownError,
    TryAgainError,
    MasterDownError,
    SlotNotCoveredError,
    TimeoutError,
    ConnectionError,
    NotReplicatedError,  # not yet on a replica: the retry answers it as applied, or applies it
    AskError,  # and MOVED: a slot that moved in a failover (the writer re-routed the slot)
)
_RETRYABLE_REPLIES = ("CLUSTERDOWN", "TRYAGAIN", "READONLY", "LOADING", "MASTERDOWN", "NOREPLICAS")


def retryable(exc: BaseException) -> bool:
    if isinstance(exc, RETRYABLE):
        return True
    if isinstance(exc, AttributeError | RuntimeError):
        # redis-py's async cluster client can hand out a connection that a concurrent task is
        # tearing down after a node died or timed out: asyncio then says "'NoneType' object
        # has no attribute 'writelines'", uvloop "unable to perform operation on
        # <TCPTransport closed=True ...>; the handler is closed". A lost connection (8.1).
        text = str(exc)
        return "'NoneType' object" in text or "handler is closed" in text
    if isinstance(exc, ResponseError):
        return str(exc).startswith(_RETRYABLE_REPLIES)
    # The cluster client's "no node for this slot / cannot reach any node" while it re-maps.
    return isinstance(exc, RedisClusterException) and "slot" not in str(exc).lower()


class Connections:
    """Every connection a client made, so :meth:`close_all` can close them at shutdown: after a
    failover redis-py drops some (to nodes it replaced, or of a master that died) without
    closing their sockets. Held strongly - a dropped connection is often only reachable through
    a reference cycle, so a weak set lost it before shutdown and its socket was closed by the
    garbage collector, with a ResourceWarning. Connections that were used and are closed again
    are forgotten as new ones are made, so the set stays as large as the pools plus the
    connections a failover dropped.

    The socket writer of every connect is held too, until it is closed: redis-py can also let
    go of a writer without closing it while the connection object lives on (a connection
    that connects again, or one a pool drops in a failover), and the garbage collector then
    closes it with a ResourceWarning (``tests/store/test_redis_failover.py``, about one run in
    six under load). A writer is held from the moment its socket is open, also when the
    connect fails after that. The Sentinels' own clients connect through the tracker as well
    (:func:`connect`): the same warning came back once from a run after the master's
    connections were all tracked."""

    def __init__(self) -> None:
        self.seen: set[AbstractConnection] = set()
        self.used: set[AbstractConnection] = set()  # connected at least once
        self.writers: set[asyncio.StreamWriter] = set()  # each connect's, until closed
        self._made = 0

    def tracked(self, base: type[AbstractConnection]) -> type[AbstractConnection]:
        def __init__(conn: AbstractConnection, *args: Any, **kwargs: Any) -> None:  # noqa: N807
            base.__init__(conn, *args, **kwargs)
            self._add(conn)

        async def _connect(conn: AbstractConnection) -> None:
            try:
                await base._connect(conn)  # type: ignore[no-untyped-call]
            finally:  # also when it failed after opening the socket (a socket option, say)
                writer = getattr(conn, "_writer", None)
                if isinstance(writer, asyncio.StreamWriter):
                    self.writers.add(writer)
                    self.used.add(conn)

        methods = {"__init__": __init__, "_connect": _connect}
        return type(f"Tracked{base.__name__}", (base,), methods)

    def _add(self, conn: AbstractConnection) -> None:
        self._made += 1
        if self._made % 64 == 0:  # forget the ones that were used and are closed again
            closed = {c for c in self.used if not c.is_connected}
            self.seen -= closed
            self.used -= closed
            self.writers = {w for w in self.writers if not w.transport.is_closing()}
        self.seen.add(conn)

    async def close_all(self) -> None:
        for conn in list(self.seen):
            with contextlib.suppress(Exception):
                await conn.disconnect()
        dropped = [w for w in self.writers if not w.transport.is_closing()]
        for writer in dropped:  # writers a connection no longer knows of
            writer.close()
        with contextlib.suppress(Exception):  # closed on the loop's next turns: wait for that
            async with asyncio.timeout(1.0):
                await asyncio.gather(*(w.wait_closed() for w in dropped), return_exceptions=True)
        self.seen.clear()
        self.used.clear()
        self.writers.clear()


def connect(
    target: HATarget, *, timeout: float, max_connections: int, connections: Connections
) -> tuple[Redis | RedisCluster, Sentinel | None]:
    """A client for ``target``: the cluster client, or a Sentinel-managed master client (and
    the :class:`Sentinel` whose own clients must be closed too). Every connection either makes,
    the Sentinels' included, is tracked by ``connections``."""
    common: dict[str, Any] = {
        "decode_responses": True,
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "username": target.username,
        "password": target.password,
    }
    if target.mode == "cluster":
        cluster = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            ssl=target.tls,
            max_connections=max_connections,
            retry=AsyncRetry(NoBackoff(), 0),  # our own loop retries, bounded by failover_wait
            **common,
        )
        # Nodes the client creates later (from the slot map, after MOVED) take their
        # connection class from these kwargs; the startup nodes already exist.
        tracked = connections.tracked(SSLConnection if target.tls else Connection)
        cluster.nodes_manager.connection_kwargs["connection_class"] = tracked
        for node in cluster.nodes_manager.startup_nodes.values():
            node.connection_class = tracked  # type: ignore[assignment]
        return cluster, None
    sentinel = Sentinel(  # type: ignore[no-untyped-call, unused-ignore]  # typed from redis 8.2
        list(target.nodes),
        sentinel_kwargs={"socket_connect_timeout": timeout, "socket_timeout": timeout},
        **common,
    )
    # The Sentinels' own clients (asked for the master on every reconnect, many at once in a
    # failover) connect through the same tracker, so none of their sockets outlives close_all.
    for watcher in sentinel.sentinels:
        pool = watcher.connection_pool
        pool.connection_class = connections.tracked(pool.connection_class)
    base = SentinelManagedSSLConnection if target.tls else SentinelManagedConnection
    client: Redis = sentinel.master_for(
        target.service,
        db=target.db,
        connection_class=connections.tracked(base),
        max_connections=max_connections,
        retry=AsyncRetry(NoBackoff(), 0),
    )
    return client, sentinel
