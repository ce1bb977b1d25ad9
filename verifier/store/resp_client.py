"""A lean Redis client for one Redis: one pipelined connection per process, hiredis for RESP.

:class:`~.redis.RedisStore` makes ~6 round trips per flow, and redis-py's asyncio client spent
more CPU on each (borrowing a pooled connection and returning it, packing the command in
Python, a timeout context per read) than Redis spends running it. This client is what the store
needs and no more:

- one connection, shared by every caller of the process: requests are written as they come
  (``hiredis.pack_command``) and replies - in order, which RESP guarantees on one connection -
  resolve the callers' futures in that order (parsed by ``hiredis.Reader``);
- AUTH and SELECT from the URL once per connection; TLS for ``rediss://`` (:mod:`.resp_url`);
- a timeout per request, kept by one timer per connection: when the oldest request waiting for
  its reply has waited ``timeout`` seconds, the connection is dropped and every request on it
  fails with :class:`TimeoutError` - a late reply can never be read as a newer request's;
- connection loss fails the requests in flight with :class:`ConnectionError`, and the next
  request connects again (one attempt shared by the callers who wait for it). Nothing is ever
  re-sent: a write whose reply was lost may have been applied;
- error replies come back as :class:`redis.exceptions.ResponseError` (the type redis-py raised),
  except the ones saying this Redis cannot serve us now (read-only replica, loading, master
  down, authentication), which are :class:`ConnectionError` like an unreachable server.

Cluster and Sentinel URLs keep redis-py (:mod:`.redis_ha`): they need its topology handling.
"""

from __future__ import annotations

import asyncio
import hashlib
from asyncio import get_running_loop
from collections import deque
from collections.abc import Sequence
from typing import Any, cast

import hiredis
from redis.exceptions import ResponseError

from .resp_url import RespTarget

__all__ = ["RespClient", "Script"]

Arg = str | int | float | bytes

# Error replies that mean "this Redis cannot serve us right now" rather than "this command is
# wrong": a replica after a failover, a restart still loading its data, a replica that lost its
# master, missing or wrong credentials.
_UNAVAILABLE = ("READONLY", "LOADING", "MASTERDOWN", "NOAUTH", "WRONGPASS")


def _raise_for(reply: Any) -> Any:
    if isinstance(reply, ResponseError):
        if str(reply).startswith(_UNAVAILABLE):
            raise ConnectionError(f"{reply}")
        raise reply
    return reply


