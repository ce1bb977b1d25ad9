"""Every logged triple of ``bench/load.py --repeat 3``, and how many meet issue 20's server
targets: the counts the performance notes quote, from the logs themselves.

A triple is a log in ``bench/results/`` named ``load-*.log`` with the line ``bench/load.py``
prints after its runs (``medians of N runs: {...}``); the logs are the console output of
``bench/load.py --repeat 3`` with a first line saying which commit ran (and, since
2026-12-06, when and at what load average). Each row gives the SQLite one-worker unit median
(and its three runs), the milliseconds a flow, and the p99 at the offered rate of every
configuration; the targets are :mod:`repeats`' (≤ 24 units, p99 < 50 ms on every
configuration). Logs without that line (single runs, older formats) are named at the end and
not counted.

    python bench/triples.py [--from load-2026-12-05-e] [--results bench/results]

Rows are in the order the triples were taken: by the date in the log's name, then the time
its first line gives, then the name. ``--from NAME`` starts the rows and counts at that log.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from repeats import TARGET_P99_MS, TARGET_UNITS, UNIT_CONFIG

__all__ = ["Triple", "read_triple", "summary", "table", "taken_order"]

MEDIANS = re.compile(r"^medians of (\d+) runs: (\{.*\})\s*$", re.MULTILINE)
COMMIT = re.compile(r"commit ([0-9a-f]{7,40})")
STARTED = re.compile(r"(?:started (\d\d:\d\d) UTC|\(\d{4}-\d\d-\d\d (\d\d:\d\d) UTC\))")
LOAD = re.compile(r"load average ([0-9.]+)")
DATE = re.compile(r"\d{4}-\d\d-\d\d")
UNIT_RUN = re.compile(
    rf"^\s*{UNIT_CONFIG}\s+saturated\b.*?= ([0-9.]+) ES256-verify units", re.MULTILINE
)


@dataclass(frozen=True)
class Triple:
    name: str
    commit: str
    started: str  # HH:MM UTC, or "" when the log does not say
    load: str  # the load average at its start, or ""
    units: float | None  # the SQLite one-worker median, in the run's own units
    unit_runs: tuple[float, ...]
    ms: float | None
    p99: dict[str, float]  # configuration -> median p99 at the offered rate (ms)

    @property
    def units_met(self) -> bool:
        return self.units is not None and self.units <= TARGET_UNITS

    @property
    def p99_met(self) -> bool:
        return bool(self.p99) and all(v < TARGET_P99_MS for v in self.p99.values())


def read_triple(path: Path) -> Triple | None:
    """The triple a log holds, or None if it has no medians line (not a ``--repeat`` log)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    found = MEDIANS.findall(text)
    if not found:
        return None
    table: dict[str, Any] = json.loads(found[-1][1])
    first = text.splitlines()[0] if text else ""
    commit, started, load = COMMIT.search(first), STARTED.search(first), LOAD.search(first)
    sqlite = table.get(UNIT_CONFIG) or {}
    p99 = {
        name: float(row["p99_at_rate_ms"])
        for name, row in table.items()
        if row.get("p99_at_rate_ms") is not None
    }
    return Triple(
        name=path.stem,
        commit=commit.group(1)[:7] if commit else "",
        started=next((g for g in started.groups() if g), "") if started else "",
        load=load.group(1) if load else "",
        units=sqlite.get("server_units"),
        unit_runs=tuple(float(u) for u in UNIT_RUN.findall(text)),
        ms=sqlite.get("server_ms"),
        p99=p99,
    )


def taken_order(triple: Triple) -> tuple[str, str, str]:
    """The order triples were taken in: the name's date, the start time, the name."""
    date = DATE.search(triple.name)
    return (date.group(0) if date else "", triple.started, triple.name)


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(triples: list[Triple]) -> list[str]:
    """A Markdown table, one row per triple."""
    configs = list(dict.fromkeys(name for t in triples for name in t.p99))
    head = ["log", "commit", "started", "load", f"{UNIT_CONFIG} units (runs)", "ms a flow"]
    head += [f"p99 {name}" for name in configs] + ["units", "p99"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for t in triples:
        runs = " / ".join(f"{u:.1f}" for u in t.unit_runs)
        row = [t.name, t.commit, t.started, t.load, f"**{_num(t.units, 1)}** ({runs})"]
        row += [_num(t.ms, 3)] + [_num(t.p99.get(name), 2) for name in configs]
        row += ["met" if t.units_met else "missed", "met" if t.p99_met else "missed"]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def summary(triples: list[Triple]) -> list[str]:
    """How many triples meet each target, and the median of their unit medians."""
    if not triples:
        return ["no triples"]
    units = [t.units for t in triples if t.units is not None]
    middle = f"; the median of their medians {statistics.median(units):.2f}" if units else ""
    both = sum(t.units_met and t.p99_met for t in triples)
    return [
        f"{len(triples)} triples",
        f"server CPU per flow <= {TARGET_UNITS:g} units ({UNIT_CONFIG}, 1 worker): met in "
        f"{sum(t.units_met for t in triples)}{middle}",
        f"flow p99 < {TARGET_P99_MS:g} ms on every configuration: met in "
        f"{sum(t.p99_met for t in triples)}",
        f"both: {both}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--from", dest="start", default="", help="the first log's name")
    args = parser.parse_args(argv)
    triples, other = [], []
    for path in sorted(args.results.glob("load-*.log")):
        triple = read_triple(path)
        if triple is None:
            other.append(path.stem)
        else:
            triples.append(triple)
    triples.sort(key=taken_order)
    if args.start:
        names = [t.name for t in triples]
        if args.start not in names:
            parser.error(f"no triple named {args.start!r} in {args.results}")
        triples = triples[names.index(args.start) :]
    print("\n".join(table(triples)))
    print()
    print("\n".join(summary(triples)))
    if other:
        print(f"not triples (no medians line): {', '.join(other)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
