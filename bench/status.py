"""Token Status List cost: first fetch + verify + inflate of a 1,000,000-entry list over real
HTTP, then the per-check cost on the cached list (O(1): compared across list sizes and indices).

    python bench/status.py [--entries 1000000] [--bits 2] [--checks 20000]

Prints numbers and ratios; never fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from verifier.ops.fetch import SafeFetcher
from verifier.policy.status_check import StatusListChecker
from verifier.policy.trust import TrustConfig, TrustedIssuer, TrustResolver
from verifier.protocol import (
    SigningKey,
    StatusError,
    StatusReference,
    VerifiedCredential,
    encode_status_list,
)

ISS = "https://issuer.bench.example"
VCT = "urn:bench:vct"


def serve(tokens: dict[str, str]) -> tuple[int, uvicorn.Server]:
    async def handler(request: Request) -> Response:
        return Response(tokens[request.url.path], media_type="application/statuslist+jwt")

    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/{p:path}", handler)]),
            host="127.0.0.1",
            port=0,
            log_level="warning",
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return port, server


def token(key: SigningKey, uri: str, entries: int, bits: int, now: int) -> tuple[str, int]:
    rng = random.Random(7)
    statuses = [1 if rng.random() < 0.01 else 0 for _ in range(entries)]
    started = time.perf_counter()
    lst = encode_status_list(statuses, bits)
    encode_ms = (time.perf_counter() - started) * 1000
    payload = {
        "sub": uri,
        "iat": now,
        "exp": now + 3600,
        "ttl": 3600,
        "status_list": {"bits": bits, "lst": lst},
    }
    print(f"  list of {entries:,} x {bits} bit: lst {len(lst):,} chars (encode {encode_ms:.0f} ms)")
    return key.sign_jws({"typ": "statuslist+jwt"}, payload), statuses.index(0)


def credential(uri: str, idx: int) -> VerifiedCredential:
    return VerifiedCredential(
        vct=VCT,
        iss=ISS,
        claims={},
        header={},
        disclosures=(),
        key_binding=None,
        presented="",
        holder_jwk=None,
        status=StatusReference(uri=uri, idx=idx),
    )


async def measure(args: Any) -> None:
    key = SigningKey.generate(kid="status-1")
    now = int(time.time())
    tokens: dict[str, str] = {}
    port, server = serve(tokens)
    base = f"http://127.0.0.1:{port}"
    sizes = {"small": 10_000, "large": args.entries}
    for name, size in sizes.items():
        tokens[f"/{name}"], _ = token(key, f"{base}/{name}", size, args.bits, now)
    trust = TrustResolver(
        TrustConfig(issuers=[TrustedIssuer(iss=ISS, jwks={"keys": [key.public_jwk]})])
    )
    fetcher = SafeFetcher(allow_hosts={"127.0.0.1"}, max_bytes=64 * 1024 * 1024)
    checker = StatusListChecker(fetcher=fetcher, trust=trust, max_age=3600)
    started = time.perf_counter()
    await checker.check(credential(f"{base}/large", 0), now=now)
    first_ms = (time.perf_counter() - started) * 1000
    print(f"  first check, {args.entries:,} entries (fetch, verify, inflate): {first_ms:.1f} ms")
    results = {}
    for label, (name, idx) in {
        "10k list, idx 0": ("small", 0),
        f"{args.entries // 1000}k list, idx 0": ("large", 0),
        f"{args.entries // 1000}k list, last idx": ("large", args.entries - 1),
    }.items():
        cred = credential(f"{base}/{name}", idx)
        await checker.check(cred, now=now)
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(args.checks):
                with contextlib.suppress(StatusError):  # a revoked entry raises; we time the lookup
                    await checker.check(cred, now=now)
            samples.append((time.perf_counter() - t0) / args.checks * 1e6)
        results[label] = statistics.median(samples)
        print(f"  per check on the cached list, {label}: {results[label]:.2f} us")
    values = list(results.values())
    print(f"  large/small per-check ratio: {values[1] / values[0]:.2f} (O(1) => ~1.0)")
    ratio = values[1] / values[0]
    print(
        f"first_fetch_ms={first_ms:.1f} per_check_us={values[1]:.2f} ratio_large_small={ratio:.2f}"
    )
    await fetcher.close()
    server.should_exit = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--bits", type=int, default=2)
    parser.add_argument("--checks", type=int, default=20_000)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
