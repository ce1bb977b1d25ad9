"""Mid-session confirmation as a URL-mode elicitation (MCP 2025-11-25), over real HTTP.

The `confirm` shop asks for the person's wallet confirmation of a wallet-login checkout above
CONFIRM_ABOVE: the `mcp` SDK client's `tools/call` gets `URLElicitationRequiredError` (-32042)
whose URL-mode elicitation points at agentvp's confirmation page; the host hands it to the
same handler it registers as its elicitation callback (so the client declares the `url`
capability), which opens the page and lets `wallet-sim present <href>` answer its wallet link;
the client then retries the call. Also: declined, another person's wallet, expired, replayed
and mismatched confirmations, and the API's refusals.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import McpError, UrlElicitationRequiredError
from mcp.types import (
    URL_ELICITATION_REQUIRED,
    CallToolResult,
    ElicitRequestParams,
    ElicitRequestURLParams,
    ElicitResult,
)
from playwright.async_api import async_playwright

from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import free_port
from tests.e2e.harness import make_wallet
from tests.oauth.conftest import CONFIRM_ABOVE, World, attr, wallet_sim, wallet_sim_async
from tests.oauth.test_wallet_login import exchange
from verifier.resource import AccessGrant, CallConfirmations, ConfirmationFailedError

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]
BIG = {"order_id": "ord-c1", "amount": CONFIRM_ABOVE + 1, "currency": "EUR"}
SMALL = {"order_id": "ord-c0", "amount": CONFIRM_ABOVE, "currency": "EUR"}
Elicit = Callable[[ElicitRequestURLParams], Awaitable[ElicitResult]]


def login_token(world: World, shop: str = "confirm", client: dict[str, Any] | None = None) -> str:
    resource = world.shops[shop].resource
    client = client or world.register()
    answer, verifier = world.login(client, resource)
    response = exchange(world, client, answer, verifier, resource)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


class Person:
    """The host's elicitation handler: shows the URL, the person opens it and answers the page's
    wallet link with ``wallet`` (``decline``: refuses in the wallet)."""

    def __init__(self, world: World, wallet: Path, *, decline: bool = False) -> None:
        self.world, self.wallet, self.decline = world, wallet, decline
        self.seen: list[ElicitRequestURLParams] = []

    async def __call__(self, params: ElicitRequestURLParams) -> ElicitResult:
        self.seen.append(params)
        async with httpx.AsyncClient(timeout=10) as http:
            page = await http.get(params.url)
        assert page.status_code == 200, page.text
        link = attr(page.text, 'id="wallet-link"', "href")
        assert link.startswith("openid4vp://")
        flags = ("--decline",) if self.decline else ("--yes",)
        await wallet_sim_async("present", link, *flags, wallet=self.wallet)
        return ElicitResult(action="accept")

    async def callback(self, context: Any, params: ElicitRequestParams) -> ElicitResult:
        """The same handler as the SDK's elicitation callback (declares `url` support)."""
        assert isinstance(params, ElicitRequestURLParams)
        return await self(params)


async def call(
    world: World, token: str, arguments: dict[str, Any], person: Person, *, tries: int = 1
) -> tuple[CallToolResult | None, list[ElicitRequestURLParams]]:
    """One MCP session: ``tools/call checkout``; on -32042 each URL elicitation goes to
    ``person``, then the call is retried (up to ``tries`` elicitation rounds)."""
    shop = world.shops["confirm"]
    asked: list[ElicitRequestURLParams] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(headers=headers, timeout=30, trust_env=False) as client,
        streamable_http_client(shop.resource, http_client=client) as (read, write, _),
        ClientSession(read, write, elicitation_callback=person.callback) as session,
    ):
        await session.initialize()
        for _ in range(tries + 1):
            try:
                return await session.call_tool("checkout", arguments), asked
            except McpError as exc:
                assert exc.error.code == URL_ELICITATION_REQUIRED, exc.error
                required = UrlElicitationRequiredError.from_error(exc.error).elicitations
                asked += required
                if len(asked) > tries:
                    return None, asked
                for params in required:
                    await person(params)
    return None, asked


def outcome(result: CallToolResult | None) -> dict[str, Any] | str:
    assert result is not None
    text = result.content[0].text  # type: ignore[union-attr]
    return text if result.isError else dict(json.loads(text))


async def test_a_large_checkout_goes_through_once_the_person_confirmed(world: World) -> None:
    token = login_token(world)
    person = Person(world, world.wallet_dir)
    small, asked = await call(world, token, SMALL, person)
    assert outcome(small)["status"] == "paid" and asked == []  # type: ignore[index]
    paid, asked = await call(world, token, BIG, person)
    assert outcome(paid)["status"] == "paid"  # type: ignore[index]
    assert len(asked) == 1 and asked[0].mode == "url"
    assert asked[0].url == f"{world.url}/oauth/confirm/{asked[0].elicitationId}"
    assert str(CONFIRM_ABOVE + 1) in asked[0].message and "ord-c1" in asked[0].message
    view = httpx.get(f"{asked[0].url}/status", timeout=10).json()
    assert view == {"status": "verified", "redeemed": True}
    # Spent: the same call again needs a new confirmation.
    again, asked_again = await call(world, token, BIG, Person(world, world.wallet_dir), tries=0)
    assert again is None and asked_again[0].elicitationId != asked[0].elicitationId


