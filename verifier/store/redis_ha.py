"""Redis :class:`~verifier.store.base.TransactionStore` on replicated Redis: a Redis Cluster
(``redis+cluster://``) or a master with Sentinels (``redis+sentinel://``), see
:mod:`.redis_urls`. A master may die at any moment; its replica takes over, the store goes on.

Key layout (``P`` is the prefix: the URL's ``prefix`` option, default ``agentvp:``). The part in
braces is the Redis Cluster hash tag: keys with the same tag live in the same slot, so every
script touches one slot only.

- ``P tx:{<kind>:<id>}`` - hash, as in :mod:`.redis` (one canonical-JSON field per attribute);
- ``P req:{<kind>:<request_id>}`` - string ``<kind>:<id>`` (its own slot: the wallet-facing index);
- ``P claim:{<key>}`` - string holding the claiming call's token;
- ``P ctr:{<key>}`` - hash, counter name -> integer;
- ``P ev:{<stream>}`` - list of event JSON;
- ``P q:{<queue>}``, ``P qp:{<queue>}``, ``P qa:{<queue>}`` - a queue, as in :mod:`.redis`;
- ``P op:{<tag>}:<token>`` - "this call was applied" marker, in its record's slot, kept
  ``failover_wait`` + :data:`OP_MARGIN` seconds (longer than any retry of its call).

A transaction's record and its request index are found by different ids, so they live in
different slots and ``create`` is two single-slot steps: the record (refused if its id exists),
then the index (refused if the request id exists, and then the record is deleted again). Between
the two, only the creating call knows the id; a crash between them leaves a record nobody can
reach, dropped at ``retain_until``. ``get_by_request`` reads the index, then the record.

Failover: every call is retried - with the *same* token - on connection loss, timeouts,
``CLUSTERDOWN``/``TRYAGAIN``, ``READONLY`` (a demoted master) and ``LOADING``, for at most
``failover_wait`` seconds (default 15), then answers :class:`StoreUnavailableError`. A retry is
safe even when the lost reply belonged to a call that had already been applied: each write
script first looks for its token (the ``op:`` marker, or the claim's value) and, if present,
answers as the applied call did instead of applying it again - no double count, no lost claim,
no duplicate event. A retried ``lease`` answers the items its first run leased (its marker lists
them), so a lost reply neither leaves them leased to nobody until the lease runs out nor counts
an attempt twice.

Redis replicates asynchronously; every write here is answered only once a replica acknowledged
it too (:mod:`.redis_replicated`, URL option ``wait_replicas``), so a master that dies right
after answering loses nothing it answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from redis.asyncio import RedisCluster
from redis.commands.core import AsyncScript
from redis.exceptions import (
    RedisClusterException,
    RedisError,
)

from . import redis_ha_scripts as ha_lua
from . import redis_scripts as lua
from .base import QueueItem, StoreUnavailableError, Transaction, record_key
from .memory import CompareAndSet, encode, require_once, require_ttl
from .recent_fields import RecentFields
from .redis_ha_client import Connections, connect, retryable
from .redis_replicated import ReplicaWriter
from .redis_urls import parse_ha_url

__all__ = ["OP_MARGIN", "RedisHAStore"]

# An "applied" marker outlives every retry of its call: those stop failover_wait after the first
# attempt (plus one socket timeout); the margin covers that timeout and clock slack.
OP_MARGIN = 30

T = TypeVar("T")


class RedisHAStore:
    """Store on a Redis Cluster or a Sentinel-watched master (see the module docstring)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str | None = None,
        timeout: float = 2.0,
        max_connections: int = 64,
    ) -> None:
        self.target = parse_ha_url(url)
        self._prefix = self.target.prefix if prefix is None else prefix
        self._op_ttl_ms = int((self.target.failover_wait + OP_MARGIN + timeout) * 1000)
        self._connections = Connections()
        self._redis, self._sentinel = connect(
            self.target,
            timeout=timeout,
            max_connections=max_connections,
            connections=self._connections,
        )
        self._cluster = self._redis if isinstance(self._redis, RedisCluster) else None
        self._writer = ReplicaWriter(self._redis, wait_replicas=self.target.wait_replicas)
        self._seen = RecentFields()  # the last records' field texts and their decoded values
        register = self._redis.register_script
        self._create_record = register(ha_lua.CREATE_RECORD)
        self._create_index = register(ha_lua.CREATE_INDEX)
        self._update_if = register(ha_lua.UPDATE_IF_ONCE)
        self._add_within = register(ha_lua.ADD_WITHIN_ONCE)
        self._add_named = register(lua.ADD_WITHIN_NAMED)  # idempotent by its name: no op marker
        self._claim = register(ha_lua.CLAIM)
        self._append = register(ha_lua.APPEND_ONCE)
        self._enqueue = register(ha_lua.ENQUEUE_ONCE)
        self._lease = register(ha_lua.LEASE_ONCE)
        self._ack = register(lua.ACK)

    # -- keys -----------------------------------------------------------------------------------

    def _key(self, kind: str, tag: str) -> str:
        return f"{self._prefix}{kind}:{{{tag}}}"

    def _op(self, tag: str) -> tuple[str, str]:
        """A fresh token and its marker key in ``tag``'s slot."""
        token = secrets.token_hex(12)
        return token, f"{self._prefix}op:{{{tag}}}:{token}"

    # -- the retry loop -------------------------------------------------------------------------

    async def _call(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """``attempt()``, retried on failover errors for at most ``failover_wait`` seconds."""
        deadline = time.monotonic() + self.target.failover_wait
        pause = 0.05
        while True:
            try:
                if self._cluster is not None:
                    # Load the slot map before routing (a no-op once loaded). Without it, calls
                    # made before the first map - or after a failover dropped it - go to any
                    # node, and redis-py answers the resulting MOVED storm by closing every
                    # connection, in use or not (redis-py 8.1).
                    await self._cluster.initialize()
                return await attempt()
            except (
                RedisError,
                RedisClusterException,
                OSError,
                AttributeError,
                RuntimeError,
            ) as exc:
                if not retryable(exc):
                    raise
                if time.monotonic() + pause > deadline:
                    raise StoreUnavailableError(f"redis {self.target.mode}: {exc}") from exc
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)

    async def _write(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        """``script``, retried as :meth:`_call` does, answered once a replica has it."""
        return await self._call(lambda: self._writer.script(script, keys, args))

    # -- transactions ---------------------------------------------------------------------------

    async def create(self, tx: Transaction, *, retain_until: int) -> None:
        tag = record_key(tx.kind, tx.id)
        key = self._key("tx", tag)
        _, op = self._op(tag)
        args: list[str | int] = [int(retain_until)]
        for name, value in tx.to_fields().items():
            args += [name, value]
        args.append(self._op_ttl_ms)
        created = await self._write(self._create_record, [key, op], args)
        if created is None:
            raise ValueError("transaction id already exists")
        index = self._key("req", record_key(tx.kind, tx.request_id))
        try:
            taken = await self._write(self._create_index, [index], [tag, retain_until])
        except BaseException:
            # Redis stayed away for failover_wait (or we were cancelled): one attempt, no
            # second wait. A record left behind is unreachable (its id was never returned;
            # an index, if written, leads nowhere once the record is gone) until retain_until.
            with contextlib.suppress(RedisError, RedisClusterException, OSError, AttributeError):
                await self._redis.delete(key)
            raise
        if int(taken) == 1:
            await self._call(lambda: self._redis.delete(key))
            raise ValueError("request_id already exists")

    async def get(self, tx_id: str, *, kind: str) -> Transaction | None:
        key = self._key("tx", record_key(kind, tx_id))
        raw = await self._call(lambda: self._redis.hgetall(key))
        return self._seen.parsed(raw) if raw else None

    async def get_by_request(self, request_id: str, *, kind: str) -> Transaction | None:
        index = self._key("req", record_key(kind, request_id))
        tag = await self._call(lambda: self._redis.get(index))
        if not tag:
            return None
        record = self._key("tx", lua.reply_text(tag))
        raw = await self._call(lambda: self._redis.hgetall(record))
        return self._seen.parsed(raw) if raw else None

    async def update_if(
        self, tx_id: str, expect: Mapping[str, Any], changes: Mapping[str, Any], *, kind: str
    ) -> Transaction | None:
        cas = CompareAndSet.parse(expect, changes)
        if cas.impossible:
            return None
        status_in = sorted(cas.status_in or ())
        tag = record_key(kind, tx_id)
        keys = [self._key("tx", tag), self._op(tag)[1]]
        args = [
            *lua.argv_pairs(cas.expect),
            len(status_in),
            *status_in,
            *lua.argv_pairs(cas.changes),
            self._op_ttl_ms,
        ]
        reply = await self._write(self._update_if, keys, args)
        return self._seen.parsed(lua.reply_hash(reply)) if reply else None

    # -- single-use markers and counters --------------------------------------------------------

    async def claim(self, key: str, *, ttl: int) -> bool:
        require_ttl(ttl)
        token = secrets.token_hex(12)
        name = self._key("claim", key)
        return bool(await self._write(self._claim, [name], [token, ttl]))

    async def add_within(
        self,
        key: str,
        increments: Mapping[str, int],
        limits: Mapping[str, int],
        *,
        ttl: int,
        once: str | None = None,
    ) -> dict[str, int] | None:
        require_ttl(ttl)
        require_once(once)
        if once is not None:  # a retry of a named add is answered by its name
            named = [self._key("ctr", key), self._key("ctrop", key)]
            values = [ttl * 1000, *lua.argv_pairs(increments), *lua.argv_pairs(limits), once]
            reply = await self._write(self._add_named, named, values)
            return {k: int(v) for k, v in lua.reply_hash(reply).items()} if reply else None
        keys = [self._key("ctr", key), self._op(key)[1]]
        args = [ttl * 1000, *lua.argv_pairs(increments), *lua.argv_pairs(limits), self._op_ttl_ms]
        reply = await self._write(self._add_within, keys, args)
        return {k: int(v) for k, v in lua.reply_hash(reply).items()} if reply else None

    async def get_counters(self, key: str) -> dict[str, int]:
        name = self._key("ctr", key)
        raw = await self._call(lambda: self._redis.hgetall(name))
        return {lua.reply_text(k): int(v) for k, v in raw.items()}

    # -- events ---------------------------------------------------------------------------------

    async def append_event(self, stream: str, event: Mapping[str, Any], *, ttl: int) -> int:
        require_ttl(ttl)
        keys = [self._key("ev", stream), self._op(stream)[1]]
        args: list[str | int] = [encode(dict(event)), ttl * 1000, self._op_ttl_ms]
        return int(await self._write(self._append, keys, args))

    async def read_events(self, stream: str) -> list[dict[str, Any]]:
        name = self._key("ev", stream)
        raw = await self._call(lambda: self._redis.lrange(name, 0, -1))
        return [json.loads(item) for item in raw]

    # -- durable queue --------------------------------------------------------------------------

    def _queue_keys(self, queue: str) -> list[str]:
        return [self._key("q", queue), self._key("qp", queue), self._key("qa", queue)]

    async def enqueue(
        self, queue: str, item_id: str, payload: Mapping[str, Any], *, due_at: int, ttl: int
    ) -> bool:
        require_ttl(ttl)
        keys = [*self._queue_keys(queue), self._op(queue)[1]]
        args: list[str | int] = [
            item_id,
            encode(dict(payload)),
            due_at,
            ttl * 1000,
            self._op_ttl_ms,
        ]
        return bool(await self._write(self._enqueue, keys, args))

    async def lease(self, queue: str, *, now: int, lease_for: int, limit: int) -> list[QueueItem]:
        keys = [*self._queue_keys(queue), self._op(queue)[1]]
        args = [now, now + lease_for, limit, self._op_ttl_ms]
        flat = await self._write(self._lease, keys, args)
        return [
            QueueItem(flat[i], json.loads(flat[i + 1]), int(flat[i + 2]))
            for i in range(0, len(flat), 3)
        ]

    async def ack(self, queue: str, item_id: str) -> None:
        keys = self._queue_keys(queue)
        await self._write(self._ack, keys, [item_id])

    async def reschedule(self, queue: str, item_id: str, *, due_at: int) -> None:
        name = self._key("q", queue)
        await self._call(lambda: self._writer.command(name, ("ZADD", name, "XX", due_at, item_id)))

    # -- lifecycle ------------------------------------------------------------------------------

    async def ping(self) -> bool:
        """True when Redis answers: for a cluster, any one node (a failover in progress is ridden
        out by the retries, and should not mark every instance unready at once)."""
        unreachable = (RedisError, RedisClusterException, OSError, AttributeError)
        if not isinstance(self._redis, RedisCluster):
            try:
                return bool(await self._redis.ping())
            except unreachable:  # down, failing over, or NOAUTH: cannot serve us now
                return False
        try:
            await self._redis.initialize()
            nodes = self._redis.get_nodes()
        except unreachable:
            return False
        for node in nodes:
            try:
                if await self._redis.ping(target_nodes=node):
                    return True
            except unreachable:
                continue
        return False

    async def close(self) -> None:
        await self._redis.aclose()
        if self._sentinel is not None:
            for sentinel in self._sentinel.sentinels:
                await sentinel.aclose()
        await self._connections.close_all()
