"""The authorization server in-process (memory store, fixed clock): RFC 8414 metadata, RFC 7591
registration, every refusal of ``/oauth/authorize`` (RFC 6749 §4.1.2.1: shown, not redirected,
when the client or redirect URI is in doubt; else redirected with ``state`` and ``iss``) - none
of which opens a presentation - and Client ID Metadata Documents (fetched, validated, cached;
an SSRF target refused by the outbound policy)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml
from fastapi import FastAPI

from verifier.app import build_service, create_app
from verifier.oauth.agent_grant import OAuthError
from verifier.oauth.clients import ClientRegistry, redirect_matches
from verifier.ops.fetch import SafeFetcher
from verifier.protocol.jose import b64url_decode, b64url_encode
from verifier.settings import Settings
from verifier.setup.data_dir import init_data_dir
from verifier.store.memory import MemoryStore

pytestmark = pytest.mark.anyio
PUBLIC = "http://localhost:8080"
SHOP = "http://127.0.0.1:8765/mcp"
AGENTS_ONLY = "https://agents.example/mcp"
REDIRECT = "http://127.0.0.1:5555/callback"
CHALLENGE = b64url_encode(hashlib.sha256(b"v" * 50).digest())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("authz") / "data"
    api_key = init_data_dir(path, public_url=PUBLIC)["api_key"]
    policy = yaml.safe_load((path / "policy.yaml").read_text())
    agents = dict(policy["policies"]["shop-checkout"])
    agents.pop("identity")
    policy["policies"]["agents"] = agents
    strict = copy.deepcopy(policy["policies"]["shop-checkout"])
    strict["identity"]["required_claims"].append("nationalities")
    strict["identity"]["trust_frameworks"] = {
        "eidas": {"levels": ["substantial", "high"], "min": "high"}
    }
    policy["policies"]["strict"] = strict
    policy["resources"] = {
        SHOP: {
            "policy": "shop-checkout",
            "scopes": ["mcp", "mcp:refund", "mcp:agents"],
            "default_scopes": ["mcp"],
            "scope_policies": {"mcp:refund": "strict", "mcp:agents": "agents"},
        },
        AGENTS_ONLY: {"policy": "agents"},
    }
    (path / "policy.yaml").write_text(yaml.safe_dump(policy))
    return path, api_key


def _app(data_dir: tuple[Path, str], **settings: Any) -> FastAPI:
    values = Settings(
        data_dir=data_dir[0],
        api_keys=data_dir[1],
        store_url="memory://",
        public_url=PUBLIC,
        **settings,
    )
    clock = 1_800_000_000.0
    service = build_service(values, store=MemoryStore(clock=lambda: clock), clock=lambda: clock)
    return create_app(values, service=service)


@pytest.fixture
async def http(data_dir: tuple[Path, str]) -> AsyncIterator[httpx.AsyncClient]:
    app = _app(data_dir)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC) as c:
        yield c


async def register(http: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await http.post("/oauth/register", json={"redirect_uris": [REDIRECT], **body})


async def client_id(http: httpx.AsyncClient) -> str:
    response = await register(http, client_name="Host <b>1</b>")
    assert response.status_code == 201, response.text
    return str(response.json()["client_id"])


def params(client: str, **changes: str | None) -> dict[str, str]:
    values: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client,
        "redirect_uri": REDIRECT,
        "state": "st-1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        "resource": SHOP,
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


async def created(http: httpx.AsyncClient) -> float:
    text = (await http.get("/metrics")).text
    found = re.search(r"^agentvp_presentations_created_total (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


async def test_metadata_is_the_contract(http: httpx.AsyncClient) -> None:
    meta = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert meta["issuer"] == PUBLIC
    assert meta["authorization_endpoint"] == f"{PUBLIC}/oauth/authorize"
    assert meta["token_endpoint"] == f"{PUBLIC}/oauth/token"
    assert meta["registration_endpoint"] == f"{PUBLIC}/oauth/register"
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["client_id_metadata_document_supported"] is True
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert "ES256" in meta["dpop_signing_alg_values_supported"]
    assert meta["token_endpoint_auth_methods_supported"] == ["none"]
    assert {"authorization_code", "refresh_token"} <= set(meta["grant_types_supported"])
    assert meta["scopes_supported"] == ["mcp", "mcp:agents", "mcp:refund"]


async def test_registration_of_a_public_loopback_client(http: httpx.AsyncClient) -> None:
    response = await register(http, token_endpoint_auth_method="none", unknown_member=1)
    assert response.status_code == 201 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["client_id"] and body["redirect_uris"] == [REDIRECT]
    assert body["token_endpoint_auth_method"] == "none" and "unknown_member" not in body


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"redirect_uris": ["http://example.com/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://example.com/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://u:p@example.com/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": []}, "invalid_redirect_uri"),
        ({"redirect_uris": [f"https://e.example/{i}" for i in range(6)]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://e.example/" + "a" * 600]}, "invalid_redirect_uri"),
        (
            {"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic"},
            "invalid_client_metadata",
        ),
        ({"redirect_uris": [REDIRECT], "grant_types": ["password"]}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT], "response_types": ["token"]}, "invalid_client_metadata"),
        ({"redirect_uris": [REDIRECT], "client_name": "x" * 101}, "invalid_client_metadata"),
        ([REDIRECT], "invalid_client_metadata"),
    ],
)
async def test_registration_refusals(http: httpx.AsyncClient, body: Any, error: str) -> None:
    response = await http.post("/oauth/register", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error


async def test_registration_bounds_its_body(http: httpx.AsyncClient) -> None:
    big = await http.post(
        "/oauth/register", content=json.dumps({"redirect_uris": [REDIRECT], "x": "a" * 9000})
    )
    assert big.status_code == 413 and big.json()["error"] == "invalid_client_metadata"
    duplicate = await http.post(
        "/oauth/register", content=b'{"redirect_uris":[],"redirect_uris":[]}'
    )
    assert duplicate.status_code == 400


async def test_the_page_without_scope_shows_the_default_scopes(http: httpx.AsyncClient) -> None:
    client = await client_id(http)
    response = await http.get("/oauth/authorize", params=params(client))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src" not in response.headers["content-security-policy"]  # default-src 'self'
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert re.search(r'<a id="wallet-link"[^>]*href="openid4vp://\?client_id=', page)
    assert "<code>mcp</code>" in page and "mcp:refund" not in page
    assert "Host &lt;b&gt;1&lt;/b&gt;" in page and "<b>1</b>" not in page  # escaped
    assert "<script>" not in page and "http://" not in page.split("<body>")[0].replace(
        "http://www.w3.org", ""
    )
    assert await created(http) == 1


async def requested_claims(http: httpx.AsyncClient, page: str) -> list[list[Any]]:
    """The claim paths of the presentation request behind the page's wallet link."""
    link = re.search(r'id="wallet-link"[^>]*href="([^"]+)"', page)
    assert link is not None
    request_uri = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)["request_uri"][0]
    jwt = (await http.post(request_uri.removeprefix(PUBLIC), data={})).text
    payload = json.loads(b64url_decode(jwt.split(".")[1]))
    return [c["path"] for c in payload["dcql_query"]["credentials"][0]["claims"]]


