"""The unmodified `mcp` SDK client against examples/mcp_shop, logging in through real Chromium.

`OAuthClientProvider` + `streamable_http_client` discover the resource metadata (RFC 9728) from
the shop's 401, agentvp's metadata (RFC 8414), register (RFC 7591), and hand the authorization
URL to our redirect handler, which opens it in headless Chromium. The page shows the QR code
and `<a id="wallet-link" href="openid4vp://…">`; the wallet simulator answers that link
(`wallet-sim present <href> --yes`); the page itself then navigates to the client's loopback
callback with `code`, `state` and `iss`, the client exchanges the code (PKCE) and lists the
tools and calls `checkout`. Also: step-up (403 `insufficient_scope` → a second login asking for
`mcp mcp:refund`) and refresh (the token of the step-up shop lives 3 s; the next call
refreshes without a browser).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright

from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import free_port
from tests.mcp.conftest import claims_of
from tests.oauth.conftest import CALLBACK, World, wallet_sim_async

pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.browser]
ORDER = {"order_id": "ord-s1", "amount": 12990, "currency": "EUR"}


class MemoryStorage:
    """The client's token storage (the SDK's `TokenStorage` protocol), remembering history."""

    def __init__(self) -> None:
        self.tokens: list[OAuthToken] = []
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens[-1] if self.tokens else None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens.append(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


@dataclass
class Host:
    """The MCP host's side: a loopback callback server and the browser the person uses."""

    world: World
    page: Page
    port: int
    answers: asyncio.Queue[dict[str, str]] = field(default_factory=asyncio.Queue)
    authorizations: list[str] = field(default_factory=list)
    wallet_links: list[str] = field(default_factory=list)

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = (await reader.readline()).decode("latin-1")
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        target = line.split(" ")[1] if line.count(" ") >= 2 else "/"
        parts = urlsplit(target)
        if parts.path == CALLBACK:
            await self.answers.put({k: v[0] for k, v in parse_qs(parts.query).items()})
        page = (
            b'<!doctype html><title>done</title><link rel="icon" href="data:,">'
            b"<p>You can close this window.</p>"
        )
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
            + f"Content-Length: {len(page)}\r\n\r\n".encode()
            + page
        )
        await writer.drain()
        writer.close()

    async def redirect(self, url: str) -> None:
        """The SDK's redirect handler: open the authorization URL; the person's wallet answers
        the link the page shows on load."""
        self.authorizations.append(url)
        await self.page.goto(url)
        link = await self.page.get_attribute("#wallet-link", "href")
        assert link is not None and link.startswith("openid4vp://"), link
        assert await self.page.locator("#qr svg").count() == 1
        self.wallet_links.append(link)
        code, out = await wallet_sim_async("present", link, "--yes", wallet=self.world.wallet_dir)
        assert code == 0, out

    async def callback(self) -> tuple[str, str | None]:
        """The SDK's callback handler: what the page delivered to the loopback redirect."""
        answer = await asyncio.wait_for(self.answers.get(), timeout=60)
        assert answer.get("iss") == self.world.url, answer  # RFC 9207
        assert "error" not in answer, answer
        return answer["code"], answer.get("state")

    def provider(self, server_url: str, storage: MemoryStorage) -> OAuthClientProvider:
        metadata = OAuthClientMetadata(
            client_name="Stock MCP host",
            redirect_uris=[self.redirect_uri],  # type: ignore[list-item]
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        )
        return OAuthClientProvider(
            server_url,
            metadata,
            storage,
            redirect_handler=self.redirect,
            callback_handler=self.callback,
            timeout=120,
        )


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


def _console_error(message: ConsoleMessage) -> str:
    return f"{message.text} ({message.location.get('url')})"


@pytest.fixture
async def host(world: World, browser: Browser) -> AsyncIterator[Host]:
    context = await browser.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(_console_error(m)) if m.type == "error" else None)
    port = free_port()
    host = Host(world, page, port)
    server = await asyncio.start_server(host.handle, "127.0.0.1", port)
    try:
        yield host
    finally:
        # the browser first: a request it still makes to the loopback host (on a busy machine
        # it may come late) must not meet a closed port
        await context.close()
        server.close()
        await server.wait_closed()
    assert errors == [], errors  # a CSP violation would be a console error


async def call(url: str, auth: OAuthClientProvider, tool: str | None) -> tuple[list[str], Any]:
    """One MCP session: initialize, list the tools, maybe call one."""
    async with (
        httpx.AsyncClient(auth=auth, timeout=60, trust_env=False) as client,
        streamable_http_client(url, http_client=client) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        tools = [t.name for t in (await session.list_tools()).tools]
        if tool is None:
            return tools, None
        result = await session.call_tool(tool, ORDER)
        assert not result.isError, result
        return tools, json.loads(result.content[0].text)  # type: ignore[union-attr]


async def test_stock_client_logs_in_with_the_wallet_and_calls_checkout(
    world: World, host: Host
) -> None:
    shop = world.shops["shop"]
    storage = MemoryStorage()
    tools, paid = await call(shop.resource, host.provider(shop.resource, storage), "checkout")
    assert {"checkout", "refund"} <= set(tools)
    assert paid["status"] == "paid" and paid["order_id"] == ORDER["order_id"]
    assert len(host.authorizations) == 1
    asked = parse_qs(urlsplit(host.authorizations[0]).query)
    assert asked["code_challenge_method"] == ["S256"] and asked["resource"] == [shop.resource]
    token = storage.tokens[-1]
    assert token.token_type.lower() == "bearer" and token.scope == "mcp"
    claims = claims_of(token.access_token)
    assert claims["aud"] == shop.resource and claims["scope"] == "mcp"
    assert claims["client_id"] == storage.client.client_id  # type: ignore[union-attr]
    assert f"client_id={claims['client_id']}" in shop.log()


async def test_stock_client_steps_up_and_refreshes(world: World, host: Host) -> None:
    shop = world.shops["stepup"]
    storage = MemoryStorage()
    auth = host.provider(shop.resource, storage)
    _, paid = await call(shop.resource, auth, "checkout")
    assert paid["status"] == "paid"
    assert storage.tokens[-1].scope == "mcp"
    # refund needs mcp:refund: 403 insufficient_scope, a second wallet login asks for both.
    _, refunded = await call(shop.resource, auth, "refund")
    assert refunded["status"] == "refunded"
    assert len(host.authorizations) == 2
    assert parse_qs(urlsplit(host.authorizations[1]).query)["scope"] == ["mcp mcp:refund"]
    assert storage.tokens[-1].scope == "mcp mcp:refund"
    first_sub = claims_of(storage.tokens[0].access_token)["sub"]
    assert claims_of(storage.tokens[-1].access_token)["sub"] == first_sub  # same person+client
    # This resource's tokens live 3 s: after that the client refreshes, without a browser.
    before = storage.tokens[-1]
    await asyncio.sleep(4)
    _, again = await call(shop.resource, auth, "refund")
    assert again["status"] == "refunded"
    assert len(host.authorizations) == 2
    after = storage.tokens[-1]
    assert after.refresh_token and after.refresh_token != before.refresh_token  # rotated
    assert after.access_token != before.access_token
