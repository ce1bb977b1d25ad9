"""bench/load.py's parts (``bench/loadgen/``): results land where the docs say, and the
package's docstring names every part there is."""

from __future__ import annotations

import re
from pathlib import Path

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
