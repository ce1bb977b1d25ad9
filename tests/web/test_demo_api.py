"""The verifier's web router in-process: pages, static files, security headers, and the demo API
(present only in demo mode, key-less, hence narrow: bounded bodies, the RP API's validation, no
caller-chosen URLs, rate-limited, and blind to transactions it did not create)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from verifier.app import create_app
from verifier.routes.web import CSP, MAX_DEMO_BODY
from verifier.settings import Settings
from verifier.setup.data_dir import init_data_dir

PUBLIC = "http://localhost:8080"
DEMO_ENDPOINTS = [
    ("GET", "/demo/api/presets"),
    ("POST", "/demo/api/validate"),
    ("POST", "/demo/api/presentations"),
    ("GET", "/demo/api/presentations/x"),
    ("POST", "/demo/api/presentations/x/redeem"),
    ("GET", "/demo/api/presentations/x/events"),
    ("GET", "/demo/api/presentations/x/qr.svg"),
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("web") / "data"
    return path, init_data_dir(path, public_url=PUBLIC)["api_key"]


pytestmark = pytest.mark.anyio


def client_for(data_dir: tuple[Path, str], **settings: Any) -> httpx.AsyncClient:
    """The app in-process (ASGI transport; the memory store needs no lifespan)."""
    values = {
        "data_dir": data_dir[0],
        "api_keys": data_dir[1],
        "store_url": "memory://",
        "public_url": PUBLIC,
        **settings,
    }
    transport = httpx.ASGITransport(app=create_app(Settings(**values)))
    return httpx.AsyncClient(transport=transport, base_url=PUBLIC)


@pytest.fixture
async def demo(data_dir: tuple[Path, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(data_dir, demo_mode=True) as client:
        yield client


@pytest.fixture
async def production(data_dir: tuple[Path, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(data_dir, demo_mode=False) as client:
        yield client


def assert_page_headers(headers: Any) -> None:
    assert headers["content-security-policy"] == CSP
    assert "unsafe-inline" not in CSP and "default-src 'self'" in CSP
    assert "frame-ancestors 'none'" in CSP and "img-src 'self' data:" in CSP
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(("method", "path"), DEMO_ENDPOINTS)
async def test_demo_api_is_absent_when_demo_mode_is_off(
    production: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await production.request(method, path, json={"profile": "identity"})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_root_without_demo_mode_is_a_pointer_to_the_docs(
    production: httpx.AsyncClient,
) -> None:
    response = await production.get("/")
    assert response.status_code == 200
    assert "/docs" in response.text
    assert "app.js" not in response.text and "<script" not in response.text
    assert_page_headers(response.headers)


async def test_root_in_demo_mode_is_the_demo_page_with_headers(demo: httpx.AsyncClient) -> None:
    response = await demo.get("/")
    assert response.status_code == 200
    assert '<script src="/static/app.js" defer></script>' in response.text
    assert_page_headers(response.headers)
    script = await demo.get("/static/app.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert_page_headers(script.headers)
    assert (await demo.get("/static/style.css")).headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    "name", ["index.html", "wallet", "wallet.js", "..%2Fpyproject.toml", "missing.js", ".git"]
)
async def test_static_serves_only_allow_listed_files_directly_in_web(
    demo: httpx.AsyncClient, name: str
) -> None:
    assert (await demo.get(f"/static/{name}")).status_code == 404


async def test_presets_are_the_policy_file_presets(demo: httpx.AsyncClient) -> None:
    response = await demo.get("/demo/api/presets")
    names = [p["name"] for p in response.json()["presets"]]
    assert names[:2] == ["identity", "agent_mandate"]
    assert all(p["dcql_query"]["credentials"] for p in response.json()["presets"])
    assert_page_headers(response.headers)


async def test_create_makes_a_cross_and_a_same_device_request_back_to_the_page(
    demo: httpx.AsyncClient,
) -> None:
    response = await demo.post("/demo/api/presentations", json={"profile": "identity"})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    cross, same = response.json()["cross_device"], response.json()["same_device"]
    assert cross["flow"] == "cross_device" and same["flow"] == "same_device"
    assert cross["authorization_request_uri"].startswith("openid4vp://?client_id=x509_hash")
    assert cross["status_uri"] == f"/demo/api/presentations/{cross['id']}"
    assert "qr_png_uri" not in cross
    status = await demo.get(cross["status_uri"])
    assert status.json()["status"] == "pending"
    assert status.headers["cache-control"] == "no-store"
    assert_page_headers(status.headers)
    svg = await demo.get(cross["qr_svg_uri"])
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in svg.text
    redeem = await demo.post(f"{same['status_uri']}/redeem", json={"response_code": "guess"})
    assert redeem.status_code == 200 and "result" not in redeem.json()  # not final: nothing


async def test_same_device_return_goes_to_the_page_only(demo: httpx.AsyncClient) -> None:
    for extra in ({"redirect_uri": "https://evil.example/"}, {"callback_url": "http://x.test"}):
        response = await demo.post("/demo/api/presentations", json={"profile": "identity", **extra})
        assert response.status_code == 400
        assert "Extra inputs are not permitted" in response.json()["error_description"]


async def test_invalid_dcql_gets_the_same_message_as_the_rp_api(
    demo: httpx.AsyncClient, data_dir: tuple[Path, str]
) -> None:
    query = {"credentials": [{"id": "x", "format": "dc+sd-jwt", "meta": {}}]}
    page = await demo.post("/demo/api/validate", json={"dcql_query": query})
    api = await demo.post(
        "/v1/presentations",
        json={"dcql_query": query},
        headers={"Authorization": f"Bearer {data_dir[1]}"},
    )
    assert page.status_code == api.status_code == 400
    assert page.json()["error_description"] == api.json()["error_description"]
    assert "vct_values" in page.json()["error_description"]
    ok = await demo.post("/demo/api/validate", json={"profile": "agent_mandate"})
    assert ok.json() == {"valid": True}


async def test_bodies_are_bounded_and_typed(demo: httpx.AsyncClient) -> None:
    big = {"dcql_query": {"credentials": [], "pad": "x" * MAX_DEMO_BODY}}
    assert (await demo.post("/demo/api/presentations", json=big)).status_code == 413
    wrong = await demo.post("/demo/api/presentations", content=b"profile=identity")
    assert wrong.status_code == 415
    dup = await demo.post(
        "/demo/api/presentations",
        content=b'{"profile": "identity", "profile": "agent_mandate"}',
        headers={"Content-Type": "application/json"},
    )
    assert dup.status_code == 400 and "duplicate" in dup.json()["error_description"]
    too_many = {"profile": "agent_mandate", "transaction_data": ["x"] * 9}
    assert (await demo.post("/demo/api/presentations", json=too_many)).status_code == 400


async def test_cross_origin_writes_are_refused(demo: httpx.AsyncClient) -> None:
    response = await demo.post(
        "/demo/api/presentations",
        json={"profile": "identity"},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    same = await demo.post(
        "/demo/api/presentations", json={"profile": "identity"}, headers={"Origin": PUBLIC}
    )
    assert same.status_code == 201


async def test_starts_are_rate_limited_per_client(data_dir: tuple[Path, str]) -> None:
    async with client_for(data_dir, demo_mode=True, demo_rate_limit=2) as client:
        codes = [
            (await client.post("/demo/api/presentations", json={"profile": "identity"})).status_code
            for _ in range(3)
        ]
    assert codes == [201, 201, 429]


async def test_the_demo_api_cannot_read_rp_api_transactions(
    demo: httpx.AsyncClient, data_dir: tuple[Path, str]
) -> None:
    created = await demo.post(
        "/v1/presentations",
        json={"profile": "identity"},
        headers={"Authorization": f"Bearer {data_dir[1]}"},
    )
    tx_id = created.json()["id"]
    for suffix in ("", "/qr.svg", "/events"):
        assert (await demo.get(f"/demo/api/presentations/{tx_id}{suffix}")).status_code == 404
