"""``bench/app_flow.py --gap-ms``: the idle time goes before each request and outside the CPU
time it sums; without the option nothing sleeps. ``--store``: the URL opens the store named.
A run removes the data directory it made."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.bench_modules import load_bench
from verifier.store import MemoryStore, SQLiteStore, open_store


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


@pytest.mark.parametrize("gap", [0.0, 0.004])
def test_the_gap_idles_before_each_request_and_is_not_timed(
    gap: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_flow = load_bench("app_flow")
    events: list[tuple[str, float]] = []
    clock = iter(range(0, 10_000, 10))
    monkeypatch.setattr(app_flow.time, "sleep", lambda s: events.append(("sleep", s)))
    monkeypatch.setattr(
        app_flow.time, "thread_time_ns", lambda: events.append(("t", 0)) or next(clock)
    )
    spent: dict[str, int] = {}
    conn = app_flow.Connection(_ok, spent, gap)
    for _ in range(2):
        assert asyncio.run(conn.request("POST", "/wallet/request/abc", b"x=1")) == (200, b"{}")
    once = [("sleep", gap), ("t", 0), ("t", 0)] if gap else [("t", 0), ("t", 0)]
    assert events == once * 2
    assert spent == {"POST /wallet/request": 20}  # 10 ns a request: the stub clock's step


def test_the_store_option_names_a_store_the_app_accepts(tmp_path: Path) -> None:
    app_flow = load_bench("app_flow")
    assert app_flow.store_url("sqlite", tmp_path) == f"sqlite:///{tmp_path}/store.db"
    assert app_flow.store_url("memory", tmp_path) == "memory://"
    for store, kind in (("sqlite", SQLiteStore), ("memory", MemoryStore)):
        opened = open_store(app_flow.store_url(store, tmp_path))  # as create_app opens it
        try:
            assert isinstance(opened, kind)
        finally:
            asyncio.run(opened.close())
    assert (tmp_path / "store.db").is_file()  # the SQLite file where the URL says


def test_a_run_leaves_no_data_directory_behind(tmp_path: Path) -> None:
    """The run's data directory, store and log are removed when it ends."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env = {k: v for k, v in env.items() if not k.startswith("AGENTVP_")}
    bench = Path(__file__).resolve().parents[2] / "bench" / "app_flow.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--flows", "3", "--warmup", "1", "--store", "memory"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "app_cpu_per_flow_us=" in done.stdout  # the flows ran, in a directory under TMPDIR
    assert list(tmp_path.iterdir()) == []


class _Works:
    """A layer that spends ``cost`` ticks of the stub clock, then calls the app inside."""

    def __init__(self, app: Any, clock: list[int], cost: int) -> None:
        self.app, self.clock, self.cost = app, clock, cost

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.clock[0] += self.cost
        await self.app(scope, receive, send)


def test_the_layers_own_times_leave_out_the_timing_and_keep_the_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--layers``: every read of the clock costs 10 ticks here, as a wrapper's reads cost
    real time; a layer's own figure is then its work alone (0 for a layer that does none)."""
    app_flow = load_bench("app_flow")
    clock = [0]

    def read() -> int:
        clock[0] += 10
        return clock[0]

    monkeypatch.setattr(app_flow.time, "thread_time_ns", read)
    whole, inside = app_flow.wrapper_cost(calls=50, rounds=3)
    assert (whole, inside) == (20, 10)  # two reads around the inner window, one inside it

    spent: dict[str, int] = {}
    calls: dict[str, int] = {}
    endpoint = _Works(app_flow._nothing, clock, 7)
    inner = app_flow.Timed(_Works(endpoint, clock, 0), "2 idle", spent, calls)
    outer = app_flow.Timed(_Works(inner, clock, 5), "1 busy", spent, calls)

    async def three() -> None:
        for _ in range(3):
            await outer({}, None, None)

    asyncio.run(three())
    assert calls == {"1 busy": 3, "2 idle": 3}
    owns = app_flow.layer_owns(["1 busy", "2 idle", "3 never"], spent, calls, whole, inside)
    assert owns == [("1 busy", 15), ("2 idle and the endpoints", 21)]
