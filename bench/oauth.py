"""Cost of the wallet login's token endpoint and of validating its tokens at a resource server.

In one process, on the memory store, against the real app over ASGI (no sockets):

  token endpoint  ``POST /oauth/token``: ``authorization_code`` (a seeded code; PKCE, single-use
                  transition, family and refresh records, one ES256 signature) and
                  ``refresh_token`` (rotation), each Bearer and DPoP (+ one proof verification
                  and its replay claim)
  resource        ``ResourceGuard.authorize`` for a Bearer token (one ES256 verification) and a
                  DPoP-bound one (two verifications, replay cache)
  floor           one ES256 signature and one ES256 verification on ``cryptography``

Prints p50/p99 microseconds, tokens (or validations) per second of one sequential caller and
the ratio of p50 to the floor; the last line is machine-readable. Never fails on time.

    python bench/oauth.py [--n 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from verifier.app import build_service, create_app
from verifier.oauth.login import code_key
from verifier.protocol import SigningKey
from verifier.protocol.jose import b64url_encode
from verifier.protocol.oauth.dpop import create_proof
from verifier.resource import JWKSCache, ResourceGuard
from verifier.settings import Settings
from verifier.setup.data_dir import init_data_dir
from verifier.store.base import RecordKind, Transaction
from verifier.store.memory import MemoryStore

PUBLIC = "http://localhost:8080"
SHOP = "http://127.0.0.1:8765/mcp"
CLIENT = "bench-client"
REDIRECT = "http://127.0.0.1:5555/callback"


def stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def timed(n: int, one: Callable[[int], Awaitable[Any]]) -> list[float]:
    await one(-1)  # warm up
    samples = []
    for i in range(n):
        start = time.perf_counter_ns()
        await one(i)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return samples


def floor_us(n: int) -> float:
    key = SigningKey.generate()
    public = key.public_jwk
    from verifier.protocol import public_key_from_jwk  # noqa: PLC0415

    parsed = public_key_from_jwk(public)
    token = key.sign_jws({"typ": "at+jwt"}, {"a": 1})
    head, payload, sig = token.split(".")
    from verifier.protocol.jose import b64url_decode  # noqa: PLC0415

    raw = b64url_decode(sig)
    signing_input = f"{head}.{payload}".encode()
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        key.sign_jws({"typ": "at+jwt"}, {"a": 1})
        parsed.verify("ES256", signing_input, raw)
        samples.append((time.perf_counter_ns() - start) / 1000)
    return statistics.median(samples)


def app_and_store(root: Path) -> tuple[Any, MemoryStore]:
    data = root / "data"
    api_key = init_data_dir(data, public_url=PUBLIC)["api_key"]
    policy = yaml.safe_load((data / "policy.yaml").read_text())
    policy["resources"] = {SHOP: {"policy": "shop-checkout"}}
    (data / "policy.yaml").write_text(yaml.safe_dump(policy))
    settings = Settings(
        data_dir=data,
        api_keys=api_key,
        store_url="memory://",
        public_url=PUBLIC,
        log_level="WARNING",
        wallet_rate_limit=0,
    )
    store = MemoryStore()
    return create_app(settings, service=build_service(settings, store=store)), store


async def seed_code(store: MemoryStore, verifier: str) -> str:
    code = secrets.token_urlsafe(32)
    now = int(time.time())
    challenge = b64url_encode(hashlib.sha256(verifier.encode()).digest())
    record = Transaction(
        id=code_key(code),
        request_id=f"cd:{secrets.token_urlsafe(16)}",
        state="",
        nonce="",
        client_id=CLIENT,
        created_at=now,
        expires_at=now + 600,
        kind=RecordKind.OAUTH_CODE,
        redirect_uri=REDIRECT,
        meta={
            "code_challenge": challenge,
            "resource": SHOP,
            "scopes": ["mcp"],
            "sub": "bench-sub",
            "auth_time": now,
            "acr": "substantial",
        },
    )
    await store.create(record, retain_until=now + 600)
    return code


async def token_endpoint(n: int, root: Path) -> dict[str, tuple[float, float]]:
    app, store = app_and_store(root)
    out = {}
    key = SigningKey.generate()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC) as http:
        for mode in ("bearer", "dpop"):
            verifier = secrets.token_urlsafe(48)
            codes = [await seed_code(store, verifier) for _ in range(n + 1)]
            refresh: list[str] = []

            def proof(mode: str = mode) -> dict[str, str]:
                if mode == "bearer":
                    return {}
                now = int(time.time())
                return {"DPoP": create_proof(key, htm="POST", htu=f"{PUBLIC}/oauth/token", now=now)}

            async def exchange(
                i: int,
                codes: list[str] = codes,
                verifier: str = verifier,
                refresh: list[str] = refresh,
            ) -> None:
                form = {
                    "grant_type": "authorization_code",
                    "code": codes[i + 1],
                    "client_id": CLIENT,
                    "redirect_uri": REDIRECT,
                    "code_verifier": verifier,
                    "resource": SHOP,
                }
                answer = await http.post("/oauth/token", data=form, headers=proof())
                assert answer.status_code == 200, answer.text
                refresh.append(answer.json()["refresh_token"])

            out[f"code_{mode}"] = stats(await timed(n, exchange))
            chain = [refresh[-1]]

            async def rotate(_: int, chain: list[str] = chain) -> None:
                form = {"grant_type": "refresh_token", "refresh_token": chain[-1]}
                form["client_id"] = CLIENT
                answer = await http.post("/oauth/token", data=form, headers=proof())
                assert answer.status_code == 200, answer.text
                chain.append(answer.json()["refresh_token"])

            out[f"refresh_{mode}"] = stats(await timed(n, rotate))
    return out


async def resource(n: int) -> dict[str, tuple[float, float]]:
    issuer_key = SigningKey.generate(kid="k1")
    jwks = {"keys": [{**issuer_key.public_jwk, "kid": "k1"}]}

    async def fetch(url: str) -> Any:
        return jwks

    guard = ResourceGuard(
        resource=SHOP,
        issuer=PUBLIC,
        jwks=JWKSCache(PUBLIC, jwks_uri=f"{PUBLIC}/oauth/jwks.json", fetch=fetch),
        base_scope="mcp",
    )
    holder = SigningKey.generate()
    now = int(time.time())
    base = {"iss": PUBLIC, "aud": SHOP, "sub": "s", "client_id": CLIENT, "scope": "mcp"}
    base |= {"iat": now, "exp": now + 3600, "jti": "j"}
    bearer = issuer_key.sign_jws({"typ": "at+jwt", "kid": "k1"}, base)
    bound = issuer_key.sign_jws(
        {"typ": "at+jwt", "kid": "k1"}, {**base, "cnf": {"jkt": holder.thumbprint}}
    )
    proofs = [
        create_proof(holder, htm="POST", htu=SHOP, now=now, access_token=bound)
        for _ in range(n + 1)
    ]

    async def check_bearer(_: int) -> None:
        await guard.authorize(method="POST", url=SHOP, authorization=[f"Bearer {bearer}"], dpop=[])

    async def check_dpop(i: int) -> None:
        await guard.authorize(
            method="POST", url=SHOP, authorization=[f"DPoP {bound}"], dpop=[proofs[i + 1]]
        )

    return {
        "resource_bearer": stats(await timed(n, check_bearer)),
        "resource_dpop": stats(await timed(n, check_dpop)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    floor = floor_us(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        results = asyncio.run(token_endpoint(args.n, Path(tmp)))
    results |= asyncio.run(resource(args.n))
    print(f"floor (one ES256 sign + one verify): {floor:8.1f} us")
    for name, (p50, p99) in results.items():
        print(
            f"{name:16} p50 {p50:8.1f} us  p99 {p99:8.1f} us  "
            f"{1e6 / p50:8.0f}/s  {p50 / floor:5.1f} x floor"
        )
    print(" ".join(f"{k}_p50_us={v[0]:.0f} {k}_p99_us={v[1]:.0f}" for k, v in results.items()))


if __name__ == "__main__":
    main()
