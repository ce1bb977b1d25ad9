"""Redis :class:`~verifier.store.base.TransactionStore`: shared by any number of verifier processes.

Key layout (``P`` is the prefix, default ``agentvp:``):

- ``P tx:<kind>:<id>`` - hash, one field per :class:`Transaction` attribute holding its canonical
  JSON (:meth:`Transaction.to_fields`; ``version`` is a JSON number string such as ``"3"``);
- ``P req:<kind>:<request_id>`` - string, ``<kind>:<id>`` (wallet-facing index);
- ``P claim:<key>`` - string ``1``, written by ``SET NX EX`` (single-use markers);
- ``P ctr:<key>`` - hash, counter name -> integer; ``P ctrop:<key>`` - hash, the name of each
  ``once`` add applied to it -> the group's values after it (JSON);
- ``P ev:<stream>`` - list of event JSON, in append order;
- ``P q:<queue>`` - sorted set of item ids scored by ``due_at``, with ``P qp:<queue>`` (id ->
  payload JSON) and ``P qa:<queue>`` (id -> attempts) hashes; enqueue and lease are scripts, so
  two processes never lease one item at once.

Atomicity: every read-modify-write is one Lua script, which Redis runs without interleaving any
other command, so it is atomic across all processes and hosts using the same Redis:

- ``create`` checks that neither ``tx:`` nor ``req:`` exists, then writes both with
  ``EXPIREAT retain_until``;
- ``update_if`` compares the expected fields' JSON strings byte for byte (callers' values are
  encoded like ``to_fields``), checks ``status__in``, applies the changes with ``HSET`` (which
  keeps the key's TTL) and bumps ``version``;
- ``add_within`` computes the new counter values, checks every limit, and only then writes;
- ``append_event`` pushes and extends the list's TTL.

Scripts run by ``EVALSHA`` (sent whole on ``NOSCRIPT`` after a Redis restart). TTLs extend to
"at least ``ttl`` seconds from now" (never shorten).

The client is :mod:`.resp_client`: one pipelined connection per process (redis-py's pooled
asyncio client cost more CPU per round trip than Redis spends on the command). Records read
back decode only the fields that changed since this process last read them
(:mod:`.recent_fields`).

Failure: short connect/reply timeouts (2 s) and no command retries, so an outage answers
quickly with :class:`StoreUnavailableError` instead of hanging - and a write is never re-sent
(a re-sent ``add_within`` whose reply was lost would count twice). A lost or timed-out
connection fails the calls in flight on it, and the next call connects again, so the store
recovers by itself once Redis answers again.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from redis.exceptions import RedisError

from . import redis_scripts as lua
from .base import QueueItem, StoreUnavailableError, Transaction, record_key
from .memory import CompareAndSet, encode, require_once, require_ttl
from .recent_fields import RecentFields
from .resp_client import RespClient
from .resp_url import parse_resp_url

__all__ = ["RedisStore"]

# Redis cannot serve us right now (down, hung, loading, or a replica after a failover):
# :mod:`.resp_client` raises these for all of it.
_UNREACHABLE = (ConnectionError, TimeoutError)


class RedisStore:
    """Store on one Redis (``redis://`` or ``rediss://`` URL, database number in the path)."""

    def __init__(self, url: str, *, prefix: str = "agentvp:", timeout: float = 2.0) -> None:
        self._prefix = prefix
        self._redis = RespClient(parse_resp_url(url), timeout=timeout)
        self._seen = RecentFields()  # the last records' field texts and their decoded values
        self._create = self._redis.script(lua.CREATE)
        self._update_if = self._redis.script(lua.UPDATE_IF)
        self._add_within = self._redis.script(lua.ADD_WITHIN)
        self._add_named = self._redis.script(lua.ADD_WITHIN_NAMED)
        self._append = self._redis.script(lua.APPEND)
        self._get_by_request = self._redis.script(lua.GET_BY_REQUEST)
        self._enqueue = self._redis.script(lua.ENQUEUE)
        self._lease = self._redis.script(lua.LEASE)
        self._ack = self._redis.script(lua.ACK)

    def _key(self, kind: str, name: str) -> str:
        return f"{self._prefix}{kind}:{name}"

    @asynccontextmanager
    async def _reachable(self) -> AsyncIterator[None]:
        """Map connection failures, timeouts and read-only replicas to
        :class:`StoreUnavailableError`."""
        try:
            yield
        except _UNREACHABLE as exc:
            raise StoreUnavailableError(f"redis: {exc}") from exc

    # -- transactions -------------------------------------------------------------------------

    async def create(self, tx: Transaction, *, retain_until: int) -> None:
        key = record_key(tx.kind, tx.id)
        keys = [self._key("tx", key), self._key("req", record_key(tx.kind, tx.request_id))]
        args: list[str | int] = [int(retain_until), key]
        for name, value in tx.to_fields().items():
            args += [name, value]
        async with self._reachable():
            outcome = int(await self._create(keys=keys, args=args))
        if outcome == 1:
            raise ValueError("transaction id already exists")
        if outcome == 2:
            raise ValueError("request_id already exists")

    async def get(self, tx_id: str, *, kind: str) -> Transaction | None:
        async with self._reachable():
            raw = await self._redis("HGETALL", self._key("tx", record_key(kind, tx_id)))
        return self._seen.parsed(lua.reply_hash(raw)) if raw else None

    async def get_by_request(self, request_id: str, *, kind: str) -> Transaction | None:
        keys = [self._key("req", record_key(kind, request_id))]
        async with self._reachable():
            reply = await self._get_by_request(keys=keys, args=[self._key("tx", "")])
        return self._seen.parsed(lua.reply_hash(reply)) if reply else None

    async def update_if(
        self, tx_id: str, expect: Mapping[str, Any], changes: Mapping[str, Any], *, kind: str
    ) -> Transaction | None:
        cas = CompareAndSet.parse(expect, changes)
        if cas.impossible:
            return None
        status_in = sorted(cas.status_in or ())
        args = [
            *lua.argv_pairs(cas.expect),
            len(status_in),
            *status_in,
            *lua.argv_pairs(cas.changes),
        ]
        async with self._reachable():
            key = self._key("tx", record_key(kind, tx_id))
            reply = await self._update_if(keys=[key], args=args)
        return None if reply is None else self._seen.parsed(lua.reply_hash(reply))

    # -- single-use markers and counters ------------------------------------------------------

    async def claim(self, key: str, *, ttl: int) -> bool:
        require_ttl(ttl)
        async with self._reachable():
            won = await self._redis("SET", self._key("claim", key), 1, "NX", "EX", ttl)
        return bool(won)

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
        args: list[str | int] = [ttl * 1000, *lua.argv_pairs(increments), *lua.argv_pairs(limits)]
        keys = [self._key("ctr", key)]
        script = self._add_within
        if once is not None:
            keys, args, script = [*keys, self._key("ctrop", key)], [*args, once], self._add_named
        async with self._reachable():
            reply = await script(keys=keys, args=args)
        return None if reply is None else {k: int(v) for k, v in lua.reply_hash(reply).items()}

    async def get_counters(self, key: str) -> dict[str, int]:
        async with self._reachable():
            raw = await self._redis("HGETALL", self._key("ctr", key))
        return {name: int(value) for name, value in lua.reply_hash(raw).items()}

    # -- events -------------------------------------------------------------------------------

    async def append_event(self, stream: str, event: Mapping[str, Any], *, ttl: int) -> int:
        require_ttl(ttl)
        args: list[str | int] = [encode(dict(event)), ttl * 1000]
        async with self._reachable():
            return int(await self._append(keys=[self._key("ev", stream)], args=args))

    async def read_events(self, stream: str) -> list[dict[str, Any]]:
        async with self._reachable():
            raw = await self._redis("LRANGE", self._key("ev", stream), 0, -1)
        return [json.loads(item) for item in raw]

    # -- durable queue ------------------------------------------------------------------------

    def _queue_keys(self, queue: str) -> list[str]:
        return [self._key("q", queue), self._key("qp", queue), self._key("qa", queue)]

    async def enqueue(
        self, queue: str, item_id: str, payload: Mapping[str, Any], *, due_at: int, ttl: int
    ) -> bool:
        require_ttl(ttl)
        args: list[str | int] = [item_id, encode(dict(payload)), due_at, ttl * 1000]
        async with self._reachable():
            return bool(await self._enqueue(keys=self._queue_keys(queue), args=args))

    async def lease(self, queue: str, *, now: int, lease_for: int, limit: int) -> list[QueueItem]:
        async with self._reachable():
            flat = await self._lease(
                keys=self._queue_keys(queue), args=[now, now + lease_for, limit]
            )
        return [
            QueueItem(flat[i], json.loads(flat[i + 1]), int(flat[i + 2]))
            for i in range(0, len(flat), 3)
        ]

    async def ack(self, queue: str, item_id: str) -> None:
        async with self._reachable():
            await self._ack(keys=self._queue_keys(queue), args=[item_id])

    async def reschedule(self, queue: str, item_id: str, *, due_at: int) -> None:
        async with self._reachable():
            await self._redis("ZADD", self._key("q", queue), "XX", due_at, item_id)

    # -- lifecycle ----------------------------------------------------------------------------

    async def ping(self) -> bool:
        try:
            return bool(await self._redis("PING"))
        except (*_UNREACHABLE, RedisError):  # e.g. NOAUTH: it answers, but cannot serve us
            return False

    async def close(self) -> None:
        await self._redis.close()
