"""Writes that a replica has too, for :mod:`.redis_ha`.

Redis replicates asynchronously: a master answers a write, then streams it to its replicas. If
the master dies in between, the promoted replica never saw the write, although the caller was
told it happened - a counted use uncounted, a consumed nonce usable again. :class:`ReplicaWriter`
closes that window: it sends the write and ``WAIT 1 <ms>`` on the same connection (``WAIT``
counts the replicas that acknowledged *this connection's* writes) and answers only once a replica
acknowledged. When none did in time it raises :class:`NotReplicatedError`, which the store's
retry loop treats like a lost connection: the call is sent again with the same token, the
master (or the replica promoted meanwhile) answers it as already applied or applies it, and
waits again - never applied twice, never acknowledged unreplicated.

A master without any replica (the survivor of a failover, until the dead node returns as its
replica) cannot be waited on; writes there go on unreplicated, as they must, and the writer
asks again after :data:`ALONE_RECHECK` seconds whether a replica has come back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import hiredis
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import MovedError, NoScriptError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["ALONE_RECHECK", "WAIT_MS", "NotReplicatedError", "ReplicaWriter"]

_pack: Callable[[tuple[Any, ...]], bytes] = hiredis.pack_command

# How long one WAIT blocks for a replica's acknowledgement (the master asks its replicas for one
# at once, so on a healthy link this takes a round trip); the retry loop bounds the total.
WAIT_MS = 500
# How long a master found without replicas is written to without WAIT before asking again.
ALONE_RECHECK = 1.0


class NotReplicatedError(RedisError):
    """No replica acknowledged the write within :data:`WAIT_MS` although the master has one."""


class ReplicaWriter:
    """Runs one write command and, unless ``wait_replicas`` is 0, ``WAIT`` after it."""

    def __init__(self, client: Redis | RedisCluster, *, wait_replicas: int) -> None:
        self._client = client
        self._cluster = client if isinstance(client, RedisCluster) else None
        self._wait = wait_replicas
        self._alone_until: dict[str, float] = {}  # node name -> monotonic time

    async def script(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        """``script`` on ``keys`` (one slot), replicated before it answers."""
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        try:
            return await self.command(keys[0], command)
        except NoScriptError:  # a new or restarted master: load it, then run it once more
            await self._on(keys[0], ("SCRIPT", "LOAD", script.script), wait=False)
            return await self.command(keys[0], command)

    async def command(self, key: str, command: tuple[Any, ...]) -> Any:
        """``command`` (whose keys are in ``key``'s slot), replicated before it answers."""
        return await self._on(key, command, wait=self._wait > 0)

    async def _on(self, key: str, command: tuple[Any, ...], *, wait: bool) -> Any:
        node = self._cluster.get_node_from_key(key) if self._cluster is not None else None
        name = node.name if node is not None else "master"
        wait = wait and self._alone_until.get(name, 0.0) < time.monotonic()
        commands = [command, ("WAIT", self._wait, WAIT_MS)] if wait else [command]
        if node is None:
            replies = await self._master_pipeline(commands)
        else:
            replies = await self._node_pipeline(node, commands)
        result = replies[0]
        if isinstance(result, MovedError) and self._cluster is not None:
            await self._cluster.nodes_manager.move_slot(result)  # the retry goes to the new owner
        if isinstance(result, BaseException):
            raise result
        if wait:
            acked = replies[1]
            if isinstance(acked, BaseException):
                raise acked
            if int(acked) < self._wait:
                if await self._replicas(node) == 0:
                    self._alone_until[name] = time.monotonic() + ALONE_RECHECK
                    return result
                raise NotReplicatedError(f"no replica acknowledged a write within {WAIT_MS} ms")
        return result

    async def _node_pipeline(self, node: ClusterNode, commands: list[tuple[Any, ...]]) -> list[Any]:
        try:
            return await self._cluster_pipeline(node, commands)
        except (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError):
            # As the cluster client does on a lost node: fresh connections, and the slot map
            # read again before the retry (the store's loop calls initialize()).
            assert self._cluster is not None
            node.update_active_connections_for_reconnect()
            await node.disconnect_free_connections()
            self._cluster._initialize = True  # redis-py has no public switch
            raise

    async def _replicas(self, node: ClusterNode | None) -> int:
        """How many replicas the master (of ``node``'s slots) has connected now."""
        args = ("INFO", "replication")
        if node is not None:
            info = await node.execute_command(*args)
        else:
            info = await self._client.execute_command(*args)
        return int(info.get("connected_slaves", 0)) if isinstance(info, dict) else 0

    async def _master_pipeline(self, commands: list[tuple[Any, ...]]) -> list[Any]:
        assert isinstance(self._client, Redis)
        pipe = self._client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
        return replies

    @staticmethod
    async def _cluster_pipeline(node: ClusterNode, commands: list[tuple[Any, ...]]) -> list[Any]:
        """``commands`` on one connection to ``node``; error replies are returned, not raised (the
        replies after one must still be read off the connection)."""
        connection = node.acquire_connection()
        try:
            # hiredis packs in C what redis-py's pack_commands packs argument by argument in
            # Python (a create is ~55 arguments): the same bytes for str, bytes and int.
            await connection.send_packed_command(b"".join(map(_pack, commands)))
            replies: list[Any] = []
            for command in commands:
                try:
                    replies.append(await node.parse_response(connection, command[0]))
                except ResponseError as exc:
                    replies.append(exc)
            return replies
        except BaseException:
            await connection.disconnect()
            raise
        finally:
            node.release(connection)
