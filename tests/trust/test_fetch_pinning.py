"""SafeFetcher resolves a name once and connects to that answer (DNS rebinding): a resolver
that answers a public address first and ``127.0.0.1`` next never gets the fetch to loopback,
and over real local HTTP the pinned connection keeps the name in ``Host``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.conftest import free_port
from tests.threaded_server import ThreadedServer
from verifier.ops.fetch import FetchError, SafeFetcher

pytestmark = pytest.mark.anyio
PUBLIC = "8.8.8.8"


class Rebinding:
    """A resolver whose answer changes: public first, loopback afterwards."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return [PUBLIC] if len(self.asked) == 1 else ["127.0.0.1"]


async def test_a_rebinding_answer_never_reaches_loopback() -> None:
    reached: list[tuple[str, str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:  # records where it would connect
        sni = request.extensions.get("sni_hostname")
        reached.append((request.url.host, request.headers["host"], sni))
        return httpx.Response(200, text="ok", headers={"content-type": "text/plain"})

    resolver = Rebinding()
    fetcher = SafeFetcher(transport=httpx.MockTransport(handler), resolver=resolver)
    try:
        first = await fetcher.get("https://status.example/list", accept="text/plain")
        with pytest.raises(FetchError) as refused:  # resolved anew: loopback now, refused
            await fetcher.get("https://status.example/list", accept="text/plain")
    finally:
        await fetcher.close()

    assert first.body == b"ok"
    assert refused.value.refused and "127.0.0.1" in refused.value.reason

    assert reached == [(PUBLIC, "status.example", "status.example")]  # pinned, name kept
    assert resolver.asked == ["status.example", "status.example"]  # once per fetch


@pytest.fixture
def local_server() -> Iterator[tuple[int, list[str]]]:
    hosts: list[str] = []

    async def serve(request: Request) -> Response:
        hosts.append(request.headers["host"])
        return Response(b"list", media_type="application/statuslist+jwt")

    port = free_port()
    server = ThreadedServer(Starlette(routes=[Route("/list", serve)]), port)
    yield port, hosts
    server.stop()


async def test_the_pinned_connection_keeps_the_name_over_real_http(
    local_server: tuple[int, list[str]],
) -> None:
    port, hosts = local_server

    async def resolver(host: str, _port: int) -> list[str]:
        assert host == "status.test"  # a name no system resolver knows
        return ["127.0.0.1"]

    fetcher = SafeFetcher(allow_hosts={"status.test"}, resolver=resolver)
    try:
        fetched = await fetcher.get(f"http://status.test:{port}/list", accept="*/*")
    finally:
        await fetcher.close()

    assert (fetched.status_code, fetched.body) == (200, b"list")
    assert hosts == [f"status.test:{port}"]
