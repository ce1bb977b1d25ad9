"""Redis's share of a flow, without HTTP: the store calls of one cross-device flow, many at once.

``bench/load.py`` measures Redis inside complete HTTP flows, but on a 2-core machine the
verifier saturates the CPU long before Redis is busy, and at low load Redis pays a whole event
loop pass per command. This drives only the store, with the calls a flow makes in the order the
service makes them - create; get_by_request + update_if (request object); get_by_request +
update_if with the result (response); get (the relying party reads the result) - on records of
the size the service writes, from ``--tasks`` concurrent tasks, and reports flows/s, Redis CPU
per flow (every data node, and the masters alone) and commands per flow.

    python bench/store_flow.py redis://127.0.0.1:6379/0
    python bench/store_flow.py 'redis+cluster://127.0.0.1:7000' --seconds 20 --tasks 128
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from verifier.store import Transaction, open_store

sys.path.insert(0, str(Path(__file__).resolve().parent))
from redis_stats import RedisStats  # bench/redis_stats.py, next to this file

DCQL = {
    "credentials": [
        {
            "id": "identity",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
            "claims": [
                {"path": ["verified_claims", "claims", name]}
                for name in ("given_name", "family_name", "birth_date", "nationalities")
            ]
            + [{"path": ["verified_claims", "verification", "trust_framework"]}],
        }
    ]
}


def new_tx() -> Transaction:
    now = int(time.time())
    return Transaction(
        id=secrets.token_urlsafe(32),
        request_id=secrets.token_urlsafe(32),
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        client_id="x509_hash:" + secrets.token_urlsafe(32),
        created_at=now,
        expires_at=now + 300,
        dcql_query=DCQL,
        enc_jwk={"kty": "EC", "crv": "P-256", **{k: secrets.token_urlsafe(32) for k in "xyd"}},
        meta={"profile": "identity"},
    )


RESULT = {
    "credentials": {
        "identity": [
            {
                "issuer": "https://issuer.example.com",
                "vct": "https://credentials.example.com/identity_credential",
                "claims": {
                    "verified_claims": {
                        "claims": {
                            "given_name": "Erika",
                            "family_name": "Mustermann",
                            "birth_date": "1964-08-12",
                            "nationalities": ["DE"],
                        },
                        "verification": {"trust_framework": "de_aml"},
                    }
                },
                "holder_jkt": secrets.token_urlsafe(32),
                "status": "valid",
            }
        ]
    },
    "receipt": secrets.token_urlsafe(600),
}


async def flow(store: Any) -> None:
    tx = new_tx()
    kind = "presentation"
    await store.create(tx, retain_until=tx.expires_at + 900)
    got = await store.get_by_request(tx.request_id, kind=kind)
    assert got is not None
    fetched = {"status": "request_retrieved", "wallet_nonce": secrets.token_urlsafe(16)}
    assert await store.update_if(tx.id, {"status": "pending"}, fetched, kind=kind)
    got = await store.get_by_request(tx.request_id, kind=kind)
    assert got is not None
    done = {"status": "verified", "result": RESULT}
    assert await store.update_if(tx.id, {"status": "request_retrieved"}, done, kind=kind)
    assert await store.get(tx.id, kind=kind)


async def run(url: str, tasks: int, seconds: float) -> dict[str, Any]:
    store = open_store(url)
    stats = RedisStats(url)
    flows = 0
    stop = asyncio.Event()

    async def loop() -> None:
        nonlocal flows
        while not stop.is_set():
            await flow(store)
            flows += 1

    workers = [asyncio.create_task(loop()) for _ in range(tasks)]
    await asyncio.sleep(2.0)  # warm-up: connections, scripts loaded
    before, started, counted = stats.sample(), time.perf_counter(), flows
    cpu = time.process_time()
    await asyncio.sleep(seconds)
    after, elapsed, n = stats.sample(), time.perf_counter() - started, flows - counted
    client_cpu = time.process_time() - cpu
    stop.set()
    await asyncio.gather(*workers)
    await store.close()
    stats.close()
    delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    by_name = {k[4:]: round(v / n, 2) for k, v in delta.items() if k.startswith("cmd:") and v}
    return {
        "url": url.split("?", maxsplit=1)[0],
        "flows": n,
        "flows_per_s": round(n / elapsed, 1),
        "redis_cpu_ms_per_flow": round(delta["redis_cpu"] / n * 1000, 4),
        "redis_master_cpu_ms_per_flow": round(delta["redis_cpu_masters"] / n * 1000, 4),
        "redis_cpu_cores": round(delta["redis_cpu"] / elapsed, 2),
        "redis_commands_per_flow": round(delta["redis_cmds"] / n, 2),
        "redis_commands_by_name": dict(sorted(by_name.items(), key=lambda kv: -kv[1])),
        "redis_net_in_bytes_per_flow": round(delta["redis_net_in"] / n),
        "redis_net_out_bytes_per_flow": round(delta["redis_net_out"] / n),
        "client_cpu_ms_per_flow": round(client_cpu / n * 1000, 3),  # this process: redis-py
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("url", help="a store URL: redis://, redis+cluster://, redis+sentinel://")
    parser.add_argument("--tasks", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    try:
        import uvloop  # noqa: PLC0415

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(run(args.url, args.tasks, args.seconds))))


if __name__ == "__main__":
    main()
