"""What a load run prints and draws: one line per run, the machine it ran on, the chart."""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from repeats import TARGET_P99_MS  # bench/repeats.py

from loadgen.wallet import STEPS

TARGET_FLOWS = 300.0


def report(name: str, run: dict[str, Any]) -> None:
    steps = " ".join(f"{s}={run['steps'][s].get('p99_ms')}" for s in STEPS)
    print(
        f"  {name:<9} {run['shape']:<9} {run['flows_per_s']:>7.1f} flows/s  "
        f"flow p50/p95/p99 {run['flow'].get('p50_ms')}/{run['flow'].get('p95_ms')}/"
        f"{run['flow'].get('p99_ms')} ms  step p99 {steps}  server {run['server_cpu_s_per_flow']}"
        f" s/flow (system {run.get('server_sys_cpu_s_per_flow')})"
        f" = {run.get('server_cpu_es256_units_per_flow')} ES256-verify units of"
        f" {run['es256_verify_us']} us (after the window {run['es256_verify_us_after_window']}"
        f" us) ({run['server_cpu_cores']} cores)"
        f" client {run['client_cpu_cores']} cores  "
        f"rss {run['server_rss_mb']} MB  errors {sum(run['errors'].values())}",
        flush=True,
    )


def machine() -> dict[str, Any]:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
    versions: dict[str, str | None] = {}
    for dist in ("uvicorn", "uvloop", "httptools", "fastapi", "redis", "cryptography"):
        try:
            versions[dist] = package_version(dist)
        except PackageNotFoundError:
            versions[dist] = None
    redis_version = None
    binary = shutil.which("redis-server")
    if binary:
        redis_version = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gib": round(int(mem) / 2**20, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "packages": versions,
        "redis_server": redis_version,
    }


def chart_missing() -> str | None:
    """Why no chart can be drawn, or None. Asked before a run, so that minutes of measuring do
    not end in an ImportError: matplotlib comes with the ``bench`` extra, not with ``make test``."""
    if importlib.util.find_spec("matplotlib") is None:
        return (
            "no chart: matplotlib is not installed (pip install -e '.[bench]', or make bench-load)"
        )
    return None


def chart(results: dict[str, Any], path: Path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    runs = results["configurations"]
    repeated = results["args"].get("repeat", 1) > 1
    names = [f"{r['config']} #{r['repeat']}" if repeated else r["config"] for r in runs]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    ax = axes[0]
    ax.bar(names, [r["saturated"]["flows_per_s"] for r in runs], color="#3b6ea5")
    ax.axhline(TARGET_FLOWS, color="#c0392b", linestyle="--", label="target 300 flows/s")
    ax.set_title(f"Saturated throughput ({results['args']['wallets']} wallets)")
    ax.set_ylabel("flows/s")
    ax.legend()
    ax = axes[1]
    width = 0.8 / len(STEPS)
    for i, step in enumerate(STEPS):
        values = [r.get("at_rate", r["saturated"])["steps"][step].get("p99_ms", 0) for r in runs]
        ax.bar([x + i * width for x in range(len(runs))], values, width, label=step)
    ax.axhline(TARGET_P99_MS, color="#c0392b", linestyle="--", label="target p99 50 ms")
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(runs))], names)
    rate = results["args"]["rate"]
    ax.set_title(f"p99 per step at {rate:g} flows/s offered")
    ax.set_ylabel("ms")
    ax.legend(fontsize=8)
    ax = axes[2]
    for scaling in results.get("scaling", []):
        levels = [row["pending"] for row in scaling["levels"]]
        ax.plot(
            levels,
            [row["flows_per_s"] for row in scaling["levels"]],
            marker="o",
            label=scaling["store"],
        )
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_title("Saturated throughput vs pending transactions")
    ax.set_xlabel("pending transactions")
    ax.set_ylabel("flows/s")
    if results.get("scaling"):  # --skip-scaling: an empty panel, and no legend to draw
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
