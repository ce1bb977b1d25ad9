"""Running one load shape (saturated or at a fixed rate) with N wallets, and what it reports:
latency percentiles, CPU per flow (server, Redis, generator), Redis commands and bytes."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from typing import Any

from redis_stats import RedisStats  # bench/redis_stats.py (bench/ is on sys.path)

from loadgen.client import Connection, HTTPError
from loadgen.processes import CLK_TCK, Server, cpu_times, machine_busy, rss_bytes
from loadgen.units import PROBE_EVERY
from loadgen.wallet import Prebuilt, Stats, Wallet


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "n": len(ordered),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 2),
        "p50_ms": pick(0.50),
        "p95_ms": pick(0.95),
        "p99_ms": pick(0.99),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


async def probing(end: float, probe: Callable[[], float] | None, units: list[float]) -> None:
    """Sleep until the loop's time ``end``, with a ``probe`` every :data:`PROBE_EVERY` seconds
    (its results appended to ``units``)."""
    loop = asyncio.get_running_loop()
    while probe is not None and loop.time() + PROBE_EVERY < end:
        await asyncio.sleep(PROBE_EVERY)
        units.append(probe())
    await asyncio.sleep(max(0.0, end - loop.time()))


async def drive(
    pre: Prebuilt,
    port: int,
    *,
    wallets: int,
    rate: float,
    warmup: float,
    duration: float,
    sample: Callable[[], dict[str, float]],
    probe: Callable[[], float] | None = None,
) -> dict[str, Any]:
    """Run one load shape; ``sample`` reads server-side counters at the window's edges;
    ``probe`` (an ES256 verification's cost, see :func:`es256_probe`) runs every
    :data:`PROBE_EVERY` seconds inside the window."""
    stats = Stats()
    pool = []
    for _ in range(wallets):
        rp = await Connection.open("127.0.0.1", port)
        wallet = await Connection.open("127.0.0.1", port)
        pool.append(Wallet(pre, rp, wallet, stats))
    loop = asyncio.get_running_loop()
    start = loop.time()
    stop_at = start + warmup + duration
    queue: asyncio.Queue[float] = asyncio.Queue()

    async def closed(wallet: Wallet) -> None:
        while loop.time() < stop_at:
            await run(wallet, time.perf_counter())

    async def open_loop(wallet: Wallet) -> None:
        while True:
            scheduled = await queue.get()
            if scheduled < 0:
                return
            await run(wallet, scheduled)

    async def run(wallet: Wallet, scheduled: float) -> None:
        try:
            await wallet.flow(scheduled)
        except (HTTPError, KeyError, ValueError) as exc:
            if stats.recording:
                stats.error(str(exc)[:80])

    async def schedule() -> None:
        interval, k = 1.0 / rate, 0
        origin = time.perf_counter()
        while loop.time() < stop_at:
            due = origin + k * interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait(due)
            k += 1
        for _ in pool:
            queue.put_nowait(-1.0)

    units: list[float] = []

    async def window() -> dict[str, float]:
        await asyncio.sleep(warmup)
        stats.recording = True
        before = sample()
        await probing(loop.time() + duration, probe, units)
        stats.recording = False
        after = sample()
        return {k: after.get(k, 0.0) - before[k] for k in before} | {"rss": after["rss"]}

    tasks = [asyncio.ensure_future(closed(w) if rate <= 0 else open_loop(w)) for w in pool]
    if rate > 0:
        tasks.append(asyncio.ensure_future(schedule()))
    counters = await window()
    await asyncio.gather(*tasks)
    for member in pool:
        member.rp.close()
        member.wallet.close()
    return summary(stats, counters, wallets, rate, units)


def summary(
    stats: Stats, counters: dict[str, float], wallets: int, rate: float, units: list[float]
) -> dict[str, Any]:
    flows = len(stats.flows)
    elapsed = counters["wall"]

    def per_flow(value: float) -> float | None:
        return round(value / flows, 6) if flows else None

    return {
        "shape": "saturated" if rate <= 0 else "at-rate",
        "wallets": wallets,
        "offered_rate": rate if rate > 0 else None,
        "window_s": round(elapsed, 2),
        "flows": flows,
        "flows_per_s": round(flows / elapsed, 1),
        "errors": stats.errors,
        "flow": percentiles(stats.flows),
        "steps": {name: percentiles(values) for name, values in stats.steps.items()},
        "server_cpu_s_per_flow": per_flow(counters["server_cpu"]),
        # of which in the kernel (system calls: sockets, SQLite's locks and writes)
        "server_sys_cpu_s_per_flow": per_flow(counters["server_sys_cpu"]),
        "redis_cpu_s_per_flow": per_flow(counters["redis_cpu"]),
        "client_cpu_s_per_flow": per_flow(counters["client_cpu"]),
        "server_cpu_cores": round(counters["server_cpu"] / elapsed, 2),
        "redis_cpu_cores": round(counters["redis_cpu"] / elapsed, 2),
        "client_cpu_cores": round(counters["client_cpu"] / elapsed, 2),
        "machine_busy": round(counters["busy"] / counters["jiffies"], 3),
        # Everything else on the machine (other processes, the kernel's own work).
        "other_cpu_cores": round(
            (
                counters["busy"] / CLK_TCK
                - counters["server_cpu"]
                - counters["redis_cpu"]
                - counters["client_cpu"]
            )
            / elapsed,
            2,
        ),
        "server_rss_mb": round(counters["rss"] / 2**20, 1),
        **redis_per_flow(counters, flows),
        "server_cpu_cores_per_process": sorted(
            (round(v / elapsed, 2) for k, v in counters.items() if k.startswith("cpu:")),
            reverse=True,
        ),
        # the unit's probes inside the window (es256_probe); their median is the run's unit
        **(
            {"es256_verify_us_in_window": round(statistics.median(units), 1)}
            | {"es256_probes_in_window": len(units)}
            if units
            else {}
        ),
    }


def redis_per_flow(counters: dict[str, float], flows: int) -> dict[str, Any]:
    """Redis commands and network bytes per flow (empty without Redis)."""
    if "redis_cmds" not in counters or not flows:
        return {}
    by_name = {k[4:]: v / flows for k, v in counters.items() if k.startswith("cmd:") and v}
    return {
        "redis_commands_per_flow": round(counters["redis_cmds"] / flows, 2),
        "redis_master_cpu_s_per_flow": round(counters["redis_cpu_masters"] / flows, 6),
        "redis_commands_by_name_per_flow": {
            k: round(v, 2) for k, v in sorted(by_name.items(), key=lambda kv: -kv[1])
        },
        "redis_net_in_bytes_per_flow": round(counters["redis_net_in"] / flows),
        "redis_net_out_bytes_per_flow": round(counters["redis_net_out"] / flows),
    }


def sampler(server: Server, redis_stats: RedisStats | None) -> Callable[[], dict[str, float]]:
    def sample() -> dict[str, float]:
        pids = server.pids()
        busy, total = machine_busy()
        times = cpu_times(pids)
        return {
            "wall": time.perf_counter(),
            "server_cpu": sum(user + system for user, system in times.values()),
            "server_sys_cpu": sum(system for _, system in times.values()),
            "redis_cpu": 0.0,
            # Redis CPU (every data node), commands and network bytes (masters)
            **(redis_stats.sample() if redis_stats is not None else {}),
            "client_cpu": time.process_time(),
            "busy": busy,
            "jiffies": total,
            "rss": rss_bytes(pids),
            **{f"cpu:{pid}": user + system for pid, (user, system) in times.items()},
        }

    return sample