async def test_a_pending_confirmation_is_asked_for_again(world: World) -> None:
    token = login_token(world)
    order = {**BIG, "order_id": "ord-c2"}
    first, asked = await call(world, token, order, Person(world, world.wallet_dir), tries=0)
    second, asked_again = await call(world, token, order, Person(world, world.wallet_dir), tries=0)
    assert first is None and second is None
    assert asked_again[0].elicitationId == asked[0].elicitationId  # the same, still pending
    page = httpx.get(asked[0].url, timeout=10)
    assert page.status_code == 200
    assert "ord-c2" in page.text and "checkout" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


async def test_a_declined_confirmation_fails_the_call(world: World) -> None:
    token = login_token(world)
    result, asked = await call(world, token, BIG, Person(world, world.wallet_dir, decline=True))
    assert len(asked) == 1
    assert "checkout not confirmed: confirmation_rejected" in outcome(result)
    status = httpx.get(f"{asked[0].url}/status", timeout=10).json()
    assert status["status"] == "rejected" and "access_denied" in status["reason"]


async def test_another_persons_wallet_does_not_confirm(world: World) -> None:
    token = login_token(world)
    other = make_wallet(world.root / "other-wallet", world.root / "verifier")
    result, asked = await call(world, token, BIG, Person(world, other.path))
    assert "checkout not confirmed: confirmation_wrong_person" in outcome(result)
    status = httpx.get(f"{asked[0].url}/status", timeout=10).json()
    assert status == {"status": "rejected", "reason": "confirmation_wrong_person"}


# ------------------------------------------------------------------ the API


def api(world: World, path: str, body: Any, key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or world.api_key}"}
    return httpx.post(f"{world.url}{path}", json=body, headers=headers, timeout=10)


def confirmed(world: World, token: str, **extra: Any) -> str:
    call = {"token": token, "tool": "checkout", "arguments": BIG}
    started = api(world, "/oauth/confirmations", {**call, **extra})
    assert started.status_code == 201, started.text
    page = httpx.get(started.json()["url"], timeout=10)
    done = wallet_sim(
        "present", attr(page.text, 'id="wallet-link"', "href"), "--yes", wallet=world.wallet_dir
    )
    assert done.returncode == 0, done.stdout + done.stderr
    confirmation: str = started.json()["confirmation_id"]
    return confirmation


def test_a_confirmation_is_single_use(world: World) -> None:
    token = login_token(world)
    cid = confirmed(world, token)
    call = {"token": token, "tool": "checkout", "arguments": BIG}
    first = api(world, f"/oauth/confirmations/{cid}/redeem", call)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "confirmed"
    replayed = api(world, f"/oauth/confirmations/{cid}/redeem", call)
    assert replayed.status_code == 409 and replayed.json()["error"] == "confirmation_used"


def test_an_expired_confirmation_is_refused(world: World) -> None:
    """A confirmation the person made in time, redeemed after it lapsed. The lifetime grows
    (2, 5, 15 s) until the wallet's round trip - a process of its own - fits in it on this
    machine: a confirmation that lapsed before it was confirmed is not this case."""
    token = login_token(world)
    for lifetime in (2, 5, 15):
        started = time.time()
        cid = confirmed(world, token, lifetime=lifetime)
        status = world.poll_page(f"/oauth/confirm/{cid}/status")  # it decides, as the page's
        if status["status"] != "expired":
            break
    assert status == {"status": "verified"}, status
    time.sleep(max(0.0, started + lifetime + 1.1 - time.time()))
    call = {"token": token, "tool": "checkout", "arguments": BIG}
    late = api(world, f"/oauth/confirmations/{cid}/redeem", call)
    assert late.status_code == 409 and late.json()["error"] == "confirmation_expired"


def test_a_confirmation_is_bound_to_the_call_the_person_and_the_client(world: World) -> None:
    token = login_token(world)
    cid = confirmed(world, token)
    other_call = {"token": token, "tool": "checkout", "arguments": {**BIG, "amount": 99999}}
    response = api(world, f"/oauth/confirmations/{cid}/redeem", other_call)
    assert response.status_code == 403 and response.json()["error"] == "confirmation_mismatch"
    other_tool = {"token": token, "tool": "refund", "arguments": BIG}
    response = api(world, f"/oauth/confirmations/{cid}/redeem", other_tool)
    assert response.status_code == 403 and response.json()["error"] == "confirmation_mismatch"
    # The same person through another client: another pairwise sub, another client_id.
    other_client = login_token(world)
    same = {"tool": "checkout", "arguments": BIG}
    response = api(world, f"/oauth/confirmations/{cid}/redeem", {**same, "token": other_client})
    assert response.status_code == 403 and response.json()["error"] == "confirmation_mismatch"
    # ... and a token for another resource.
    elsewhere = login_token(world, "shop")
    response = api(world, f"/oauth/confirmations/{cid}/redeem", {**same, "token": elsewhere})
    assert response.status_code == 403 and response.json()["error"] == "confirmation_mismatch"
    # None of that spent it.
    response = api(world, f"/oauth/confirmations/{cid}/redeem", {**same, "token": token})
    assert response.status_code == 200, response.text


