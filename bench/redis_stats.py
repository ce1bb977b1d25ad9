"""What a store URL's Redis does for the load benchmark: CPU, commands, network bytes, memory kept.

Works on every Redis form the verifier accepts: ``redis://`` (one server), ``redis+cluster://``
(every node of the cluster) and ``redis+sentinel://`` (the master and its replicas). Counters
are read from ``INFO`` (``cpu``, ``commandstats``, ``stats``); "kept" is ``MEMORY USAGE`` summed
over a key prefix, grouped by the key kind (``tx``, ``req``, ``op``, ...).

    python bench/redis_stats.py redis+cluster://127.0.0.1:7000 agentvp:   # kept bytes by kind
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

import redis

from verifier.store.redis_urls import parse_ha_url


def _nodes(url: str) -> tuple[list[redis.Redis], list[redis.Redis]]:
    """(masters, all data nodes) as plain clients."""
    scheme = url.partition("://")[0].lower()
    if scheme in {"redis", "rediss"}:
        client = redis.Redis.from_url(url, decode_responses=True)
        return [client], [client]
    target = parse_ha_url(url)
    auth: dict[str, Any] = {"username": target.username, "password": target.password}
    if target.mode == "cluster":
        host, port = target.nodes[0]
        cluster = redis.RedisCluster(host=host, port=port, decode_responses=True, **auth)
        every = [
            redis.Redis(host=n.host, port=n.port, decode_responses=True, **auth)
            for n in cluster.get_nodes()
        ]
        masters = [
            redis.Redis(host=n.host, port=n.port, decode_responses=True, **auth)
            for n in cluster.get_primaries()
        ]
        cluster.close()
        return masters, every
    sentinel = redis.Sentinel(list(target.nodes))
    host, port = sentinel.discover_master(target.service)
    master = redis.Redis(host=host, port=port, db=target.db, decode_responses=True, **auth)
    replicas = [
        redis.Redis(host=h, port=p, decode_responses=True, **auth)
        for h, p in sentinel.discover_slaves(target.service)
    ]
    return [master], [master, *replicas]


def _same(a: redis.Redis, b: redis.Redis) -> bool:
    one, two = a.connection_pool.connection_kwargs, b.connection_pool.connection_kwargs
    return (one.get("host"), one.get("port")) == (two.get("host"), two.get("port"))


class RedisStats:
    """Counters of one store URL's Redis data nodes, for before/after differences."""

    def __init__(self, url: str) -> None:
        self.masters, self.every = _nodes(url)

    def sample(self) -> dict[str, float]:
        """Cumulative counters: ``redis_cpu`` (every data node, s), ``redis_cpu_masters``,
        ``redis_net_in``/``redis_net_out`` (masters, bytes), ``redis_cmds`` and ``cmd:<name>``
        (commands executed on masters: a script's ``EVALSHA`` and every command it runs; INFO
        has no count of client round trips)."""
        out: dict[str, float] = {"redis_cpu": 0.0, "redis_net_in": 0.0, "redis_net_out": 0.0}
        calls: Counter[str] = Counter()
        out["redis_cpu_masters"] = 0.0
        masters = {id(node) for node in self.masters}
        for node in self.every:
            cpu = node.info("cpu")
            used = float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])
            out["redis_cpu"] += used
            if id(node) in masters or any(_same(node, m) for m in self.masters):
                out["redis_cpu_masters"] += used
        for node in self.masters:
            stats = node.info("stats")
            out["redis_net_in"] += float(stats["total_net_input_bytes"])
            out["redis_net_out"] += float(stats["total_net_output_bytes"])
            for name, value in node.info("commandstats").items():
                calls[name.removeprefix("cmdstat_")] += int(value["calls"])
        out["redis_cmds"] = float(sum(calls.values()))
        out.update({f"cmd:{name}": float(n) for name, n in calls.items()})
        return out

    def used_memory(self) -> int:
        return sum(int(node.info("memory")["used_memory"]) for node in self.masters)

    def kept(self, prefix: str) -> dict[str, Any]:
        """Keys under ``prefix`` and their ``MEMORY USAGE``, by kind (the part before ``:``)."""
        keys: Counter[str] = Counter()
        size: Counter[str] = Counter()
        for node in self.masters:
            for key in node.scan_iter(match=f"{prefix}*", count=1000):
                kind = key[len(prefix) :].split(":", 1)[0]
                keys[kind] += 1
                size[kind] += int(node.memory_usage(key, samples=0) or 0)
        return {"keys": dict(keys), "bytes": dict(size), "total_bytes": sum(size.values())}

    def close(self) -> None:
        for node in {id(n): n for n in self.every}.values():
            node.close()


if __name__ == "__main__":
    stats = RedisStats(sys.argv[1])
    print(stats.kept(sys.argv[2] if len(sys.argv) > 2 else "agentvp:"))
    stats.close()
