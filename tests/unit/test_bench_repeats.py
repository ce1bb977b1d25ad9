"""``bench/load.py --repeat N``: each figure's median over the runs of one configuration, and
issue 20's server targets judged on those medians (bench/repeats.py)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from tests.bench_modules import load_bench


def _load() -> ModuleType:
    return load_bench("repeats")


def _entry(
    config: str, flows: float, ms: float, unit_us: float, after_us: float, p99: float | None
) -> dict[str, Any]:
    saturated = {
        "flows_per_s": flows,
        "server_cpu_s_per_flow": ms / 1000,
        "es256_verify_us": unit_us,
        "es256_verify_us_after_window": after_us,
        "server_cpu_es256_units_per_flow": round(ms * 1000 / unit_us, 1),
    }
    entry: dict[str, Any] = {"config": config, "saturated": saturated}
    if p99 is not None:
        entry["at_rate"] = {"flow": {"p99_ms": p99}}
    return entry


def test_each_figure_is_its_own_median_per_configuration() -> None:
    repeats = _load()
    entries = [
        _entry("sqlite", 500.0, 2.0, 80.0, 80.0, 30.0),  # 25.0 units
        _entry("redis", 400.0, 2.5, 100.0, 100.0, 20.0),
        _entry("sqlite", 600.0, 1.5, 62.5, 60.0, 12.0),  # 24.0 units
        _entry("redis", 410.0, 2.4, 100.0, 100.0, 60.0),
        _entry("sqlite", 550.0, 1.6, 64.0, 64.0, 80.0),  # 25.0 units
    ]
    table = repeats.medians(entries)
    assert list(table) == ["sqlite", "redis"]
    sqlite = table["sqlite"]
    assert sqlite["runs"] == 3
    assert sqlite["saturated_flows_per_s"] == 550.0
    assert sqlite["server_units"] == 25.0
    assert sqlite["server_ms"] == 1.6
    assert sqlite["server_units_after_window"] == 25.0  # 25.0, 25.0, 25.0
    assert sqlite["p99_at_rate_ms"] == 30.0  # not the p99 of the median-throughput run (80)
    redis = table["redis"]
    assert redis["runs"] == 2 and redis["p99_at_rate_ms"] == 40.0  # even count: the mean of two
    assert redis["saturated_flows_per_s"] == 405.0


def test_the_targets_are_judged_on_the_medians() -> None:
    repeats = _load()
    met = repeats.medians(
        [_entry("sqlite", 600.0, 1.5, 64.0, 64.0, 10.0) for _ in range(3)]
    )  # 23.4 units
    lines = repeats.verdict(met)
    assert len(lines) == 2
    assert "median 23.4 ES256 units (1.500 ms; 23.4 with the unit after the window)" in lines[0]
    assert lines[0].endswith(": met")
    assert "sqlite: median 10.00 ms" in lines[1] and lines[1].endswith(": met")
    missed = repeats.medians(
        [
            _entry("sqlite", 500.0, 2.0, 80.0, 80.0, 49.0),
            _entry("sqlite", 500.0, 2.0, 80.0, 80.0, 50.0),
            _entry("sqlite", 500.0, 2.0, 80.0, 80.0, 51.0),
            _entry("redis-2w", 700.0, 2.0, 80.0, 80.0, None),
        ]
    )
    lines = repeats.verdict(missed)
    assert lines[0].endswith("target <= 24: NOT met")  # 25.0 units
    assert lines[1].endswith("target < 50 ms: NOT met")  # the median p99 is 50.0: not < 50
    assert len(lines) == 2  # redis-2w ran no at-rate window: nothing to judge


def test_no_unit_line_without_the_sqlite_configuration() -> None:
    repeats = _load()
    lines = repeats.verdict(repeats.medians([_entry("redis", 400.0, 2.0, 80.0, 80.0, 20.0)]))
    assert lines == [
        "flow p99 at the offered rate, redis: median 20.00 ms over 1 runs, target < 50 ms: met"
    ]
