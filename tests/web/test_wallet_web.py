"""The wallet simulator's web app in-process: consent helpers, bounded pending state, headers,
and every refusal path (the approve path runs against a real verifier in tests/browser)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.conftest import free_port
from tests.e2e.harness import make_wallet
from verifier.protocol import DCQLQuery
from verifier.protocol.oid4vp.wallet_request import RequestObject
from verifier.setup.data_dir import init_data_dir
from wallet_sim.consent import _value_text, optional_query_ids, without_optional
from wallet_sim.store import Wallet
from wallet_sim.web import MAX_IMAGE_BYTES, PendingRequests, create_app

IDENTITY = "https://agentvp.example/vct/verified_person/1"
MANDATE = "https://agentvp.example/vct/agent_mandate/1"
WALLET_URL = "http://127.0.0.1:8090"


def query(*sets: dict[str, Any]) -> DCQLQuery:
    credentials = [
        {"id": "identity", "format": "dc+sd-jwt", "meta": {"vct_values": [IDENTITY]}},
        {"id": "mandate", "format": "dc+sd-jwt", "meta": {"vct_values": [MANDATE]}},
    ]
    return DCQLQuery.parse({"credentials": credentials, "credential_sets": list(sets)})


def request_for(dcql: DCQLQuery) -> RequestObject:
    return RequestObject(
        client_id="x509_hash:abc",
        prefix="x509_hash",
        response_type="vp_token",
        response_mode="direct_post.jwt",
        response_uri="https://verifier.example/wallet/response/1",
        nonce="n",
        state="s",
        dcql_query=dcql,
    )


def test_optional_ids_are_those_only_optional_sets_ask_for() -> None:
    dcql = query({"options": [["identity"]]}, {"options": [["mandate"]], "required": False})
    assert optional_query_ids(dcql, {"identity", "mandate"}) == {"mandate"}
    assert optional_query_ids(dcql, {"identity"}) == set()  # not presented: nothing to choose
    both = query({"options": [["identity"]]}, {"options": [["identity"]], "required": False})
    assert optional_query_ids(both, {"identity"}) == set()  # required elsewhere wins


def test_without_optional_drops_only_the_optional_sets_naming_a_dropped_query() -> None:
    dcql = query({"options": [["identity"]]}, {"options": [["mandate"]], "required": False})
    request = request_for(dcql)
    assert without_optional(request, set()) is request
    narrowed = without_optional(request, {"mandate"})
    assert narrowed.dcql_query.credential_sets is not None
    assert [s.options for s in narrowed.dcql_query.credential_sets] == [(("identity",),)]
    assert narrowed.nonce == request.nonce and narrowed.response_uri == request.response_uri
    only_optional = request_for(query({"options": [["mandate"]], "required": False}))
    with pytest.raises(ValueError, match="decline instead"):
        without_optional(only_optional, {"mandate"})


def test_disclosure_values_read_as_one_short_line() -> None:
    assert _value_text({"id": "m-1", "name": "Shop A", "_sd": ["x"]}) == "id=m-1, name=Shop A"
    assert _value_text("Erika") == "Erika"
    assert _value_text(["a", 1]) == '["a", 1]'
    assert len(_value_text("x" * 1000)) == 160


def test_pending_requests_are_bounded_single_use_and_expire() -> None:
    now = [0.0]
    pending = PendingRequests(limit=2, ttl=10, clock=lambda: now[0])
    request = request_for(query({"options": [["identity"]]}))
    first, _ = pending.add(request, None, None)
    second, _ = pending.add(request, None, None)
    third, _ = pending.add(request, None, None)
    assert len(pending) == 2 and len(first) >= 43
    with pytest.raises(Exception, match="unknown or expired"):
        pending.take(first)  # evicted, the oldest
    assert pending.take(second).request is request
    with pytest.raises(Exception, match="unknown or expired"):
        pending.take(second)  # a decision is made once
    now[0] = 11
    with pytest.raises(Exception, match="unknown or expired"):
        pending.take(third)


@pytest.fixture(scope="module")
def wallet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wallet-web")
    init_data_dir(root / "data", public_url="http://localhost:8080")
    return make_wallet(root / "wallet", root / "data").path


@pytest.fixture
async def client(wallet_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(Wallet.open(wallet_dir)))
    async with httpx.AsyncClient(transport=transport, base_url=WALLET_URL) as http:
        yield http


def png(color: str = "white") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), color).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.anyio
async def test_page_and_static_files_carry_the_security_headers(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200 and '<script src="/static/wallet.js" defer>' in page.text
    for response in (page, await client.get("/static/wallet.js"), await client.get("/api/wallet")):
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
    for name in ("index.html", "..%2F..%2Fpyproject.toml", "app.js", "nope.css"):
        assert (await client.get(f"/static/{name}")).status_code == 404


@pytest.mark.anyio
async def test_summary_lists_the_wallets_own_credentials_and_anchors(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/api/wallet")).json()
    assert sorted(c["kind"] for c in body["credentials"]) == ["identity", "mandate"]
    assert body["trusted_verifiers"] == ["CN=agentvp dev Root CA"]
    assert "issuance" not in str(body)  # no credential material leaves the wallet


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("content", "content_type", "status", "fragment"),
    [
        (b'{"uri": "https://example.com/"}', "application/json", 400, "not an OpenID4VP"),
        (b'{"uri": ""}', "application/json", 400, "request URL"),
        (b"[1]", "application/json", 400, "JSON object"),
        (b"uri=openid4vp://", "application/x-www-form-urlencoded", 415, "image/png"),
        (png(), "image/png", 400, "no QR code found"),
        (b"not an image", "image/jpeg", 400, "not a readable image"),
        (b"openid4vp://?request_uri=x", "text/plain", 415, "JSON"),
    ],
)
async def test_bad_requests_are_refused_with_a_reason(
    client: httpx.AsyncClient, content: bytes, content_type: str, status: int, fragment: str
) -> None:
    response = await client.post(
        "/api/requests", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == status
    assert fragment in response.json()["error_description"]


@pytest.mark.anyio
async def test_image_bodies_are_bounded(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/requests",
        content=b"\0" * (MAX_IMAGE_BYTES + 1),
        headers={"Content-Type": "image/png"},
    )
    assert response.status_code == 413


@pytest.mark.anyio
async def test_an_unreachable_verifier_is_reported(client: httpx.AsyncClient) -> None:
    dead = f"http://127.0.0.1:{free_port()}/wallet/request/x"
    uri = f"openid4vp://?client_id=x509_hash%3Aabc&request_uri={dead}"
    response = await client.post("/api/requests", json={"uri": uri})
    assert response.status_code == 502
    assert response.json()["stage"] == "request"
    assert "cannot reach" in response.json()["error_description"]


@pytest.mark.anyio
async def test_decisions_need_a_live_id_and_the_same_origin(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/requests/nope/approve", json={})).status_code == 404
    assert (await client.post("/api/requests/nope/steal", json={})).status_code == 404
    bad = await client.post("/api/requests/nope/approve", json={"share_optional": "mandate"})
    assert bad.status_code == 400
    cross = await client.post(
        "/api/requests/nope/decline", json={}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403 and cross.json()["error"] == "access_denied"
