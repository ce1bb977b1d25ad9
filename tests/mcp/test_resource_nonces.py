"""Server DPoP nonces at the resource (RFC 9449 §9), in-process through the ASGI middleware:
a proof without the resource's current nonce is answered 401 ``use_dpop_nonce`` with a fresh
``DPoP-Nonce`` and spends nothing; a stale, forged, other-resource or token-endpoint nonce is
refused the same way; a guard instance sharing the secret accepts the nonce another issued;
every answer carries the current nonce (rotation)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import httpx
import pytest

from tests.mcp.test_validator import (
    AGENT,
    ARGS,
    AS_KEY,
    BINDING,
    ISSUER,
    NOW,
    URI,
    Fetcher,
    as_documents,
    call,
    echo,
    token,
)
from verifier.protocol.oauth.dpop import create_proof
from verifier.resource import DPoPNonces, JWKSCache, ProtectedResource, ResourceGuard

pytestmark = pytest.mark.anyio
SECRET = b"shared resource nonce secret, 32b"


def shop(clock: list[float], secret: bytes = SECRET, resource: str = URI) -> httpx.AsyncClient:
    """One instance of the resource (its own guard and replay cache) wanting nonces."""
    guard = ResourceGuard(
        resource=resource,
        issuer=ISSUER,
        jwks=JWKSCache(ISSUER, fetch=Fetcher(as_documents([AS_KEY.public_jwk]))),
        clock=lambda: clock[0],
        dpop_nonces=DPoPNonces(secret, window=60, clock=lambda: clock[0]),
    )
    app = ProtectedResource(echo, guard, tools={"checkout": BINDING})
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://shop.example"
    )


def signed(tok: str, nonce: str | None, now: float) -> dict[str, str]:
    proof = create_proof(AGENT, htm="POST", htu=URI, now=int(now), access_token=tok, nonce=nonce)
    return {"Authorization": f"DPoP {tok}", "DPoP": proof}


def asked_for_nonce(response: httpx.Response, code: str) -> str:
    """The new nonce of a ``use_dpop_nonce`` refusal (after checking the refusal)."""
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('DPoP error="use_dpop_nonce", error_description="')
    assert code in challenge and response.json()["error"] == "use_dpop_nonce"
    return response.headers["dpop-nonce"]


async def test_a_proof_without_the_nonce_gets_one_and_the_retry_passes() -> None:
    clock = [float(NOW)]
    tok = token()
    async with shop(clock) as http:
        first = await http.post(
            "/mcp", json=call("checkout", **ARGS), headers=signed(tok, None, NOW)
        )
        nonce = asked_for_nonce(first, "dpop_nonce_missing")
        retry = await http.post(
            "/mcp", json=call("checkout", **ARGS), headers=signed(tok, nonce, NOW)
        )
        assert retry.status_code == 200 and retry.json()["verification_id"] == "v-1"  # unspent
        assert retry.headers["dpop-nonce"] == nonce  # the current one, on success too


async def test_stale_forged_and_foreign_nonces_are_refused() -> None:
    clock = [float(NOW)]
    async with shop(clock) as http, shop(clock, resource="https://other.example/mcp") as other:
        old = asked_for_nonce(
            await http.post("/mcp", json={}, headers=signed(token(), None, NOW)),
            "dpop_nonce_missing",
        )
        clock[0] += 60
        still = await http.post("/mcp", json={}, headers=signed(token(jti="t-2"), old, clock[0]))
        assert still.status_code == 200  # the previous window's nonce is still current
        assert still.headers["dpop-nonce"] != old  # rotated
        clock[0] += 60
        current = clock[0]
        other_nonce = (await other.get("/mcp")).headers["dpop-nonce"]
        token_endpoint = _token_endpoint_nonce(current)
        mine = DPoPNonces(SECRET, clock=lambda: current).current(URI)
        forged = mine[:-2] + ("AA" if not mine.endswith("AA") else "BB")
        for nonce, code in [
            (old, "dpop_nonce_invalid"),  # two windows old
            (forged, "dpop_nonce_invalid"),
            (DPoPNonces(b"x" * 32, clock=lambda: current).current(URI), "dpop_nonce_invalid"),
            (other_nonce, "dpop_nonce_invalid"),  # same secret, another resource
            (token_endpoint, "dpop_nonce_invalid"),  # agentvp's §8 nonce: another server
            ("", "dpop_nonce_invalid"),
        ]:
            refused = await http.post("/mcp", json={}, headers=signed(token(), nonce, current))
            assert asked_for_nonce(refused, code) == mine


async def test_instances_sharing_the_secret_accept_each_others_nonces() -> None:
    clock = [float(NOW)]
    async with shop(clock) as one, shop(clock) as two, shop(clock, secret=b"y" * 32) as alien:
        nonce = (await one.get("/mcp")).headers["dpop-nonce"]  # a refusal carries it too
        ok = await two.post("/mcp", json={}, headers=signed(token(), nonce, NOW))
        assert ok.status_code == 200, ok.text
        refused = await alien.post("/mcp", json={}, headers=signed(token(), nonce, NOW))
        assert asked_for_nonce(refused, "dpop_nonce_invalid") != nonce


def test_nonce_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        DPoPNonces(b"short")
    with pytest.raises(ValueError, match="between 5 and 3600"):
        DPoPNonces(SECRET, window=1)
    assert DPoPNonces(SECRET, clock=lambda: NOW).accepts(None, URI) is False


def _token_endpoint_nonce(now: float) -> str:
    """A nonce as agentvp's token endpoint derives it (verifier.oauth.code_grant), for the same
    window: keyed with agentvp's key, not the resource's secret."""
    key = hashlib.sha256(b"agentvp dpop nonce\x00" + SECRET).digest()
    mac = hmac.new(key, str(int(now) // 60).encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
