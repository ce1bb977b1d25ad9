"""``bench/triples.py``: the logged ``bench/load.py --repeat 3`` triples read back, judged on
issue 20's targets and counted, in the order they were taken."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.bench_modules import load_bench


def _load() -> ModuleType:
    return load_bench("triples")


def _sat(config: str, units: float) -> str:
    return (
        f"  {config:<9} saturated   600.0 flows/s  flow p50/p95/p99 1/2/3 ms  server 0.0016 "
        f"s/flow (system 0.0001) = {units} ES256-verify units of 65.0 us (after the window "
        "63.0 us) (0.98 cores)"
    )


def _log(
    folder: Path,
    name: str,
    first: str,
    runs: list[float],
    medians: dict[str, tuple[float, float]] | None,
) -> Path:
    lines = [first, "machine: AMD EPYC, 2 cores"]
    for number, units in enumerate(runs, 1):
        lines += [f"run {number} of {len(runs)}", _sat("sqlite", units), _sat("redis", 99.0)]
    if medians is not None:
        table = {
            config: {
                "runs": len(runs),
                "server_units": units,
                "server_ms": 1.6,
                "p99_at_rate_ms": p99,
            }
            for config, (units, p99) in medians.items()
        }
        lines.append(f"medians of {len(runs)} runs: {json.dumps(table)}")
    path = folder / f"{name}.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


HEADER = "# bench/load.py --name {0} --repeat 3   (commit {1}, started {2} UTC, load average {3})"


def test_a_triple_is_read_with_its_commit_time_runs_and_medians(tmp_path: Path) -> None:
    triples = _load()
    path = _log(
        tmp_path,
        "load-2026-12-06-h",
        HEADER.format("load-2026-12-06-h", "27ef31c0", "06:53", "0.29"),
        [24.3, 21.1, 22.8],
        {"sqlite": (22.8, 11.94), "redis": (24.8, 8.52), "redis-2w": (32.3, 17.79)},
    )
    triple = triples.read_triple(path)
    assert triple is not None
    assert (triple.commit, triple.started, triple.load) == ("27ef31c", "06:53", "0.29")
    assert triple.units == 22.8 and triple.unit_runs == (24.3, 21.1, 22.8)
    assert triple.p99 == {"sqlite": 11.94, "redis": 8.52, "redis-2w": 17.79}
    assert triple.units_met and triple.p99_met


def test_each_target_is_missed_on_its_own(tmp_path: Path) -> None:
    triples = _load()
    over_units = _log(tmp_path, "load-x", "# commit abcdef1", [24.1], {"sqlite": (24.1, 10.0)})
    slow_redis = _log(
        tmp_path,
        "load-y",
        "# commit abcdef1",
        [23.0],
        {"sqlite": (23.0, 10.0), "redis": (30.0, 50.0)},  # 50 ms is not under 50 ms
    )
    first, second = triples.read_triple(over_units), triples.read_triple(slow_redis)
    assert first is not None and second is not None
    assert not first.units_met and first.p99_met
    assert second.units_met and not second.p99_met
    lines = triples.summary([first, second])
    assert lines[1].startswith("server CPU per flow <= 24 units") and "met in 1;" in lines[1]
    assert "median of their medians 23.55" in lines[1]
    assert lines[2].endswith("met in 1") and lines[3] == "both: 0"


def test_a_log_without_medians_is_not_a_triple(tmp_path: Path) -> None:
    path = _log(tmp_path, "load-single", "# commit abcdef1", [23.0], None)
    assert _load().read_triple(path) is None


def test_rows_follow_the_order_taken_and_from_starts_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    triples = _load()
    # z was taken first that day (00:21), a and b after it: the name order is not the order.
    for name, time, units in (("a", "01:28", 23.0), ("b", "01:41", 25.0), ("z", "00:21", 22.0)):
        full = f"load-2026-12-06-{name}"
        _log(
            tmp_path,
            full,
            HEADER.format(full, "1234567", time, "0.1"),
            [units],
            {"sqlite": (units, 10.0)},
        )
    _log(tmp_path, "load-2026-12-05-q", "# commit 7654321", [27.6], {"sqlite": (27.6, 60.0)})
    _log(tmp_path, "load-run1", "# commit 7654321", [23.0], None)
    assert triples.main(["--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = [line.split(" | ")[0].lstrip("| ") for line in out.splitlines() if "| load-" in line]
    assert rows == [
        "load-2026-12-05-q",
        "load-2026-12-06-z",
        "load-2026-12-06-a",
        "load-2026-12-06-b",
    ]
    assert "4 triples" in out and "met in 2;" in out and "not triples" in out
    assert triples.main(["--results", str(tmp_path), "--from", "load-2026-12-06-a"]) == 0
    out = capsys.readouterr().out
    assert "2 triples" in out and "load-2026-12-06-z |" not in out
    with pytest.raises(SystemExit):
        triples.main(["--results", str(tmp_path), "--from", "load-nope"])
