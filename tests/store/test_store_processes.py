"""Exactly-once across OS processes: two processes race on one transaction and one budget.

Each child process opens its own store on the shared SQLite file, Redis or Redis Cluster, reports
"ready", and waits on stdin; the parent releases all children at once, so their attempts
genuinely overlap.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from verifier.store import RedisHAStore, RedisStore, SQLiteStore, Transaction, TransactionStore

pytestmark = pytest.mark.anyio

CHILD = r"""
import asyncio, json, os, sys
from verifier.store import RedisHAStore, RedisStore, SQLiteStore

async def main(kind, target, prefix, tx_id, budget):
    if kind == "sqlite":
        store = SQLiteStore(target)
    else:
        store = (RedisStore if kind == "redis" else RedisHAStore)(target, prefix=prefix)
    try:
        assert await store.ping()
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        sys.stdin.readline()  # wait until every process is ready, then fire together
        change = {"status": "verified", "result": {"pid": os.getpid()}}
        expect = {"status": "request_retrieved"}
        attempts = []
        for _ in range(25):
            attempts.append(store.update_if(tx_id, expect, change, kind="presentation"))
            attempts.append(store.add_within(budget, {"spent": 20}, {"spent": 300}, ttl=600))
            attempts.append(store.update_if(tx_id, expect, change, kind="presentation"))
        results = await asyncio.gather(*attempts)
    finally:
        await store.close()
    wins = [r.result for r in results if r is not None and not isinstance(r, dict)]
    spends = sum(isinstance(r, dict) for r in results)
    sys.stdout.write(json.dumps({"wins": wins, "spends": spends}) + "\n")

asyncio.run(main(*sys.argv[1:]))
"""


def run_children(argv: list[str], count: int = 2) -> list[dict[str, Any]]:
    """Start ``count`` processes running CHILD, release them together, collect their reports."""
    cmd = [sys.executable, "-c", CHILD, *argv]
    procs = [
        subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(count)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline() != "ready\n":
                pytest.fail(f"child did not start: {proc.communicate(timeout=30)[1]}")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outputs = [proc.communicate(timeout=60) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    return [json.loads(out) for out, _ in outputs]


@pytest.mark.parametrize(
    "kind",
    [
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("cluster", marks=pytest.mark.redis),
    ],
)
async def test_two_processes_racing_see_exactly_one_winner(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    prefix = f"test:{uuid.uuid4().hex}:"
    if kind == "sqlite":
        target = str(tmp_path / "shared.db")
        store: TransactionStore = SQLiteStore(target)
    elif kind == "redis":
        target = request.getfixturevalue("redis_url")
        store = RedisStore(target, prefix=prefix)
    else:
        target = request.getfixturevalue("redis_cluster_url")
        store = RedisHAStore(target, prefix=prefix)
    try:
        now = int(time.time())
        hexes = [uuid.uuid4().hex for _ in range(4)]
        tx = Transaction(
            id=hexes[0],
            request_id=hexes[1],
            state=hexes[2],
            nonce=hexes[3],
            client_id="c",
            status="request_retrieved",
        )
        await store.create(tx, retain_until=now + 600)

        reports = run_children([kind, target, prefix, tx.id, "budget"])

        wins = [win for report in reports for win in report["wins"]]
        assert len(wins) == 1
        final = await store.get(tx.id, kind="presentation")
        assert final is not None
        assert (final.status, final.version, final.result) == ("verified", 1, wins[0])
        assert sum(report["spends"] for report in reports) == 15
        assert await store.get_counters("budget") == {"spent": 300}
    finally:
        await store.close()
