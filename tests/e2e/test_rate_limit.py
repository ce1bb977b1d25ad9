"""``AGENTVP_WALLET_RATE_LIMIT`` over HTTP: the wallet endpoints and ``/oauth/agent-authorize``
answer a client's request over the limit with ``429`` + ``Retry-After`` and change nothing;
other clients are unaffected; the window slides; ``0`` disables it. In-process (a controlled
clock, chosen client addresses), and through ``agentvp serve`` for who the client *is*: the TCP
peer, unless ``AGENTVP_TRUSTED_PROXIES`` names the proxy that sent ``X-Forwarded-For``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.e2e.harness import in_process_app, make_data_dir, start_verifier
from verifier.setup.data_dir import init_data_dir

PUBLIC = "http://localhost:8080"
WALLET = ("203.0.113.7", 40000)
OTHER = ("198.51.100.9", 40000)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("ratelimit") / "data"
    return path, init_data_dir(path, public_url=PUBLIC)["api_key"]


@dataclass
class Verifier:
    """The app in-process with a settable clock; ``client(address)`` speaks from an address."""

    app: FastAPI
    clock: list[float]
    api_key: str

    def client(self, address: tuple[str, int] = WALLET) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=address)
        return httpx.AsyncClient(transport=transport, base_url=PUBLIC)

    async def create(self) -> dict[str, Any]:
        async with self.client(("192.0.2.1", 1)) as rp:
            headers = {"Authorization": f"Bearer {self.api_key}"}
            response = await rp.post(
                "/v1/presentations", json={"profile": "identity"}, headers=headers
            )
            assert response.status_code == 201, response.text
            view: dict[str, Any] = response.json()
            return view

    async def view(self, tx_id: str) -> dict[str, Any]:
        async with self.client(("192.0.2.1", 1)) as rp:
            headers = {"Authorization": f"Bearer {self.api_key}"}
            view: dict[str, Any] = (
                await rp.get(f"/v1/presentations/{tx_id}", headers=headers)
            ).json()
            return view


@pytest.fixture
def verifier(data_dir: tuple[Path, str]) -> Callable[[int], Verifier]:
    def build(limit: int) -> Verifier:
        clock = [1_800_000_000.0]
        app = in_process_app(
            *data_dir, public_url=PUBLIC, wallet_rate_limit=limit, clock=lambda: clock[0]
        )
        return Verifier(app, clock, data_dir[1])

    return build


def assert_limited(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    assert response.json() == {
        "error": "temporarily_unavailable",
        "error_description": response.json()["error_description"],
    }
    assert "too many requests" in response.json()["error_description"]
    assert response.headers["cache-control"] == "no-store"
    retry = int(response.headers["retry-after"])
    assert 1 <= retry <= 61
    return retry


@pytest.mark.anyio
async def test_the_request_over_the_limit_gets_429_and_changes_nothing(
    verifier: Callable[[int], Verifier], caplog: pytest.LogCaptureFixture
) -> None:
    v = verifier(5)
    view = await v.create()
    request_path = view["request_uri"].removeprefix(PUBLIC)
    response_path = request_path.replace("/wallet/request/", "/wallet/response/")
    async with v.client() as wallet, v.client(OTHER) as other:
        for _ in range(3):  # every kind of request counts, answered or not
            assert (await wallet.get("/wallet/request/unknown")).status_code == 404
        assert (await wallet.post("/wallet/response/unknown", data={"a": "b"})).status_code == 404
        assert (await wallet.post("/oauth/agent-authorize", data={})).status_code in (400, 404)
        before = await v.view(view["id"])
        with caplog.at_level(logging.WARNING, logger="agentvp.ratelimit"):
            assert_limited(await wallet.get(request_path))
            assert_limited(await wallet.post(request_path, data={"wallet_nonce": "n"}))
            assert_limited(await wallet.post("/oauth/agent-authorize", data={}))
        assert await v.view(view["id"]) == before  # still pending, same version
        assert before["status"] == "pending"

        fetched = await other.get(request_path)  # another client: its own budget
        assert fetched.status_code == 200, fetched.text
        during = await v.view(view["id"])
        assert during["status"] == "request_retrieved"
        assert_limited(await wallet.post(response_path, data={"vp_token": "{}", "state": "x"}))
        assert await v.view(view["id"]) == during

        metrics = (await other.get("/metrics")).text
    assert 'agentvp_rate_limited_total{route="/wallet/request/{request_id}"} 2.0' in metrics
    assert 'agentvp_rate_limited_total{route="/oauth/agent-authorize"} 1.0' in metrics
    assert 'agentvp_rate_limited_total{route="/wallet/response/{request_id}"} 1.0' in metrics
    warnings = [r.getMessage() for r in caplog.records if r.name == "agentvp.ratelimit"]
    assert warnings == [  # once per burst, and never the request id (a bearer value)
        "client 203.0.113.7 over the rate limit (5 requests/min) at /wallet/request/{request_id}"
    ]


@pytest.mark.anyio
async def test_the_window_slides(verifier: Callable[[int], Verifier]) -> None:
    v = verifier(2)
    async with v.client() as wallet:
        assert (await wallet.get("/wallet/request/a")).status_code == 404
        v.clock[0] += 30
        assert (await wallet.get("/wallet/request/b")).status_code == 404
        assert assert_limited(await wallet.get("/wallet/request/c")) == 31
        v.clock[0] += 31
        assert (await wallet.get("/wallet/request/d")).status_code == 404  # the first one left
        assert_limited(await wallet.get("/wallet/request/e"))
        v.clock[0] += 30
        assert (await wallet.get("/wallet/request/f")).status_code == 404


@pytest.mark.anyio
async def test_zero_disables_the_limit(verifier: Callable[[int], Verifier]) -> None:
    v = verifier(0)
    async with v.client() as wallet:
        codes = {(await wallet.get(f"/wallet/request/{i}")).status_code for i in range(700)}
    assert codes == {404}


@pytest.mark.anyio
async def test_the_jwks_and_the_rp_api_are_not_limited(verifier: Callable[[int], Verifier]) -> None:
    v = verifier(1)
    async with v.client() as wallet:
        assert (await wallet.get("/wallet/request/a")).status_code == 404
        assert_limited(await wallet.get("/wallet/request/a"))
        assert (await wallet.get("/.well-known/jwks.json")).status_code == 200
        assert (await wallet.get("/v1/presentations/x")).status_code == 401


# ------------------------------------------------------------------ who the client is


@contextmanager
def _served(data_dir: Path, **env: str) -> Iterator[str]:
    make_data_dir(data_dir, "http://localhost:8080")
    server = start_verifier(data_dir, wallet_rate_limit="2", **env)
    try:
        yield server.url
    finally:
        server.stop()


def _fetch(base: str, forwarded_for: str) -> int:
    headers = {"X-Forwarded-For": forwarded_for}
    return httpx.get(f"{base}/wallet/request/unknown", headers=headers, timeout=5).status_code


@pytest.mark.e2e
def test_x_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    with _served(tmp_path / "direct") as base:  # default: the TCP peer is the client
        codes = [_fetch(base, f"192.0.2.{i}") for i in range(3)]
        assert codes == [404, 404, 429]  # a made-up X-Forwarded-For changes nothing
    with _served(tmp_path / "proxied", trusted_proxies="127.0.0.1,::1") as base:
        codes = [_fetch(base, f"192.0.2.{i}") for i in range(3)]
        assert codes == [404, 404, 404]  # three clients behind the proxy
        codes = [_fetch(base, "192.0.2.77, 192.0.2.200") for _ in range(3)]
        assert codes == [404, 404, 429]  # the rightmost untrusted address is the client
