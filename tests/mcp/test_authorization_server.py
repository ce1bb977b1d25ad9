"""The authorization server in-process with a controlled clock: metadata and JWKS, every error
of `POST /oauth/agent-authorize` and `POST /oauth/token` (RFC 6749 §5.2, RFC 8707, RFC 9396,
RFC 9449, CIBA polling), and the policy file's `resources:` checked at startup."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import yaml
from fastapi import FastAPI

from verifier.app import build_service, create_app
from verifier.protocol import SigningKey
from verifier.protocol.mandates.authority import AgentAction
from verifier.protocol.oauth.access_token import GRANT_TYPE, authorization_details_for
from verifier.protocol.oauth.dpop import create_proof
from verifier.settings import Settings
from verifier.setup.data_dir import init_data_dir
from verifier.store.memory import MemoryStore

pytestmark = pytest.mark.anyio
PUBLIC = "http://localhost:8080"
SHOP = "https://shop.example/mcp"
OTHER = "https://other.example/mcp"
ACTION = AgentAction.model_validate(
    {
        "action": "commerce.checkout",
        "transaction_id": "ord-1",
        "payee": {"id": "merchant-4711", "name": "Shop A", "domain": "shop-a.example"},
        "payment_amount": {"amount": 1000, "currency": "EUR"},
        "mandate_jti": "urn:uuid:m-1",
    }
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("as") / "data"
    api_key = init_data_dir(path, public_url=PUBLIC)["api_key"]
    policy = yaml.safe_load((path / "policy.yaml").read_text())
    policy["policies"]["other"] = policy["policies"]["shop-checkout"]
    policy["resources"] = {SHOP: {"policy": "shop-checkout"}, OTHER: {"policy": "other"}}
    (path / "policy.yaml").write_text(yaml.safe_dump(policy))
    return path, api_key


@dataclass
class AS:
    http: httpx.AsyncClient
    clock: list[float]
    key: SigningKey

    def proof(self, path: str, key: SigningKey | None = None, **kw: Any) -> str:
        return create_proof(
            key or self.key, htm="POST", htu=PUBLIC + path, now=int(self.clock[0]), **kw
        )

    async def authorize(
        self, *, resources: list[str] | None = None, details: Any = None, dpop: str | None = ""
    ) -> httpx.Response:
        form = [("resource", r) for r in (resources if resources is not None else [SHOP])]
        detail = details if details is not None else authorization_details_for(ACTION, [SHOP])
        form.append(
            ("authorization_details", detail if isinstance(detail, str) else json.dumps(detail))
        )
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if dpop is not None:
            headers["DPoP"] = dpop or self.proof("/oauth/agent-authorize")
        return await self.http.post(
            "/oauth/agent-authorize", content=urlencode(form), headers=headers
        )

    async def token(
        self, auth_req_id: str, *, key: SigningKey | None = None, **form: str
    ) -> httpx.Response:
        body = {"grant_type": GRANT_TYPE, "auth_req_id": auth_req_id, **form}
        proof = self.proof("/oauth/token", key)
        return await self.http.post("/oauth/token", data=body, headers={"DPoP": proof})


@pytest.fixture
async def server(data_dir: tuple[Path, str]) -> AsyncIterator[AS]:
    clock = [1_800_000_000.0]
    app = _app(data_dir, clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC) as http:
        yield AS(http, clock, SigningKey.generate())


def _app(data_dir: tuple[Path, str], clock: list[float], **settings: Any) -> FastAPI:
    """The verifier in-process on the memory store, its clock ``clock[0]``."""
    values = Settings(
        data_dir=data_dir[0],
        api_keys=data_dir[1],
        store_url="memory://",
        public_url=PUBLIC,
        **settings,
    )
    service = build_service(
        values, store=MemoryStore(clock=lambda: clock[0]), clock=lambda: clock[0]
    )
    return create_app(values, service=service)


def error_of(response: httpx.Response, status: int = 400) -> tuple[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    return body["error"], body["error_description"]


async def test_metadata_and_jwks_describe_the_authorization_server(server: AS) -> None:
    meta = (await server.http.get("/.well-known/oauth-authorization-server")).json()
    assert meta["issuer"] == PUBLIC
    assert meta["token_endpoint"] == f"{PUBLIC}/oauth/token"
    assert meta["agent_authorization_endpoint"] == f"{PUBLIC}/oauth/agent-authorize"
    assert meta["grant_types_supported"] == ["authorization_code", "refresh_token", GRANT_TYPE]
    assert "ES256" in meta["dpop_signing_alg_values_supported"]
    assert meta["agentvp_resources"] == sorted([SHOP, OTHER])
    keys = (await server.http.get(meta["jwks_uri"].removeprefix(PUBLIC))).json()["keys"]
    assert len(keys) == 1 and keys[0]["kid"] and "d" not in keys[0]


async def test_agent_authorize_answers_the_agent_request_and_polling_parameters(
    server: AS,
) -> None:
    response = await server.authorize()
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["agent_request"]["authorization_request_uri"].startswith("openid4vp://")
    # The agent's 300 s plus the human's 300 s: a first use of the principal may need them.
    assert body["interval"] == 2 and body["expires_in"] == 600
    assert "human_request" not in body  # 10 EUR: no step-up known yet
    raw = {**ACTION.model_dump(), "payment_amount": {"amount": 30000, "currency": "EUR"}}
    big = AgentAction.model_validate(raw)
    stepped = await server.authorize(details=authorization_details_for(big, [SHOP]))
    assert stepped.json()["human_request"]["authorization_request_uri"].startswith("openid4vp://")


@pytest.mark.parametrize(
    ("resources", "description"),
    [
        ([], "at least one"),
        (["https://unknown.example/mcp"], "not a protected resource"),
        ([SHOP, OTHER], "different policies"),
        ([SHOP, SHOP], "at least one"),
    ],
)
async def test_agent_authorize_refuses_unknown_or_mixed_resources(
    server: AS, resources: list[str], description: str
) -> None:
    error, text = error_of(await server.authorize(resources=resources))
    assert error == "invalid_target" and description in text


@pytest.mark.parametrize(
    ("details", "description"),
    [
        ("not json", "not valid JSON"),
        ({"type": "x"}, "non-empty JSON array"),
        ([{"type": "https://other.example/td"}], "unsupported authorization_details types"),
        ([{"type": "https://agentvp.example/td/agent_action/1", "action": "x"}], "validation"),
        ("[" * 5000 + "]" * 5000, "nests deeper than 32"),  # was a RecursionError (500)
        ('[{"type": "a", "type": "b"}]', "duplicate"),
    ],
)
async def test_agent_authorize_refuses_bad_authorization_details(
    server: AS, details: Any, description: str
) -> None:
    error, text = error_of(await server.authorize(details=details))
    assert error == "invalid_authorization_details" and description in text


async def test_agent_authorize_refuses_a_body_over_the_limit_before_reading_it(
    server: AS,
) -> None:
    limit = Settings.model_fields["max_body_bytes"].default
    padded = json.dumps([{"type": "x", "pad": "a" * limit}])
    error, text = error_of(await server.authorize(details=padded), status=413)
    assert error == "invalid_request" and f"exceeds {limit} bytes" in text


async def test_agent_authorize_over_the_rate_limit_is_refused_before_anything_is_spent(
    data_dir: tuple[Path, str],
) -> None:
    clock = [1_800_000_000.0]
    app = _app(data_dir, clock, wallet_rate_limit=1)
    key = SigningKey.generate()
    agents = []
    for address in ("203.0.113.7", "198.51.100.9"):
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        agents.append(AS(httpx.AsyncClient(transport=transport, base_url=PUBLIC), clock, key))
    first, second = agents
    try:
        assert (await first.authorize()).status_code == 200
        proof = first.proof("/oauth/agent-authorize")
        error, text = error_of(await first.authorize(dpop=proof), status=429)
        assert error == "temporarily_unavailable" and "too many requests" in text
        # The refused request did not spend the proof's jti: another client may still use it.
        assert (await second.authorize(dpop=proof)).status_code == 200
    finally:
        for agent in agents:
            await agent.http.aclose()


async def test_agent_authorize_needs_one_fresh_dpop_proof_for_its_own_uri(server: AS) -> None:
    error, text = error_of(await server.authorize(dpop=None))
    assert error == "invalid_dpop_proof" and "exactly one" in text
    wrong = server.proof("/oauth/token")
    error, text = error_of(await server.authorize(dpop=wrong))
    assert (error, text.split(":")[0]) == ("invalid_dpop_proof", "dpop_htu_mismatch")
    proof = server.proof("/oauth/agent-authorize")
    assert (await server.authorize(dpop=proof)).status_code == 200
    error, text = error_of(await server.authorize(dpop=proof))
    assert (error, text.split(":")[0]) == ("invalid_dpop_proof", "dpop_replayed")
    server.clock[0] += 3600
    error, text = error_of(await server.authorize(dpop=proof))
    assert (error, text.split(":")[0]) == ("invalid_dpop_proof", "dpop_iat_invalid")


async def test_token_polling_is_pending_then_slows_down_then_expires(server: AS) -> None:
    started = (await server.authorize()).json()
    auth_req_id = started["auth_req_id"]
    error, _ = error_of(await server.token(auth_req_id))
    assert error == "authorization_pending"
    too_fast = await server.token(auth_req_id)
    assert error_of(too_fast)[0] == "slow_down" and too_fast.json()["interval"] == 2 + 5
    server.clock[0] += 7
    again = await server.token(auth_req_id)
    assert error_of(again)[0] == "authorization_pending" and again.json()["interval"] == 7
    server.clock[0] += started["expires_in"]
    assert error_of(await server.token(auth_req_id))[0] == "expired_token"


async def test_token_request_errors(server: AS) -> None:
    auth_req_id = (await server.authorize()).json()["auth_req_id"]
    other_key = SigningKey.generate()
    error, text = error_of(await server.token(auth_req_id, key=other_key))
    assert error == "invalid_grant" and "DPoP key is not the one" in text
    assert error_of(await server.token("unknown"))[0] == "invalid_grant"
    error, _ = error_of(await server.token(auth_req_id, resource=OTHER))
    assert error == "invalid_target"
    wrong_grant = await server.http.post(
        "/oauth/token",
        data={"grant_type": "password", "auth_req_id": auth_req_id},
        headers={"DPoP": server.proof("/oauth/token")},
    )
    assert error_of(wrong_grant)[0] == "unsupported_grant_type"
    no_code = await server.http.post(  # the wallet login's grant: needs its own parameters
        "/oauth/token",
        data={"grant_type": "authorization_code", "auth_req_id": auth_req_id},
        headers={"DPoP": server.proof("/oauth/token")},
    )
    assert error_of(no_code) == ("invalid_request", "code is required")
    no_id = await server.http.post(
        "/oauth/token",
        data={"grant_type": GRANT_TYPE},
        headers={"DPoP": server.proof("/oauth/token")},
    )
    assert error_of(no_id)[0] == "invalid_request"
    repeated = await server.http.post(
        "/oauth/token",
        content=f"grant_type={GRANT_TYPE}&grant_type={GRANT_TYPE}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert error_of(repeated) == ("invalid_request", "parameter 'grant_type' repeated")
    as_json = await server.http.post("/oauth/token", json={"grant_type": GRANT_TYPE})
    assert error_of(as_json)[0] == "invalid_request"


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"https://x.example/mcp": {"policy": "nope"}}, "unknown policy 'nope'"),
        ({"not a uri": {"policy": "shop-checkout"}}, "not an absolute http(s) URI"),
        ({"https://x.example/mcp#f": {"policy": "shop-checkout"}}, "without fragment"),
    ],
)
def test_bad_resources_stop_the_verifier_at_startup(
    tmp_path: Path, resources: dict[str, Any], message: str
) -> None:
    init_data_dir(tmp_path, public_url=PUBLIC)
    policy = yaml.safe_load((tmp_path / "policy.yaml").read_text())
    policy["resources"] = resources
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy))
    settings = Settings(data_dir=tmp_path, store_url="memory://", public_url=PUBLIC)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        create_app(settings)
