"""The lean path to the two wallet POSTs answers exactly as the FastAPI routes it stands for.

The first request to each path goes through FastAPI (the fast path learns the route from it),
every later one through :class:`verifier.routes.wallet_fast.WalletFastPath`. So each case is
sent twice to a fresh app - once through each - and the two answers must be byte-identical
(status, headers, body); the access log and the latency metric name the same route template;
flows over HTTP still verify; the OpenAPI document still lists both routes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_flows import Env
from verifier.app import build_service, create_app
from verifier.routes.wallet_fast import WalletFastPath
from verifier.settings import Settings
from verifier.setup.data_dir import init_data_dir
from verifier.store.memory import MemoryStore

pytestmark = pytest.mark.e2e

PUBLIC = "http://localhost:8080"
CLIENT = ("203.0.113.7", 40000)
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("fastpath") / "data"
    return path, init_data_dir(path, public_url=PUBLIC)["api_key"]


def _app(data_dir: tuple[Path, str], limit: int = 0) -> Any:
    settings = Settings(
        data_dir=data_dir[0],
        api_keys=data_dir[1],
        store_url="memory://",
        public_url=PUBLIC,
        wallet_rate_limit=limit,
    )
    return create_app(settings, service=build_service(settings, store=MemoryStore()))


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=CLIENT), base_url=PUBLIC)


def _answer(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((k, v) for k, v in response.headers.items() if k != "date")
    return response.status_code, headers, response.content


async def _create(client: httpx.AsyncClient, api_key: str) -> dict[str, Any]:
    response = await client.post(
        "/v1/presentations",
        json={"profile": "identity"},
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert response.status_code == 201, response.text
    view: dict[str, Any] = response.json()
    return view


def _fast_path(app: Any) -> WalletFastPath:
    stack = app.middleware_stack
    while not isinstance(stack, WalletFastPath):
        stack = stack.app
    return stack


CASES: list[tuple[str, dict[str, Any]]] = [
    ("/wallet/request/unknown-id", {"data": {"wallet_nonce": "n"}}),
    ("/wallet/request/unknown-id", {"content": b"x=1", "headers": {"content-type": "text/plain"}}),
    ("/wallet/request/unknown-id", {"content": b"%zz=1", "headers": {"content-type": FORM}}),
    ("/wallet/response/unknown-id", {"data": {"response": "a.b.c.d.e"}}),
    ("/wallet/response/unknown-id", {"content": b"{}", "headers": {"content-type": "text/json"}}),
    ("/wallet/response/unknown-id", {"content": b"", "headers": {"content-type": FORM}}),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("path", "request_kwargs"), CASES)
async def test_fast_path_answers_like_fastapi(
    data_dir: tuple[Path, str],
    path: str,
    request_kwargs: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _app(data_dir)
    caplog.set_level(logging.INFO, logger="agentvp.access")
    async with _client(app) as client:
        through_fastapi = await client.post(path, **request_kwargs)
        assert _fast_path(app)._routes, "the first request taught the fast path its route"
        through_fast_path = await client.post(path, **request_kwargs)
    assert 400 <= through_fastapi.status_code < 500, through_fastapi.text
    assert _answer(through_fast_path) == _answer(through_fastapi)
    lines = [r.getMessage() for r in caplog.records if r.name == "agentvp.access"]
    template = path.rsplit("/", 1)[0] + "/{request_id}"
    assert lines == [f"POST {template} {through_fastapi.status_code}"] * 2


@pytest.mark.anyio
async def test_rate_limit_answers_alike_and_counts_the_same_route(
    data_dir: tuple[Path, str],
) -> None:
    app = _app(data_dir, limit=1)
    async with _client(app) as client:
        await client.post("/wallet/request/x")  # learns the route, uses the one allowed
        first_429 = await client.post("/wallet/request/x")  # fast path, over the limit
    other = _app(data_dir, limit=1)
    async with _client(other) as client:
        await client.post("/wallet/request/x")
        _fast_path(other)._routes.clear()  # both through FastAPI now
        fastapi_429 = await client.post("/wallet/request/x")
    assert first_429.status_code == 429
    assert _answer(first_429) == _answer(fastapi_429)
    metrics = (await _client(app).get("/metrics")).text
    assert 'agentvp_rate_limited_total{route="/wallet/request/{request_id}"} 1.0' in metrics


def test_flows_over_http_run_through_the_fast_path(tmp_path: Path) -> None:
    """``agentvp serve``: the first flow teaches the fast path, the next ones run through it."""
    env = Env(tmp_path)
    try:
        for _ in range(3):
            view = env.rp.create(profile="identity")
            simulator = env.simulator()
            request = simulator.resolve(view["authorization_request_uri"])
            simulator.submit(simulator.propose(request))
            simulator.http.close()
            result = env.rp.get(view["id"]).json()
            assert result["status"] == "verified", result
    finally:
        env.close()


def test_openapi_still_lists_both_wallet_posts(data_dir: tuple[Path, str]) -> None:
    paths = _app(data_dir).openapi()["paths"]
    assert "post" in paths["/wallet/request/{request_id}"]
    assert "post" in paths["/wallet/response/{request_id}"]
