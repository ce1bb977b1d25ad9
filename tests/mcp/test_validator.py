"""`verifier.resource` and the shared protocol pieces, in-process: every DPoP proof check
(RFC 9449 §4.3), every access-token check (RFC 9068 §4), tool bindings against
`authorization_details` (RFC 9396), the JWKS and replay caches, the ASGI middleware's RFC 9728
metadata and challenges, and that the package imports no web framework and no verifier
internals."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from verifier.protocol import SigningKey
from verifier.protocol.jose import b64url_encode
from verifier.protocol.mandates.authority import AgentAction
from verifier.protocol.oauth.access_token import (
    ToolBinding,
    action_for_call,
    authorization_details_for,
    check_call,
    granted_action,
)
from verifier.protocol.oauth.dpop import DPoPError, create_proof, normalize_htu, verify_proof
from verifier.resource import (
    AccessError,
    JWKSCache,
    JWKSUnavailableError,
    MemoryReplayCache,
    ProtectedResource,
    ResourceGuard,
    grant_of,
    verify_access_token,
)

NOW = 1_800_000_000
URI = "https://shop.example/mcp"
ISSUER = "https://agentvp.example"
AS_KEY = SigningKey.generate(kid="as-1")
AGENT = SigningKey.generate()
BINDING = ToolBinding(
    action="commerce.checkout",
    fixed={"payee.id": "m-1", "payee.domain": "shop.example"},
    arguments={
        "transaction_id": "order_id",
        "payment_amount.amount": "amount",
        "payment_amount.currency": "currency",
    },
)
ARGS = {"order_id": "o-1", "amount": 500, "currency": "EUR"}
ACTION = action_for_call(BINDING, ARGS, mandate_jti="m")


def token(*, key: SigningKey = AS_KEY, header: dict[str, Any] | None = None, **changes: Any) -> str:
    """An access token as agentvp issues it; ``changes`` set (None: remove) claims."""
    claims = {
        "iss": ISSUER,
        "aud": URI,
        "iat": NOW,
        "exp": NOW + 300,
        "jti": "t-1",
        "cnf": {"jkt": AGENT.thumbprint},
        "authorization_details": authorization_details_for(ACTION, [URI]),
        "verification_id": "v-1",
        **changes,
    }
    head = {"typ": "at+jwt", "kid": "as-1", **(header or {})}
    return key.sign_jws(head, {k: v for k, v in claims.items() if v is not None})


# ------------------------------------------------------------------------- DPoP proofs


def sign(header: dict[str, Any], claims: dict[str, Any], key: SigningKey = AGENT) -> str:
    base = {"typ": "dpop+jwt", "jwk": AGENT.public_jwk}
    body = {"jti": "j-1", "htm": "POST", "htu": URI, "iat": NOW}
    return key.sign_jws({**base, **header}, {**body, **claims})


@pytest.mark.parametrize(
    ("proof", "code"),
    [
        (lambda: "a.b", "dpop_malformed"),
        (lambda: "", "dpop_malformed"),
        (lambda: sign({"typ": "JWT"}, {}), "dpop_typ_invalid"),
        (lambda: sign({"jwk": "x"}, {}), "dpop_jwk_invalid"),
        (lambda: sign({"jwk": AGENT.to_jwk()}, {}), "dpop_jwk_invalid"),
        (lambda: sign({"jwk": {"kty": "EC"}}, {}), "dpop_jwk_invalid"),
        (lambda: sign({}, {}, key=SigningKey.generate()), "dpop_signature_invalid"),
        (lambda: sign({}, {"jti": None}), "dpop_jti_missing"),
        (lambda: sign({}, {"htm": "GET"}), "dpop_htm_mismatch"),
        (lambda: sign({}, {"htu": "https://shop.example/other"}), "dpop_htu_mismatch"),
        (lambda: sign({}, {"iat": NOW - 61}), "dpop_iat_invalid"),
        (lambda: sign({}, {"iat": NOW + 6}), "dpop_iat_invalid"),
        (lambda: sign({}, {"iat": "now"}), "dpop_iat_invalid"),
        (lambda: sign({}, {"ath": "wrong"}), "dpop_ath_mismatch"),
    ],
)
def test_each_dpop_check_fails_with_its_code(proof: Callable[[], str], code: str) -> None:
    with pytest.raises(DPoPError) as failed:
        verify_proof(proof(), htm="POST", htu=URI, now=NOW, access_token="tok")
    assert failed.value.code == code and failed.value.error == "invalid_dpop_proof"


def test_dpop_alg_must_be_asymmetric_and_allowed() -> None:
    head = b64url_encode(json.dumps({"typ": "dpop+jwt", "alg": "HS256", "jwk": {}}).encode())
    with pytest.raises(DPoPError) as failed:
        verify_proof(f"{head}.{b64url_encode(b'{}')}.c2ln", htm="POST", htu=URI, now=NOW)
    assert failed.value.code == "dpop_alg_not_allowed"


def test_a_good_proof_names_its_key_and_htu_is_normalised() -> None:
    proof = create_proof(
        AGENT, htm="post", htu="HTTPS://Shop.Example:443/mcp?x=1#f", now=NOW, access_token="tok"
    )
    checked = verify_proof(proof, htm="POST", htu=URI, now=NOW, access_token="tok")
    assert checked.jkt == AGENT.thumbprint and checked.htu == URI
    assert normalize_htu("http://h:80") == "http://h/"
    assert normalize_htu("http://h:8080/a") == "http://h:8080/a"


# ------------------------------------------------------------------------- access tokens


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"header": {"typ": "JWT"}}, "token_typ_invalid"),
        ({"header": {"kid": "other"}}, "token_key_unknown"),
        ({"key": SigningKey.generate(kid="as-1")}, "token_signature_invalid"),
        ({"iss": "https://evil.example"}, "token_issuer_mismatch"),
        ({"aud": "https://other.example/mcp"}, "token_audience_mismatch"),
        ({"exp": NOW - 5}, "token_expired"),
        ({"exp": None}, "token_expired"),
        ({"iat": NOW + 60}, "token_not_yet_valid"),
        ({"nbf": NOW + 60}, "token_not_yet_valid"),
        ({"cnf": None}, "token_not_sender_constrained"),
        ({"cnf": {"x5t#S256": "x"}}, "token_not_sender_constrained"),
    ],
)
def test_each_token_check_fails_with_its_code(changes: dict[str, Any], code: str) -> None:
    with pytest.raises(AccessError) as failed:
        verify_access_token(
            token(**changes), [AS_KEY.public_jwk], issuer=ISSUER, audience=URI, now=NOW
        )
    assert (failed.value.status, failed.value.error, failed.value.code) == (
        401,
        "invalid_token",
        code,
    )


def test_token_alg_and_shape_are_checked() -> None:
    keys = [AS_KEY.public_jwk]
    with pytest.raises(AccessError, match="token_malformed"):
        verify_access_token("x.y", keys, issuer=ISSUER, audience=URI, now=NOW)
    head = b64url_encode(json.dumps({"typ": "at+jwt", "alg": "RS256", "kid": "as-1"}).encode())
    with pytest.raises(AccessError, match="token_alg_not_allowed"):
        verify_access_token(f"{head}.e30.c2ln", keys, issuer=ISSUER, audience=URI, now=NOW)
    good = verify_access_token(token(aud=[URI, "x"]), keys, issuer=ISSUER, audience=URI, now=NOW)
    assert good["verification_id"] == "v-1"


def test_challenges_follow_rfc_6750_and_9728() -> None:
    missing = AccessError(401, "invalid_token", "token_missing", "no token")
    assert missing.challenge("https://m") == (
        'DPoP algs="ES256 ES384 ES512 EdDSA", resource_metadata="https://m"'
    )
    quoted = AccessError(403, "insufficient_scope", "x", 'say "hi" \\ \n')
    assert "error=\"insufficient_scope\", error_description=\"x: say 'hi' ' '\"" in (
        quoted.challenge(None)
    )


# ------------------------------------------------------------------------- tool bindings


def test_tool_calls_within_the_grant_pass_and_beyond_it_fail() -> None:
    assert check_call(BINDING, ARGS, ACTION) == []
    assert check_call(BINDING, {**ARGS, "amount": 1}, ACTION) == []
    codes = {
        "amount": [r.code for r in check_call(BINDING, {**ARGS, "amount": 501}, ACTION)],
        "bool": [r.code for r in check_call(BINDING, {**ARGS, "amount": True}, ACTION)],
        "negative": [r.code for r in check_call(BINDING, {**ARGS, "amount": -1}, ACTION)],
        "order": [r.code for r in check_call(BINDING, {**ARGS, "order_id": "o-2"}, ACTION)],
        "missing": [r.code for r in check_call(BINDING, {"order_id": "o-1"}, ACTION)],
    }
    assert codes == {
        "amount": ["amount_exceeds_grant"],
        "bool": ["amount_exceeds_grant"],
        "negative": ["amount_exceeds_grant"],
        "order": ["value_not_granted"],
        "missing": ["argument_missing", "argument_missing"],
    }
    refund = BINDING.model_copy(update={"action": "payment.refund"})
    assert [r.code for r in check_call(refund, ARGS, ACTION)] == ["action_not_granted"]
    elsewhere = BINDING.model_copy(update={"fixed": {"payee.id": "m-2", "payee.domain": "x"}})
    assert {r.code for r in check_call(elsewhere, ARGS, ACTION)} == {"value_not_granted"}
    no_payee = action_for_call(
        ToolBinding(action="commerce.checkout", arguments=BINDING.arguments), ARGS, mandate_jti="m"
    )
    assert [r.code for r in check_call(BINDING, ARGS, no_payee)] == ["value_not_granted"] * 2


def test_bindings_and_authorization_details_are_validated() -> None:
    with pytest.raises(ValidationError, match="unknown action paths"):
        ToolBinding(action="a", arguments={"payee.iban": "x"})
    with pytest.raises(ValidationError, match="either fixed or bound"):
        ToolBinding(action="a", fixed={"payee.id": "x"}, arguments={"payee.id": "y"})
    with pytest.raises(ValueError, match="lacks argument 'amount'"):
        action_for_call(BINDING, {"order_id": "o"}, mandate_jti="m")
    details = authorization_details_for(ACTION, [URI])
    assert granted_action(details, location=URI) == ACTION
    with pytest.raises(ValueError, match="not among the granted locations"):
        granted_action(details, location="https://other.example")
    with pytest.raises(ValueError, match="exactly one"):
        granted_action(details * 2)
    with pytest.raises(ValueError, match="JSON object"):
        granted_action(["x"])
    assert isinstance(granted_action([{**details[0], "locations": None}]), AgentAction)


# ------------------------------------------------------------------------- caches


class Fetcher:
    def __init__(self, documents: dict[str, Any]) -> None:
        self.documents = documents
        self.calls: list[str] = []

    async def __call__(self, url: str) -> Any:
        self.calls.append(url)
        return self.documents[url]


def as_documents(keys: list[dict[str, Any]], issuer: str = ISSUER) -> dict[str, Any]:
    return {
        f"{ISSUER}/.well-known/oauth-authorization-server": {
            "issuer": issuer,
            "jwks_uri": f"{ISSUER}/jwks",
        },
        f"{ISSUER}/jwks": {"keys": keys},
    }


@pytest.mark.anyio
async def test_jwks_cache_discovers_caches_and_refreshes_on_unknown_kid_rate_limited() -> None:
    clock = [0.0]
    fetch = Fetcher(as_documents([{**AS_KEY.public_jwk}]))
    cache = JWKSCache(ISSUER, fetch=fetch, ttl=300, min_refresh=30, clock=lambda: clock[0])
    assert (await cache.keys(kid="as-1"))[0]["kid"] == "as-1"
    await cache.keys(kid="as-1")
    assert len(fetch.calls) == 2  # metadata + JWKS, then cached
    await cache.keys(kid="rotated")
    assert len(fetch.calls) == 2  # unknown kid within min_refresh: no refetch
    clock[0] = 31
    await cache.keys(kid="rotated")
    assert fetch.calls[-1] == f"{ISSUER}/jwks" and len(fetch.calls) == 3
    clock[0] = 400
    await cache.keys(kid="as-1")
    assert len(fetch.calls) == 4  # stale after ttl


@pytest.mark.anyio
async def test_jwks_cache_refuses_metadata_of_another_issuer() -> None:
    cache = JWKSCache(ISSUER, fetch=Fetcher(as_documents([], issuer="https://evil.example")))
    with pytest.raises(JWKSUnavailableError, match="another issuer"):
        await cache.keys()


@pytest.mark.anyio
async def test_replay_cache_is_single_use_until_expiry_and_bounded() -> None:
    clock = [0.0]
    cache = MemoryReplayCache(max_entries=2, clock=lambda: clock[0])
    assert await cache.claim("a", ttl=10) is True
    assert await cache.claim("a", ttl=10) is False
    clock[0] = 11
    assert await cache.claim("a", ttl=10) is True
    await cache.claim("b", ttl=10)
    await cache.claim("c", ttl=10)
    assert await cache.claim("c", ttl=10) is False


# ------------------------------------------------------------------------- the middleware


async def echo(scope: Any, receive: Any, send: Any) -> None:
    body = (await receive()).get("body", b"")
    try:
        verification_id: str | None = grant_of(scope).verification_id
    except LookupError:  # a path the middleware does not protect
        verification_id = None
    payload = json.dumps({"verification_id": verification_id, "seen": body.decode()})
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": payload.encode()})


def client(**kw: Any) -> httpx.AsyncClient:
    fetch = Fetcher(as_documents([AS_KEY.public_jwk]))
    guard = ResourceGuard(
        resource=URI, issuer=ISSUER, jwks=JWKSCache(ISSUER, fetch=fetch), clock=lambda: NOW
    )
    app = ProtectedResource(echo, guard, tools={"checkout": BINDING}, **kw)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://shop.example"
    )


def headers(tok: str, **extra: str) -> dict[str, str]:
    proof = create_proof(AGENT, htm="POST", htu=URI, now=NOW, access_token=tok)
    return {"Authorization": f"DPoP {tok}", "DPoP": proof, **extra}


def call(tool: str, **arguments: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }


@pytest.mark.anyio
async def test_middleware_serves_metadata_and_passes_the_grant_on() -> None:
    async with client(resource_name="Shop") as http:
        for path in (
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-protected-resource/mcp",
        ):
            metadata = (await http.get(path)).json()
            assert metadata["resource"] == URI and metadata["authorization_servers"] == [ISSUER]
            assert metadata["agentvp_tool_bindings"]["checkout"]["action"] == "commerce.checkout"
        tok = token()
        ok = await http.post("/mcp", json=call("checkout", **ARGS), headers=headers(tok))
        assert ok.status_code == 200 and ok.json()["verification_id"] == "v-1"
        assert json.loads(ok.json()["seen"])["params"]["name"] == "checkout"  # body replayed
        spent = await http.post("/mcp", json=call("checkout", **ARGS), headers=headers(tok))
        assert spent.status_code == 401 and "token_spent" in spent.headers["www-authenticate"]


@pytest.mark.anyio
async def test_middleware_refusals() -> None:
    tok = token()
    async with client(max_body_bytes=2048) as http:
        both = [("Authorization", f"DPoP {tok}")] * 2
        twice = await http.post("/mcp", json={}, headers=both)
        assert twice.status_code == 400 and twice.json()["error"] == "invalid_request"
        proof = headers(tok)["DPoP"]
        many = [("Authorization", f"DPoP {tok}"), ("DPoP", proof), ("DPoP", proof)]
        repeated = await http.post("/mcp", json={}, headers=many)
        assert repeated.status_code == 401 and "dpop_repeated" in repeated.text
        big = await http.post("/mcp", json=call("checkout", pad="x" * 4096), headers=headers(tok))
        assert big.status_code == 413
        bad_args = {**call("checkout"), "params": {"name": "checkout", "arguments": [1]}}
        refused = await http.post("/mcp", json=bad_args, headers=headers(tok))
        assert refused.status_code == 400 and "arguments_invalid" in refused.text
        unbound = await http.post("/mcp", json=call("wipe"), headers=headers(tok))
        assert unbound.status_code == 403 and "tool_not_bound" in unbound.text
        assert (await http.get("/elsewhere")).status_code == 200  # not protected: passed on


@pytest.mark.anyio
async def test_a_token_with_an_unusable_grant_is_refused() -> None:
    async with client() as http:
        foreign = token(authorization_details=[{"type": "https://other.example/td"}])
        response = await http.post("/mcp", json={}, headers=headers(foreign))
        assert response.status_code == 401 and "token_grant_invalid" in response.text


@pytest.mark.anyio
async def test_an_unreachable_authorization_server_is_a_503_not_an_accept() -> None:
    async def down(url: str) -> Any:
        raise httpx.ConnectError("refused")

    guard = ResourceGuard(resource=URI, issuer=ISSUER, jwks=JWKSCache(ISSUER, fetch=down))
    tok = token()
    with pytest.raises(AccessError) as failed:
        await guard.authorize(
            method="POST", url=URI, authorization=[f"DPoP {tok}"], dpop=[headers(tok)["DPoP"]]
        )
    assert (failed.value.status, failed.value.error, failed.value.code) == (
        503,
        "temporarily_unavailable",
        "jwks_unavailable",
    )


def test_verifier_resource_imports_no_framework_and_no_verifier_internals() -> None:
    code = (
        "import sys, verifier.resource\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'uvicorn', 'mcp', 'redis', 'sqlite3') or "
        "(m.startswith('verifier.') and not m.startswith(('verifier.protocol', "
        "'verifier.resource', 'verifier.native'))))\n"  # native: the compiled-module finder
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_proofs_made_now_verify_now() -> None:
    now = int(time.time())
    proof = create_proof(AGENT, htm="GET", htu=URI, now=now)
    assert verify_proof(proof, htm="GET", htu=URI, now=now).jkt == AGENT.thumbprint
