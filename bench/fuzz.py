"""Fuzz every parser of untrusted input: ``--count`` inputs each (default 50,000).

The parsers, their input generators (random inputs and structure-aware mutations of the seed
corpus built with the wallet simulator) and their contracts are those of the hypothesis
properties in ``tests/fuzz`` (:mod:`tests.fuzz.targets`); here the choices come from a
:class:`random.Random` seeded with ``--seed`` and the parser's name, so a run is repeatable and
one parser's inputs do not depend on which others run. A quarter of the inputs are pure
tampering of signed or encrypted artifacts (never re-signed with a trusted key).

Per parser it prints: inputs run, accepted, refused with a typed error (the most frequent
codes), unexpected exceptions (any other exception, or a tampered artifact accepted: must be
0) and inputs/s. Warnings are errors, as in the test suite, except cryptography's deprecation
notice about certificates with a negative serial number. Exits 1 if anything was unexpected.

    python bench/fuzz.py [--count 50000] [--seed 1] [--only json,dpop] [--out FILE]
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.utils import CryptographyDeprecationWarning

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fuzz.source import RandomSource  # noqa: E402
from tests.fuzz.targets import TARGETS, Target  # noqa: E402

TAMPERED_SHARE = 4  # every 4th input: tampering only


@dataclass
class Report:
    name: str
    inputs: int = 0
    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0

    def lines(self) -> list[str]:
        top = ", ".join(f"{code} {n}" for code, n in self.refused.most_common(6))
        out = [
            f"{self.name:17} inputs {self.inputs:7d}  accepted {self.accepted:6d}  "
            f"refused {self.refused.total():7d}  unexpected {self.unexpected.total():3d}  "
            f"{self.rate:8.0f} inputs/s",
            f"{'':17} refused by code ({len(self.refused)} codes): {top}",
        ]
        for kind, n in self.unexpected.most_common():
            out.append(f"{'':17} UNEXPECTED {n} x {kind}")
            out.append(f"{'':17}   first input: {self.examples[kind]}")
        return out


def fuzz(target: Target, *, count: int, seed: int, progress: int) -> Report:
    src = RandomSource(random.Random(f"{seed}:{target.name}"))
    report = Report(target.name)
    started = time.perf_counter()
    for i in range(count):
        case = target.generate(src, i % TAMPERED_SHARE == TAMPERED_SHARE - 1)
        try:
            code = target.check(case)
        except Exception as exc:  # the point: anything but a typed error is a finding
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            where = f"{Path(frame.filename).name}:{frame.lineno}"
            kind = f"{type(exc).__name__}: {str(exc)[:100]} ({where})"
            report.unexpected[kind] += 1
            report.examples.setdefault(kind, repr(case.value)[:300])
        else:
            if code is None:
                report.accepted += 1
            else:
                report.refused[code] += 1
        report.inputs += 1
        if progress and report.inputs % progress == 0 and report.inputs < count:
            rate = report.inputs / (time.perf_counter() - started)
            print(f"  {target.name}: {report.inputs}/{count} ({rate:.0f}/s)", flush=True)
    report.seconds = time.perf_counter() - started
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50_000, help="inputs per parser")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated parser names")
    parser.add_argument("--progress", type=int, default=5_000, help="print every N inputs")
    parser.add_argument("--out", type=Path, help="also write the summary to this file")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = set(names) - {t.name for t in TARGETS}
    if unknown:
        parser.error(f"unknown parsers {sorted(unknown)}; known: {[t.name for t in TARGETS]}")
    warnings.simplefilter("error")
    warnings.filterwarnings(
        "ignore", "Parsed a serial number", category=CryptographyDeprecationWarning
    )

    reports = []
    for target in TARGETS:
        if names and target.name not in names:
            continue
        reports.append(fuzz(target, count=args.count, seed=args.seed, progress=args.progress))
        print("\n".join(reports[-1].lines()), flush=True)

    total = sum(r.inputs for r in reports)
    bad = sum(r.unexpected.total() for r in reports)
    seconds = sum(r.seconds for r in reports)
    summary = [
        f"bench/fuzz.py --count {args.count} --seed {args.seed}"
        f"{' --only ' + args.only if names else ''}  (Python {platform.python_version()},"
        f" {platform.machine()})",
        *(line for r in reports for line in r.lines()),
        f"total: {len(reports)} parsers, {total} inputs in {seconds:.0f} s, "
        f"{bad} unexpected exceptions",
    ]
    print(summary[-1])
    if args.out is not None:
        args.out.write_text("\n".join(summary) + "\n", encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