def test_the_api_refuses_bad_requests(world: World) -> None:
    token = login_token(world)
    call = {"token": token, "tool": "checkout", "arguments": BIG}
    assert api(world, "/oauth/confirmations", call, key="wrong").status_code == 401
    cases: list[tuple[Any, str]] = [
        ({**call, "token": "not-a-token"}, "invalid_token"),
        ({**call, "token": None}, "invalid_request"),
        ({**call, "tool": ""}, "invalid_request"),
        ({**call, "arguments": [1]}, "invalid_request"),
        ({**call, "lifetime": 0}, "invalid_request"),
        ({**call, "lifetime": 601}, "invalid_request"),
        ({**call, "lifetime": True}, "invalid_request"),
        ({**call, "message": "x" * 301}, "invalid_request"),
        ([call], "invalid_request"),
    ]
    for body, error in cases:
        response = api(world, "/oauth/confirmations", body)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"] == error, (body, response.text)
    big = api(world, "/oauth/confirmations", {**call, "arguments": {"x": "y" * 9000}})
    assert big.status_code == 413
    unknown = api(world, "/oauth/confirmations/nope/redeem", call)
    assert unknown.status_code == 404 and unknown.json()["error"] == "confirmation_unknown"
    assert httpx.get(f"{world.url}/oauth/confirm/nope", timeout=10).status_code == 404
    assert httpx.get(f"{world.url}/oauth/confirm/nope/status", timeout=10).status_code == 404
    started = api(world, "/oauth/confirmations", call).json()
    pending = api(world, f"/oauth/confirmations/{started['confirmation_id']}/redeem", call)
    assert pending.status_code == 409 and pending.json()["error"] == "confirmation_pending"


@pytest.mark.browser
async def test_the_confirmation_page_in_chromium(world: World) -> None:
    """The page as a person sees it: strict CSP without console errors, the call, the QR code
    and the wallet link; once the wallet answered it says so by itself."""
    assert CHROMIUM.exists(), f"{CHROMIUM} not installed (apt-get install chromium)"
    token = login_token(world)
    call = {"token": token, "tool": "checkout", "arguments": {**BIG, "order_id": "ord-c9"}}
    started = api(world, "/oauth/confirmations", {**call, "message": "Pay <b>250</b> EUR?"})
    assert started.status_code == 201, started.text
    errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            await page.goto(started.json()["url"])
            assert await page.locator("#qr svg").count() == 1
            assert await page.text_content("#message") == "Pay <b>250</b> EUR?"  # escaped
            assert "ord-c9" in (await page.text_content("#arguments") or "")
            link = await page.get_attribute("#wallet-link", "href")
            assert link is not None and link.startswith("openid4vp://")
            code, out = await wallet_sim_async("present", link, "--yes", wallet=world.wallet_dir)
            assert code == 0, out
            await page.wait_for_selector('#main[data-status="verified"]', timeout=15000)
            assert "Confirmed" in (await page.text_content("#confirm-status") or "")
        finally:
            await browser.close()
    assert errors == [], errors


async def test_the_resource_fails_closed_when_agentvp_is_unreachable() -> None:
    confirmations = CallConfirmations(f"http://127.0.0.1:{free_port()}", api_key="k")
    grant = AccessGrant(token="t", claims={"sub": "s", "client_id": "c", "aud": "a"}, action=None)
    with pytest.raises(ConfirmationFailedError) as caught:
        await confirmations.require(grant, "checkout", BIG, "confirm?")
    assert caught.value.code == "confirmation_unavailable"
    assert confirmations.pending == {}


async def test_the_resource_fails_closed_on_arguments_that_are_not_json() -> None:
    """A number the MCP client's JSON overflowed to infinity cannot be sent to agentvp: the
    call is not confirmed (and nothing is pending), with a clear code."""
    confirmations = CallConfirmations(f"http://127.0.0.1:{free_port()}", api_key="k")
    grant = AccessGrant(token="t", claims={"sub": "s", "client_id": "c", "aud": "a"}, action=None)
    with pytest.raises(ConfirmationFailedError) as caught:
        await confirmations.require(grant, "checkout", {**BIG, "amount": float("inf")}, "ok?")
    assert caught.value.code == "invalid_request"
    assert confirmations.pending == {}
