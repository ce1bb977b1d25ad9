"""The demo page's agent checkout API in-process: absent outside demo mode, the RP API's action
validation, no caller-chosen URLs, rate-limited, and blind to verifications it did not create."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.test_demo_api import PUBLIC, assert_page_headers, client_for
from verifier.setup.data_dir import init_data_dir

pytestmark = pytest.mark.anyio
API = "/demo/api/agent-checkouts"
ENDPOINTS = [
    ("GET", "/agent"),
    ("GET", f"{API}/policies"),
    ("POST", API),
    ("GET", f"{API}/x"),
    ("GET", f"{API}/x/human-qr.svg"),
]


def action(amount: int = 12990, **extra: Any) -> dict[str, Any]:
    return {
        "action": "payment.initiate",
        "transaction_id": "ord-1",
        "payee": {"id": "merchant-4711", "name": "Shop A", "domain": "shop-a.example"},
        "payment_amount": {"amount": amount, "currency": "EUR"},
        "mandate_jti": "urn:uuid:m-1",
        **extra,
    }


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("web-agent") / "data"
    return path, init_data_dir(path, public_url=PUBLIC)["api_key"]


@pytest.fixture
async def demo(data_dir: tuple[Path, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(data_dir, demo_mode=True) as client:
        yield client


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_absent_unless_demo_mode(data_dir: tuple[Path, str], method: str, path: str) -> None:
    async with client_for(data_dir, demo_mode=False) as client:
        response = await client.request(method, path, json={"action": action()})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_page_and_policies(demo: httpx.AsyncClient) -> None:
    page = await demo.get("/agent")
    assert page.status_code == 200 and '<script src="/static/agent.js" defer></script>' in page.text
    assert_page_headers(page.headers)
    policies = (await demo.get(f"{API}/policies")).json()["policies"]
    assert policies == [{"name": "shop-checkout", "payee_domain": "shop-a.example"}]


async def test_a_checkout_gives_the_agent_its_request_and_the_command(
    demo: httpx.AsyncClient,
) -> None:
    created = await demo.post(API, json={"action": action()})
    assert created.status_code == 201, created.text
    view = created.json()
    assert view["decision"] == "pending" and view["policy"] == "shop-checkout"
    uri = view["agent_request"]["authorization_request_uri"]
    assert uri.startswith("openid4vp://?client_id=x509_hash")
    assert view["agent_request"]["command"].startswith(f"wallet-sim agent answer '{uri}' --action")
    assert "human_request" not in view  # below 250 EUR: the person only after the mandate
    assert (await demo.get(f"{API}/{view['id']}/human-qr.svg")).status_code == 404
    again = await demo.get(f"{API}/{view['id']}")
    assert again.json()["id"] == view["id"] and again.headers["cache-control"] == "no-store"


async def test_above_the_threshold_the_person_is_asked_at_once(demo: httpx.AsyncClient) -> None:
    view = (await demo.post(API, json={"action": action(30000)})).json()
    human = view["human_request"]
    assert human["qr_svg_uri"] == f"{API}/{view['id']}/human-qr.svg"
    svg = await demo.get(human["qr_svg_uri"])
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"action": action(), "callback_url": "http://evil.test/"}, "Extra inputs"),
        ({"action": action(redirect_uri="https://evil.test/")}, "Extra inputs"),
        ({"action": {**action(), "payment_amount": {"amount": "1", "currency": "EUR"}}}, "amount"),
        ({"action": {k: v for k, v in action().items() if k != "mandate_jti"}}, "mandate_jti"),
        ({"policy": "nope", "action": action()}, "unknown policy"),
        ({}, "action"),
    ],
)
async def test_bad_bodies_are_refused_with_the_reason(
    demo: httpx.AsyncClient, body: dict[str, Any], fragment: str
) -> None:
    response = await demo.post(API, json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert fragment in response.json()["error_description"]


async def test_cross_origin_and_untyped_writes_are_refused(demo: httpx.AsyncClient) -> None:
    evil = await demo.post(API, json={"action": action()}, headers={"Origin": "https://evil.test"})
    assert evil.status_code == 403
    form = await demo.post(API, content=b"action=x")
    assert form.status_code == 415


async def test_only_its_own_checkouts_are_visible(
    demo: httpx.AsyncClient, data_dir: tuple[Path, str]
) -> None:
    rp = await demo.post(
        "/v1/agent-verifications",
        json={"policy": "shop-checkout", "action": action()},
        headers={"Authorization": f"Bearer {data_dir[1]}"},
    )
    assert rp.status_code == 201
    hidden = await demo.get(f"{API}/{rp.json()['id']}")
    assert hidden.status_code == 404 and hidden.json()["error"] == "not_found"
    presentation = (await demo.post("/demo/api/presentations", json={"profile": "identity"})).json()
    other = await demo.get(f"{API}/{presentation['cross_device']['id']}")
    assert other.status_code == 404


async def test_checkouts_are_rate_limited_per_client(data_dir: tuple[Path, str]) -> None:
    async with client_for(data_dir, demo_mode=True, demo_rate_limit=2) as client:
        codes = [(await client.post(API, json={"action": action()})).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