async def test_a_step_up_scope_asks_for_what_its_policy_needs(http: httpx.AsyncClient) -> None:
    client = await client_id(http)
    base = await http.get("/oauth/authorize", params=params(client))
    stepped = await http.get("/oauth/authorize", params=params(client, scope="mcp mcp:refund"))
    assert base.status_code == stepped.status_code == 200
    nationalities = ["verified_claims", "claims", "nationalities"]
    assert nationalities not in await requested_claims(http, base.text)
    assert nationalities in await requested_claims(http, stepped.text)
    assert "<code>mcp:refund</code>" in stepped.text


async def test_a_loopback_redirect_may_use_another_port(http: httpx.AsyncClient) -> None:
    client = await client_id(http)
    other = params(client, redirect_uri="http://127.0.0.1:6123/callback")
    assert (await http.get("/oauth/authorize", params=other)).status_code == 200
    assert redirect_matches(REDIRECT, "http://127.0.0.1:6123/callback")
    assert not redirect_matches(REDIRECT, "http://127.0.0.1:6123/other")
    assert not redirect_matches(REDIRECT, "http://localhost:6123/callback")
    assert not redirect_matches("https://a.example/cb", "https://a.example:444/cb")


@pytest.mark.parametrize(
    ("changes", "text"),
    [
        ({"client_id": "nope"}, "unknown client_id"),
        ({"client_id": None}, "client_id is required"),
        ({"redirect_uri": "http://127.0.0.1:5555/other"}, "not registered"),
        ({"redirect_uri": "https://evil.example/callback"}, "not registered"),
    ],
)
async def test_client_errors_are_shown_never_redirected(
    http: httpx.AsyncClient, changes: dict[str, str | None], text: str
) -> None:
    client = await client_id(http)
    response = await http.get("/oauth/authorize", params=params(client, **changes))
    assert response.status_code == 400 and "location" not in response.headers
    assert text in response.text
    assert await created(http) == 0


