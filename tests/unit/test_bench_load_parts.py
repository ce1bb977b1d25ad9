"""bench/load.py's parts (``bench/loadgen/``): results land where the docs say, the
package's docstring names every part there is, and a missing matplotlib is said before the
run rather than raised after it."""

from __future__ import annotations

import importlib.machinery
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tests.bench_modules import load_part

ROOT = Path(__file__).resolve().parents[2]


def test_results_are_written_under_the_repositorys_bench_results() -> None:
    runner = load_part("bench")
    assert runner.ROOT == ROOT
    assert runner.RESULTS == ROOT / "bench" / "results"


def test_the_package_docstring_names_each_part() -> None:
    package = ROOT / "bench" / "loadgen"
    parts = {p.stem for p in package.glob("*.py")} - {"__init__"}
    doc = (package / "__init__.py").read_text(encoding="utf-8")
    named = set(re.findall(r"^- ``(\w+)``", doc, flags=re.MULTILINE))
    assert named == parts
    for part in parts:  # each imports on its own, with bench/ on sys.path
        assert load_part(part).__doc__


def test_a_missing_matplotlib_is_known_before_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    report = load_part("report")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what find_spec reads as not there
    missing = report.chart_missing()
    assert missing is not None
    assert "matplotlib" in missing and "make bench-load" in missing
    present = types.ModuleType("matplotlib")
    present.__spec__ = importlib.machinery.ModuleSpec("matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib", present)
    assert report.chart_missing() is None


def test_the_runner_asks_before_measuring_and_draws_only_if_it_can() -> None:
    source = (ROOT / "bench" / "load.py").read_text(encoding="utf-8")
    main = source[source.index("def main()") :]
    asked = main.index("chart_missing()")
    assert asked < main.index("Bench(args")  # before minutes of measuring, not after
    assert main.index("if no_chart:", asked + 1) < main.index("chart(results")


def test_the_servers_kernel_time_is_read_apart_from_its_total() -> None:
    """``cpu_times`` reads a process's CPU apart into user and kernel (``utime``, ``stime``);
    ``summary`` reports the kernel's share per flow beside the total."""
    processes = load_part("processes")
    busy = (  # a child that spends its CPU in system calls, then waits to be read
        "import os, sys, time\n"
        "end = time.process_time() + 0.6\n"
        "while time.process_time() < end:\n"
        "    os.stat('/')\n"
        "sys.stdout.write('done\\n'); sys.stdout.flush(); sys.stdin.read()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", busy], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "done\n"
        user, kernel = processes.cpu_times([child.pid])[child.pid]
    finally:
        child.communicate("")
    assert kernel > 0.0 and user > 0.0  # some of it in the kernel, not all of it
    assert processes.cpu_times([2**22 + 1]) == {2**22 + 1: (0.0, 0.0)}  # no such process

    drive = load_part("drive")
    stats = drive.Stats(flows=[0.01] * 4)
    counters = {"wall": 2.0, "server_cpu": 0.8, "server_sys_cpu": 0.2, "redis_cpu": 0.0}
    counters |= {"client_cpu": 0.1, "busy": 100.0, "jiffies": 200.0, "rss": 0.0}
    run = drive.summary(stats, counters, wallets=1, rate=0.0, units=[])
    assert run["server_cpu_s_per_flow"] == 0.2
    assert run["server_sys_cpu_s_per_flow"] == 0.05