class _Connection(asyncio.Protocol):
    """One socket to Redis: writes requests, matches replies to them in order."""

    def __init__(self, timeout: float) -> None:
        self.loop = self._loop = asyncio.get_running_loop()
        self._timeout = timeout
        self._reader = hiredis.Reader(encoding="utf-8", replyError=ResponseError)
        self._waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.closed = False

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        self._reader.feed(data)
        waiting = self._waiting
        try:
            while (reply := self._reader.gets()) is not False:
                if not waiting:
                    raise hiredis.ProtocolError("a reply nothing asked for")
                future = waiting.popleft()[0]
                if not future.done():  # its caller may have been cancelled
                    future.set_result(reply)
        except hiredis.ProtocolError as exc:
            self.abort(ConnectionError(f"protocol error: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError(f"connection lost{f': {exc}' if exc else ''}"))

    # -- requests -----------------------------------------------------------------------------

    def send(self, args: Sequence[Arg]) -> asyncio.Future[Any]:
        """Write one command; the future resolves with its reply (an error reply as a
        :class:`ResponseError` value, not raised)."""
        if self.closed or self._transport is None:
            raise ConnectionError("connection closed")
        future = self._loop.create_future()
        deadline = self._loop.time() + self._timeout
        self._waiting.append((future, deadline))
        # (hiredis's stub types the tuple as having one element; it takes any number)
        self._transport.write(hiredis.pack_command(cast(Any, tuple(args))))
        if self._timer is None:
            self._timer = self._loop.call_at(deadline, self._watch)
        return future

    def _watch(self) -> None:
        """The per-connection timeout: fires at the oldest waiting request's deadline."""
        self._timer = None
        if not self._waiting:
            return
        deadline = self._waiting[0][1]
        if self._loop.time() >= deadline:
            self.abort(TimeoutError(f"no reply within {self._timeout:g} s"))
        else:
            self._timer = self._loop.call_at(deadline, self._watch)

    def abort(self, exc: Exception) -> None:
        """Drop the connection; every request waiting on it fails with ``exc``."""
        self._fail(exc)
        if self._transport is not None:
            self._transport.abort()

    def close(self) -> None:
        self._fail(ConnectionError("client closed"))
        if self._transport is not None:
            self._transport.close()

    def _fail(self, exc: Exception) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._waiting:
            future = self._waiting.popleft()[0]
            if not future.done():
                future.set_exception(exc)


class Script:
    """A Lua script run by ``EVALSHA``, sent whole (``EVAL``, which also caches it) only when
    Redis does not know it (``NOSCRIPT``: after a restart or ``SCRIPT FLUSH``)."""

    def __init__(self, client: RespClient, source: str) -> None:
        self._client = client
        self.source = source
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()

    async def __call__(self, *, keys: Sequence[Arg], args: Sequence[Arg] = ()) -> Any:
        reply = await self._client.raw("EVALSHA", self.sha, len(keys), *keys, *args)
        if isinstance(reply, ResponseError) and str(reply).startswith("NOSCRIPT"):
            # The script did not run, so sending it again cannot apply anything twice.
            reply = await self._client.raw("EVAL", self.source, len(keys), *keys, *args)
        return _raise_for(reply)


class RespClient:
    """Commands to the Redis a :class:`~.resp_url.RespTarget` names, over one shared connection."""

    def __init__(self, target: RespTarget, *, timeout: float = 2.0) -> None:
        self.target = target
        self.timeout = timeout
        self._ssl = target.ssl_context()
        self._connection: _Connection | None = None
        self._connecting: asyncio.Future[_Connection] | None = None

    async def __call__(self, *args: Arg) -> Any:
        """Run one command; its reply, or the error reply raised."""
        return _raise_for(await self.raw(*args))

    async def raw(self, *args: Arg) -> Any:
        """Run one command; its reply, an error reply returned as a :class:`ResponseError`."""
        connection = self._connection
        if connection is None or connection.closed or connection.loop is not get_running_loop():
            connection = await self._connected()
        return await connection.send(args)

    def script(self, source: str) -> Script:
        return Script(self, source)

    async def close(self) -> None:
        # A connection being made is closed once made (its waiters then fail with
        # ConnectionError); the next call connects again.
        self._connecting = None
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # -- connecting ---------------------------------------------------------------------------

    async def _connected(self) -> _Connection:
        """The open connection; callers who arrive while one is being made wait for that one.
        (A connection made on another event loop - a test's, a worker's before it forked - is
        left to that loop: its socket cannot be used from this one.)"""
        if self._connecting is not None and self._connecting.get_loop() is not get_running_loop():
            self._connecting = None
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._connect())
            self._connecting.add_done_callback(self._connect_done)
        return await asyncio.shield(self._connecting)

    def _connect_done(self, attempt: asyncio.Future[_Connection]) -> None:
        failed = attempt.cancelled() or attempt.exception() is not None  # (retrieves it)
        if self._connecting is not attempt:  # left behind (closed meanwhile, or another loop's)
            if not failed:
                attempt.result().close()
            return
        self._connecting = None
        if not failed:
            self._connection = attempt.result()

    async def _connect(self) -> _Connection:
        target, loop = self.target, asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(self.timeout),
                    target.host,
                    target.port,
                    ssl=self._ssl,
                    server_hostname=target.host if self._ssl else None,
                )
                try:
                    await self._handshake(connection)
                except BaseException:
                    connection.close()
                    raise
        except (OSError, TimeoutError) as exc:  # refused, unreachable, TLS failure, hung
            raise ConnectionError(f"cannot connect to {target.host}:{target.port}: {exc}") from exc
        return connection

    async def _handshake(self, connection: _Connection) -> None:
        commands: list[tuple[Arg, ...]] = []
        auth = self.target.auth_command()
        if auth is not None:
            commands.append(auth)
        if self.target.db:
            commands.append(("SELECT", self.target.db))
        replies = await asyncio.gather(*(connection.send(command) for command in commands))
        for reply in replies:
            if isinstance(reply, ResponseError):
                raise ConnectionError(f"{reply}")