@pytest.mark.parametrize(
    ("changes", "error", "text"),
    [
        ({"code_challenge": None}, "invalid_request", "code_challenge is required"),
        ({"code_challenge_method": "plain"}, "invalid_request", "must be S256"),
        ({"code_challenge_method": None}, "invalid_request", "must be S256"),
        ({"code_challenge": "short"}, "invalid_request", "base64url SHA-256"),
        ({"response_type": "token"}, "unsupported_response_type", "must be code"),
        ({"resource": None}, "invalid_target", "resource is required"),
        ({"resource": "https://unknown.example/mcp"}, "invalid_target", "not a protected"),
        ({"resource": AGENTS_ONLY}, "invalid_target", "no identity rules"),
        ({"scope": "mcp admin"}, "invalid_scope", "unknown scope"),
        ({"scope": "mcp mcp:agents"}, "invalid_scope", "no identity rules"),
    ],
)
async def test_request_errors_go_back_with_state_and_iss(
    http: httpx.AsyncClient, changes: dict[str, str | None], error: str, text: str
) -> None:
    client = await client_id(http)
    response = await http.get("/oauth/authorize", params=params(client, **changes))
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    answer = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert answer["error"] == error and text in answer["error_description"]
    assert answer["state"] == "st-1" and answer["iss"] == PUBLIC
    assert await created(http) == 0


async def test_repeated_parameters_and_long_state_are_refused(http: httpx.AsyncClient) -> None:
    client = await client_id(http)
    query = "&".join(f"{k}={v}" for k, v in params(client).items()) + "&resource=x"
    response = await http.get("/oauth/authorize?" + query.replace("/", "%2F").replace(":", "%3A"))
    assert response.status_code == 302 and "resource+repeated" in response.headers["location"]
    long = await http.get("/oauth/authorize", params=params(client, state="s" * 600))
    assert long.status_code == 302 and "state=" not in long.headers["location"]
    assert await created(http) == 0


async def test_the_page_is_rate_limited_before_it_opens_a_presentation(
    data_dir: tuple[Path, str],
) -> None:
    app = _app(data_dir, wallet_rate_limit=3)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
        client = await client_id(http)  # registration counts too
        pages = [await http.get("/oauth/authorize", params=params(client)) for _ in range(3)]
        assert [p.status_code for p in pages] == [200, 200, 429]
        assert pages[2].json()["error"] == "temporarily_unavailable"
        assert await created(http) == 2


async def test_login_status_of_an_unknown_login_is_404(http: httpx.AsyncClient) -> None:
    assert (await http.get("/oauth/login/unknown")).status_code == 404
    assert (await http.get("/oauth/login/" + "x" * 80)).status_code == 404


# ------------------------------------------------------------------ CIMD


