"""The configurations a load run measures and the runner that sets each up: its store (a
fresh SQLite file, the local ``redis-server``, or ``--store-url``), its server, its two load
shapes, what Redis kept, the optional profile and the pending-transaction scaling."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis_stats import RedisStats  # bench/redis_stats.py (bench/ is on sys.path)

from loadgen.drive import drive, sampler
from loadgen.processes import RedisServer, Server, free_port, wait_quiet
from loadgen.profiles import summarise_profile
from loadgen.report import report
from loadgen.units import es256_probe, es256_unit_us
from loadgen.wallet import prebuild
from verifier.setup.data_dir import init_data_dir

ROOT = Path(__file__).resolve().parents[2]  # the repository (this is bench/loadgen/bench.py)
RESULTS = ROOT / "bench" / "results"


async def preload(data_dir: Path, store_url: str, count: int) -> float:
    """``count`` pending transactions, created by ``PresentationService.create``; seconds."""
    from verifier.app import build_service  # noqa: PLC0415
    from verifier.presentations.create import CreatePresentation  # noqa: PLC0415
    from verifier.settings import Settings  # noqa: PLC0415

    service = build_service(Settings(data_dir=data_dir, store_url=store_url))
    spec = CreatePresentation(profile="identity")
    start = time.perf_counter()
    try:
        done = 0
        while done < count:
            batch = min(256, count - done)
            await asyncio.gather(*(service.create(spec) for _ in range(batch)))
            done += batch
    finally:
        await service.close()
    return time.perf_counter() - start


@dataclass(frozen=True)
class Config:
    name: str
    store: str  # "sqlite" | "redis"
    workers: int


CONFIGS = {
    "sqlite": Config("sqlite", "sqlite", 1),
    "redis": Config("redis", "redis", 1),
    "redis-2w": Config("redis-2w", "redis", 2),
}


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.port = free_port()
        self.data_dir = workdir / "verifier"
        api_key = init_data_dir(self.data_dir, public_url=f"http://127.0.0.1:{self.port}")[
            "api_key"
        ]
        os.environ["AGENTVP_DATA_DIR"] = str(self.data_dir)  # Settings() in this process
        os.environ["AGENTVP_CONFIG"] = str(self.data_dir / "config.yaml")
        self.pre = prebuild(self.data_dir, api_key)
        self.redis: RedisServer | None = None
        self.db_counter = 0
        # --store-url: the Redis configurations run on that Redis (a cluster, Sentinel, ...)
        self.external = RedisStats(args.store_url) if args.store_url else None
        self.prefix = ""  # the key prefix of the current external run
        self.probe = es256_probe()

    def redis_stats(self, config: Config) -> RedisStats | None:
        if config.store != "redis":
            return None
        if self.external is not None and not config.name.endswith("-scaling"):
            return self.external
        return self.redis.stats if self.redis is not None else None

    def store_url(self, config: Config) -> str:
        self.db_counter += 1
        if config.store == "sqlite":
            return f"sqlite:///{self.workdir / f'store-{self.db_counter}.db'}"
        if self.external is not None and not config.name.endswith("-scaling"):
            # A fresh key prefix per run: nothing on a shared cluster is ever flushed.
            self.prefix = f"bench{int(time.time())}x{self.db_counter}:"
            url: str = self.args.store_url
            if "+cluster://" in url or "+sentinel://" in url:
                return f"{url}{'&' if '?' in url else '?'}prefix={self.prefix}"
            self.prefix = "agentvp:"  # redis:// has no prefix option: give it an empty db
            return url
        if self.redis is None:
            self.redis = RedisServer(self.workdir)
        self.redis.client.flushall()  # one server, emptied before every run
        return self.redis.url(0)

    def serve(self, config: Config, store_url: str) -> Server:
        return Server(self.data_dir, self.port, store_url, config.workers)

    def shape(self, server: Server, config: Config, rate: float, duration: float) -> dict[str, Any]:
        redis_stats = self.redis_stats(config)
        idle = wait_quiet(self.args.wait_quiet) if self.args.wait_quiet > 0 else None
        run: dict[str, Any] = asyncio.run(
            drive(
                self.pre,
                self.port,
                wallets=self.args.wallets,
                rate=rate,
                warmup=self.args.warmup,
                duration=duration,
                sample=sampler(server, redis_stats),
                probe=self.probe,
            )
        )
        run["machine_busy_before"] = idle
        # The unit: the median of the probes inside the window, taken while the server ran
        # (the host's speed moves by a third within minutes); the same measured right after
        # the window, as rounds up to 10 did, is kept for comparison.
        run["es256_verify_us_after_window"] = round(es256_unit_us(), 1)
        run["es256_verify_us"] = run.get(
            "es256_verify_us_in_window", run["es256_verify_us_after_window"]
        )
        if run["server_cpu_s_per_flow"] is not None:
            run["server_cpu_es256_units_per_flow"] = round(
                run["server_cpu_s_per_flow"] * 1e6 / run["es256_verify_us"], 1
            )
        return run

    def configuration(self, config: Config) -> dict[str, Any]:
        store_url = self.store_url(config)
        server = self.serve(config, store_url)
        spy = self.profile(server, config) if self.args.profile else None
        try:
            out: dict[str, Any] = {"config": config.name, "store": config.store}
            out["workers"] = config.workers
            out["saturated"] = self.shape(server, config, 0, self.args.duration)
            report(config.name, out["saturated"])
            if self.args.rate > 0:
                out["at_rate"] = self.shape(server, config, self.args.rate, self.args.duration)
                report(config.name, out["at_rate"])
        finally:
            server.stop()
        if config.store == "redis":
            out["redis_kept"] = self.kept(config)
            print(f"  kept {config.name}: {json.dumps(out['redis_kept'])}", flush=True)
        if spy is not None:
            spy[0].wait()
            out["profile"] = summarise_profile(spy[1])
            print(f"  profile {config.name}: {json.dumps(out['profile'])}", flush=True)
        return out

    def kept(self, config: Config) -> dict[str, Any]:
        """Redis memory the run left behind (MEMORY USAGE by key kind), per stored transaction."""
        stats = self.redis_stats(config)
        if stats is None:
            return {}
        kept = stats.kept(self.prefix if self.external is not None else "agentvp:")
        flows = kept["keys"].get("tx", 0)
        if flows:
            kept["bytes_per_tx"] = round(kept["total_bytes"] / flows)
            kept["bytes_per_tx_by_kind"] = {k: round(v / flows) for k, v in kept["bytes"].items()}
        return kept

    def profile(self, server: Server, config: Config) -> tuple[subprocess.Popen[bytes], Path]:
        """py-spy on every server process for the saturated window (collapsed stacks)."""
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.args.name}-{config.name}.pyspy.txt"
        argv = [str(Path(sys.executable).parent / "py-spy"), "record", "--subprocesses"]
        argv += ["-p", str(server.proc.pid), "-r", "100", "-f", "raw", "-o", str(path)]
        # --native: the compiled protocol modules are C functions, invisible to a Python-only
        # stack (their time would land on the Python caller). Native unwinding pauses the
        # process per sample, so a profiled run's flows/s are not comparable with others.
        argv += ["-d", str(int(self.args.warmup + self.args.duration)), "--native"]
        spy = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return spy, path

    def scaling(self, store: str, levels: list[int]) -> dict[str, Any]:
        config = Config(f"{store}-scaling", store, 1)
        rows = []
        for level in levels:
            store_url = self.store_url(config)
            before = self.redis.used_memory() if store == "redis" and self.redis else 0
            seconds = asyncio.run(preload(self.data_dir, store_url, level))
            row: dict[str, Any] = {"pending": level, "preload_s": round(seconds, 1)}
            if store == "redis" and self.redis is not None:
                grown = self.redis.used_memory() - before
                row["redis_bytes_per_pending_tx"] = round(grown / level)
                row["redis_keys"] = int(self.redis.client.dbsize())
            else:
                files = self.workdir.glob(f"store-{self.db_counter}.db*")
                row["sqlite_bytes_per_pending_tx"] = round(
                    sum(f.stat().st_size for f in files) / level
                )
            server = self.serve(config, store_url)
            try:
                run = self.shape(server, config, 0, self.args.scaling_duration)
            finally:
                server.stop()
            row.update(
                flows_per_s=run["flows_per_s"],
                flow_p99_ms=run["flow"].get("p99_ms"),
                server_cpu_s_per_flow=run["server_cpu_s_per_flow"],
                errors=run["errors"],
            )
            print(f"  {store} pending={level:>7}: {row}", flush=True)
            rows.append(row)
        best = max(r["flows_per_s"] for r in rows)
        worst = min(r["flows_per_s"] for r in rows)
        spread = round(1 - worst / best, 3) if best else None
        return {"store": store, "levels": rows, "spread": spread}

    def close(self) -> None:
        if self.redis is not None:
            self.redis.stop()
        if self.external is not None:
            self.external.close()
