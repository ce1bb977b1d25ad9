"""Medians of repeated ``bench/load.py`` runs (``--repeat N``), and issue 20's server targets
judged on them, as its "Done when" asks: three runs, the median of each figure.

Each figure's median is taken on its own over the runs of one configuration (the run with the
median throughput need not be the run with the median p99). The ES256 unit of a run is its own:
server CPU per flow in units is divided run by run, then the median taken.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["TARGET_P99_MS", "TARGET_UNITS", "medians", "verdict"]

TARGET_UNITS = 24.0  # server CPU per saturated flow, SQLite, one worker (issue 20)
TARGET_P99_MS = 50.0  # flow p99 at the offered rate, every configuration
UNIT_CONFIG = "sqlite"  # the configuration the unit target is about


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present else None


def _after_window_units(run: Mapping[str, Any]) -> float | None:
    unit = run.get("es256_verify_us_after_window")
    return run["server_cpu_s_per_flow"] * 1e6 / unit if unit else None


def medians(entries: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per configuration name (in first-seen order): how many runs, and the median of the
    saturated flows/s, server CPU per flow (units in-window and after the window, and ms) and
    the flow p99 at the offered rate (None without at-rate runs)."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for entry in entries:
        grouped.setdefault(entry["config"], []).append(entry)
    out: dict[str, dict[str, Any]] = {}
    for name, runs in grouped.items():
        saturated = [r["saturated"] for r in runs]
        at_rate = [r["at_rate"] for r in runs if "at_rate" in r]
        out[name] = {
            "runs": len(runs),
            "saturated_flows_per_s": _median(s["flows_per_s"] for s in saturated),
            "server_units": _median(s.get("server_cpu_es256_units_per_flow") for s in saturated),
            "server_units_after_window": _median(_after_window_units(s) for s in saturated),
            "server_ms": _median(s["server_cpu_s_per_flow"] * 1000 for s in saturated),
            "p99_at_rate_ms": _median(a["flow"].get("p99_ms") for a in at_rate),
        }
    return out


def verdict(table: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per target: the median it is judged on and whether it is met (the unit target
    on the in-window unit, with the unit measured after the window beside it)."""
    lines = []
    sqlite = table.get(UNIT_CONFIG)
    if sqlite is not None and sqlite["server_units"] is not None:
        units = sqlite["server_units"]
        met = "met" if units <= TARGET_UNITS else "NOT met"
        after = sqlite["server_units_after_window"]
        aside = f"; {after:.1f} with the unit after the window" if after is not None else ""
        lines.append(
            f"server CPU per flow, {UNIT_CONFIG} 1 worker: median {units:.1f} ES256 units "
            f"({sqlite['server_ms']:.3f} ms{aside}) over {sqlite['runs']} runs, target <= "
            f"{TARGET_UNITS:g}: {met}"
        )
    for name, row in table.items():
        p99 = row["p99_at_rate_ms"]
        if p99 is None:
            continue
        met = "met" if p99 < TARGET_P99_MS else "NOT met"
        lines.append(
            f"flow p99 at the offered rate, {name}: median {p99:.2f} ms over {row['runs']} "
            f"runs, target < {TARGET_P99_MS:g} ms: {met}"
        )
    return lines