def registry(documents: dict[str, Any], fetched: list[str]) -> ClientRegistry:
    async def fetch(url: str) -> bytes:
        fetched.append(url)
        document = documents[url]
        return document if isinstance(document, bytes) else json.dumps(document).encode()

    clock = [1_800_000_000]
    return ClientRegistry(
        MemoryStore(clock=lambda: clock[0]),
        clock=lambda: clock[0],
        lifetime=60,
        cimd_ttl=300,
        fetch=fetch,
    )


CIMD = "https://host.example/.well-known/client.json"


async def test_a_client_metadata_document_is_fetched_validated_and_cached() -> None:
    fetched: list[str] = []
    documents = {CIMD: {"client_id": CIMD, "client_name": "Doc host", "redirect_uris": [REDIRECT]}}
    clients = registry(documents, fetched)
    client = await clients.get(CIMD)
    assert client.client_name == "Doc host" and client.redirect_uris == (REDIRECT,)
    assert client.kind == "metadata_document"
    await clients.get(CIMD)
    assert fetched == [CIMD]  # cached


@pytest.mark.parametrize(
    ("document", "text"),
    [
        ({"client_id": "https://other.example/c.json", "redirect_uris": [REDIRECT]}, "another"),
        ({"client_id": CIMD, "redirect_uris": ["http://evil.example/cb"]}, "only https"),
        (
            {
                "client_id": CIMD,
                "redirect_uris": [REDIRECT],
                "token_endpoint_auth_method": "private_key_jwt",
            },
            "public",
        ),
        (b"not json", "unusable"),
    ],
)
async def test_bad_client_metadata_documents_are_refused(document: Any, text: str) -> None:
    clients = registry({CIMD: document}, [])
    with pytest.raises(OAuthError) as caught:
        await clients.get(CIMD)
    assert caught.value.error == "invalid_client" and text in caught.value.description


async def test_a_client_metadata_url_at_a_private_address_is_never_fetched() -> None:
    fetcher = SafeFetcher(timeout=2)

    async def fetch(url: str) -> bytes:
        return (await fetcher.get(url, accept="application/json")).body

    clock = lambda: 1_800_000_000  # noqa: E731
    clients = ClientRegistry(
        MemoryStore(clock=clock), clock=clock, lifetime=60, cimd_ttl=60, fetch=fetch
    )
    for url in (
        "https://127.0.0.1/c.json",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/c",
    ):
        with pytest.raises(OAuthError) as caught:
            await clients.get(url)
        assert caught.value.error == "invalid_client" and "refusing" in caught.value.description
    await fetcher.close()


def test_resource_settings_are_checked(data_dir: tuple[Path, str]) -> None:
    from pydantic import ValidationError  # noqa: PLC0415

    from verifier.policy.presets import load_policy_file  # noqa: PLC0415
    from verifier.policy.resources import ResourcePolicy, check_resources  # noqa: PLC0415

    policies = load_policy_file(data_dir[0] / "policy.yaml").policies
    rule = ResourcePolicy.model_validate({"policy": "p", "scope_policies": {"mcp": "nope"}})
    with pytest.raises(ValueError, match=r"scope_policies\.mcp: unknown policy 'nope'"):
        check_resources({SHOP: rule}, {"p": policies["shop-checkout"]})
    # A bare self-issued ID token cannot show an identity's assurance level.
    siop = ResourcePolicy.model_validate({"policy": "shop-checkout", "self_issued_login": True})
    with pytest.raises(ValueError, match=r"self_issued_login: policy 'shop-checkout' asks for"):
        check_resources({SHOP: siop}, policies)
    check_resources({SHOP: siop.model_copy(update={"policy": "agents"})}, policies)
    assert ResourcePolicy.model_validate({"policy": "p"}).self_issued_login is False
    bad = [
        {"policy": "p", "scope_policies": {"other": "p"}},
        {"policy": "p", "default_scopes": ["other"]},
        {"policy": "p", "scopes": ["has space"]},
        {"policy": "p", "scopes": []},
    ]
    for value in bad:
        with pytest.raises(ValidationError):
            ResourcePolicy.model_validate(value)
    assert ResourcePolicy.model_validate({"policy": "p"}).granted_by_default == ["mcp"]
