"""HTTP load benchmark: complete cross-device OpenID4VP flows against ``agentvp serve``.

One flow is what a relying party and a wallet do for one presentation, over real HTTP:

  create   ``POST /v1/presentations {"profile": "identity"}`` (RP, API key)
  request  ``POST <request_uri>`` with ``wallet_nonce`` (``request_uri_method=post``); the
           wallet checks the request object's ES256 signature with the verifier's key and its
           ``wallet_nonce``, and reads ``nonce``, ``state``, ``client_id`` and the
           per-transaction encryption key
  response ``POST <response_uri>`` ``response=<JWE>``: a fresh KB-JWT (this transaction's
           ``nonce`` and ``client_id``) on the pre-built identity presentation (6 disclosures),
           encrypted ECDH-ES/A256GCM to this transaction's key (``direct_post.jwt``)
  result   ``GET /v1/presentations/{id}`` (RP) - must be ``verified`` with the disclosed name

N simulated wallets run flows concurrently on persistent HTTP/1.1 connections (a minimal
client on uvloop, so the generator costs as little CPU as possible: it shares the machine with
the server). The issuer-signed SD-JWT and disclosures are built once; the KB-JWT and the JWE
are made per flow. Per configuration it reports flows/s, p50/p95/p99 per step and per flow,
server CPU seconds per flow (all server processes, and redis-server separately), server RSS,
the load generator's own CPU, and writes ``bench/results/<name>.json`` and ``<name>.png`` (the
chart needs the ``bench`` extra's matplotlib; without it, it says so before the run and skips it).
Server CPU per flow is also given in units of one ES256 verification on ``cryptography``: the
median of short probes taken every second inside the window (the host's speed moves by a third
within minutes, so a unit measured at another moment is off by as much); the unit measured
right after the window, as before 2026-12-04's round 11, is printed beside it.

Two load shapes per configuration:

- ``saturated``: every wallet starts its next flow as soon as the last one ends (closed loop):
  the most flows/s the machine sustains. Latency there is queueing by construction
  (Little's law: mean flow time = wallets / throughput).
- ``at-rate``: flows start at a fixed rate (default 300/s, the target), each taken by a free
  wallet of the N; flow time counts from the scheduled start, so a backlog shows up in it.

Then pending-transaction scaling (1 k, 10 k, 100 k pending transactions preloaded through the
service's own ``create``) with Redis ``INFO memory`` per pending transaction, and, in the same
run, in-process verification of one identical presentation by agentvp, the reference
``sd-jwt`` verifier and ``polaris-oid4vp``. Never fails on time.

    python bench/load.py                      # everything (~8 minutes on 2 cores)
    python bench/load.py --quick              # short windows, 10 k scaling only
    python bench/load.py --configs sqlite --skip-scaling --skip-compare
    python bench/load.py --skip-scaling --skip-compare --repeat 3   # issue 20's three runs:
                                              # each figure's median, the targets judged on it
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from loadgen.bench import CONFIGS, RESULTS, ROOT, Bench
from loadgen.compare import compare_in_process
from loadgen.report import TARGET_FLOWS, chart, chart_missing, machine
from loadgen.wallet import check_encryptor
from repeats import TARGET_P99_MS, medians, verdict  # bench/repeats.py

TARGET_BYTES_PER_TX = 4096


def configurations(bench: Bench, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Each configuration of ``--configs``, all of them ``--repeat`` times in turn."""
    entries = []
    for repeat in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"run {repeat} of {args.repeat}", flush=True)
        for name in filter(None, args.configs.split(",")):
            entry = bench.configuration(CONFIGS[name])
            entry["repeat"] = repeat
            entries.append(entry)
    return entries


def judge_repeats(results: dict[str, Any], repeat: int) -> None:
    """With ``--repeat`` > 1: each figure's median (kept in ``results["medians"]``) and the
    targets judged on the medians, printed."""
    if repeat < 2 or not results["configurations"]:
        return
    table = results["medians"] = medians(results["configurations"])
    print(f"medians of {repeat} runs: {json.dumps(table)}")
    for line in verdict(table):
        print(f"  {line}")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--name", default="load", help="results file name (bench/results/NAME)")
    parser.add_argument("--configs", default="sqlite,redis,redis-2w")
    parser.add_argument("--wallets", type=int, default=64)
    parser.add_argument("--rate", type=float, default=TARGET_FLOWS, help="0: skip at-rate runs")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--scaling", default="1000,10000,100000")
    parser.add_argument("--scaling-stores", default="redis,sqlite")
    parser.add_argument("--scaling-duration", type=float, default=10.0)
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy --native the server in the saturated runs (slows it: flows/s not comparable)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=120.0,
        help="before each run, wait up to this long for the machine to be idle (0: never)",
    )
    parser.add_argument(
        "--store-url",
        default="",
        help="run the redis configurations on this store (redis+cluster://..., "
        "redis+sentinel://..., or an empty redis:// database) instead of a local redis-server",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the configurations N times in turn and print each figure's median "
        "and the targets judged on the medians",
    )
    parser.add_argument("--quick", action="store_true", help="5 s windows, 10 k scaling only")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error(f"--repeat {args.repeat}: at least 1")
    if not args.name or "/" in args.name or args.name.startswith("."):
        # Checked first: a path here used to fail only after the whole run, at its last print.
        parser.error(f"--name {args.name!r}: a file name for bench/results/, not a path")
    return args


def main() -> None:
    args = arguments()
    if args.quick:
        args.duration, args.scaling_duration, args.scaling = 5.0, 5.0, "10000"
    try:
        import uvloop  # noqa: PLC0415

        uvloop.install()
    except ImportError:
        pass
    check_encryptor()
    no_chart = chart_missing()
    if no_chart:
        print(f"{no_chart}; the numbers and the JSON are written as ever")
    results: dict[str, Any] = {
        "name": args.name,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "args": vars(args),
        "targets": {
            "flows_per_s": TARGET_FLOWS,
            "p99_ms": TARGET_P99_MS,
            "wallets": 64,
            "bytes_per_pending_tx": TARGET_BYTES_PER_TX,
        },
        "configurations": [],
    }
    print(f"machine: {results['machine']['cpu_model']}, {results['machine']['cores']} cores")
    with tempfile.TemporaryDirectory(prefix="agentvp-load-") as tmp:
        bench = Bench(args, Path(tmp))
        try:
            results["configurations"] = configurations(bench, args)
            if not args.skip_scaling:
                levels = [int(v) for v in args.scaling.split(",")]
                results["scaling"] = [
                    bench.scaling(store, levels) for store in args.scaling_stores.split(",")
                ]
        finally:
            bench.close()
    judge_repeats(results, args.repeat)
    if not args.skip_compare:
        results["in_process"] = compare_in_process(rounds=11)
        print(f"  in-process: {json.dumps(results['in_process'])}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{args.name}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    if no_chart:
        print(no_chart)
    elif results["configurations"]:
        chart(results, RESULTS / f"{args.name}.png")
        print(f"wrote bench/results/{args.name}.png")


if __name__ == "__main__":
    main()
