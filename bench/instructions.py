"""Machine-independent costs: instructions counted by valgrind's callgrind.

This 2-core machine is shared, and its speed moves 2-3x from hour to hour; instruction counts
do not. Two measurements (``valgrind`` must be installed; each takes minutes):

``verify``  per call of bench/verify.py's floor (the two ES256 verifications) and of
            ``verify_presentation`` on its presentation: each is called N times inside one
            ``functools.reduce``, and callgrind counts only inside that C function
            (``--toggle-collect=functools_reduce``), so imports and set-up are not counted.
``flow``    per full cross-device flow on the server: ``agentvp serve`` (SQLite, 1 worker)
            runs under callgrind; bench/load.py's generator drives 2 wallets (warm-up, then a
            window); the counters are zeroed at the window's start and dumped at its end
            (``callgrind_control``), over the flows completed in the window.

Both print the result also in ES256-verify units (instructions of one verification, half the
floor). Instructions are not time - the interpreter runs fewer instructions per cycle than
OpenSSL's assembly, so a ratio in instructions is lower than the same ratio in time - but a
change that removes work shows here whatever else the machine is doing.

    python bench/instructions.py verify [--calls 200]
    python bench/instructions.py flow [--warmup 10] [--window 40]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
COUNTED = re.compile(r"Collected : (\d+)")


def _callgrind(*extra: str) -> list[str]:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    return ["valgrind", "--tool=callgrind", *extra]


def count_in_process(which: str, calls: int) -> int:
    """Instructions of ``calls`` calls of ``which`` (floor or ours), in a child process."""
    argv = _callgrind(
        "--collect-atstart=no",
        "--toggle-collect=functools_reduce",
        "--callgrind-out-file=/dev/null",
    )
    argv += [sys.executable, __file__, "_child", which, str(calls)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stderr
    match = COUNTED.search(out)
    if match is None:
        sys.exit(f"no instruction count in valgrind's output:\n{out[-2000:]}")
    return int(match.group(1))


def child(which: str, calls: int) -> None:
    sys.path.insert(0, str(BENCH))
    import verify  # noqa: PLC0415

    from verifier.protocol import StaticKeyResolver, verify_presentation  # noqa: PLC0415

    presentation, issuer, _ = verify.build()
    keys = StaticKeyResolver({issuer.iss: [issuer.key.public_jwk]})

    def ours() -> None:
        verify_presentation(
            presentation, keys=keys, audience=verify.AUD, nonce=verify.NONCE, now=verify.NOW + 1
        )

    fn = verify.floor_fn(presentation, issuer) if which == "floor" else ours
    for _ in range(20):  # warm: caches, lazily built tables
        fn()
    functools.reduce(lambda acc, _: fn(), range(calls), None)


def verify_counts(calls: int) -> dict[str, float]:
    floor = count_in_process("floor", calls) / calls
    ours = count_in_process("ours", calls) / calls
    print(f"floor (two ES256 verifications)  {floor / 1e6:.3f} M instructions")
    print(f"ours  (verify_presentation)      {ours / 1e6:.3f} M instructions")
    print(f"ratio_floor_instructions={ours / floor:.3f} es256_unit={floor / 2 / 1e6:.3f}M")
    return {"floor": floor, "ours": ours}


def flow_counts(warmup: float, window: float) -> None:
    """Server instructions per flow (see the module docstring)."""
    sys.path.insert(0, str(BENCH))
    from loadgen import bench as runner  # noqa: PLC0415
    from loadgen import drive, processes  # noqa: PLC0415

    unit = count_in_process("floor", 100) / 100 / 2
    with tempfile.TemporaryDirectory(prefix="agentvp-instr-") as tmp:
        wrapper = Path(tmp) / "python-under-callgrind"
        out_pattern = Path(tmp) / "callgrind.%p.out"
        command = " ".join(_callgrind(f"--callgrind-out-file={out_pattern}"))
        wrapper.write_text(f'#!/bin/sh\nexec {command} {sys.executable} "$@"\n')
        wrapper.chmod(0o755)
        real_wait = processes.wait_port  # the server starts slowly under callgrind
        processes.wait_port = lambda port, proc, what, timeout=30: real_wait(port, proc, what, 1200)
        sys.executable = str(wrapper)  # Server starts `agentvp serve` with sys.executable
        bench = runner.Bench(argparse.Namespace(wallets=2, wait_quiet=0, store_url=None), Path(tmp))
        config = runner.CONFIGS["sqlite"]
        server = bench.serve(config, bench.store_url(config))
        try:
            flows = _drive_counted(drive, bench, server, warmup, window)
            dumps = sorted(Path(tmp).glob(f"callgrind.{server.proc.pid}.out.*"))
            total = _total(dumps[-1])
        finally:
            server.stop()
    per_flow = total / flows
    print(f"server: {flows} flows in the window, {per_flow / 1e6:.3f} M instructions per flow")
    print(f"server_instructions_per_flow={per_flow / 1e6:.3f}M es256_units={per_flow / unit:.1f}")


def _drive_counted(driving: Any, bench: Any, server: Any, warmup: float, window: float) -> int:
    sample = driving.sampler(server, None)
    drive = functools.partial(driving.drive, bench.pre, bench.port, wallets=2, rate=0, warmup=0)
    asyncio.run(drive(duration=warmup, sample=sample))
    edges: list[str] = []

    def counted() -> dict[str, float]:
        action = "-z" if not edges else "-d"  # zero at the window's start, dump at its end
        subprocess.run(
            ["callgrind_control", action, str(server.proc.pid)], check=True, capture_output=True
        )
        edges.append(action)
        result: dict[str, float] = sample()
        return result

    run = asyncio.run(drive(duration=window, sample=counted))
    if sum(run["errors"].values()):
        sys.exit(f"failed flows: {run['errors']}")
    return int(run["flows"])


def _total(dump: Path) -> int:
    for line in dump.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    sys.exit(f"no totals in {dump}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    verify_args = sub.add_parser("verify")
    verify_args.add_argument("--calls", type=int, default=200)
    flow_args = sub.add_parser("flow")
    flow_args.add_argument("--warmup", type=float, default=10)
    flow_args.add_argument("--window", type=float, default=40)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")  # the same dict layouts run to run
    if args.what == "verify":
        verify_counts(args.calls)
    else:
        flow_counts(args.warmup, args.window)


if __name__ == "__main__":
    main()
