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
