"""One world for the wallet-login tests, over real HTTP: `agentvp serve` (SQLite), four
`examples/mcp_shop` servers - ``shop`` listed with the README's one line
(``{policy: shop-checkout}``), ``stepup`` with a second scope ``mcp:refund`` that is not
granted by default, which sees some verified claims (``RELEASED``) at introspection,
``nonced`` (``--dpop-required --dpop-nonce``: DPoP with server nonces at the token endpoint and
at the resource) and ``confirm`` (checkouts above :data:`CONFIRM_ABOVE` need the person's
wallet confirmation) - and a wallet directory holding the simulator's identity credential, which
`wallet-sim present <href> --yes` answers with."""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import html as html_lib
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import yaml

from tests.conftest import free_port
from tests.e2e.harness import Verifier, make_data_dir, make_wallet, start_verifier
from tests.mcp.conftest import Shop, start_shop
from wallet_sim.store import Wallet

ROOT = Path(__file__).resolve().parents[2]
CALLBACK = "/callback"
DPOP_ONLY = "https://dpop-only.example/mcp"  # listed, not served: token endpoint checks only
# what ``stepup`` may see of the person at introspection (family_name is presented, not listed)
RELEASED = [
    "given_name",
    "birthdate",
    "verification.trust_framework",
    "verification.assurance_level",
]
SELF_ISSUED = "https://self-issued.example/mcp"  # listed, not served: SIOPv2 id_token logins
NO_IDENTITY = "https://no-identity.example/mcp"  # its policy asks for no identity: no login
CONFIRM_ABOVE = 10000  # the ``confirm`` shop: larger wallet-login checkouts need a confirmation
WALLET_SIM = str(Path(sys.executable).parent / "wallet-sim")  # the installed console script


def wallet_sim(*args: str, wallet: Path) -> subprocess.CompletedProcess[str]:
    """The real `wallet-sim` CLI."""
    argv = [WALLET_SIM, *args, "--dir", str(wallet)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


async def wallet_sim_async(*args: str, wallet: Path) -> tuple[int, str]:
    argv = [WALLET_SIM, *args, "--dir", str(wallet)]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    return int(proc.returncode or 0), out.decode(errors="replace")


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class World:
    root: Path
    verifier: Verifier
    wallet: Wallet
    api_key: str
    shops: dict[str, Shop] = field(default_factory=dict)

    def introspect(self, token: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        response = httpx.post(
            f"{self.url}/oauth/introspect", data={"token": token}, headers=headers, timeout=10
        )
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    @property
    def url(self) -> str:
        return self.verifier.url

    @property
    def wallet_dir(self) -> Path:
        return self.wallet.path

    def register(self, port: int | None = None, **extra: Any) -> dict[str, Any]:
        body = {
            "redirect_uris": [f"http://127.0.0.1:{port or 1}{CALLBACK}"],
            "client_name": "Test MCP host",
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            **extra,
        }
        response = httpx.post(f"{self.url}/oauth/register", json=body, timeout=10)
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    def login(
        self,
        client: dict[str, Any],
        resource: str,
        *,
        scope: str | None = None,
        redirect_uri: str | None = None,
        expect: str = "verified",
    ) -> tuple[dict[str, str], str]:
        """Authorize without a browser: fetch the page, present with `wallet-sim`, poll like
        the page does. Returns the callback parameters and the PKCE verifier."""
        verifier, challenge = pkce()
        redirect = redirect_uri or client["redirect_uris"][0]
        params = {
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": redirect,
            "state": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": resource,
            **({"scope": scope} if scope else {}),
        }
        page = httpx.get(f"{self.url}/oauth/authorize", params=params, timeout=10)
        assert page.status_code == 200, page.text
        link = attr(page.text, 'id="wallet-link"', "href")
        login_id = attr(page.text, 'id="main"', "data-login")
        done = wallet_sim("present", link, "--yes", wallet=self.wallet_dir)
        view = self.poll(login_id)
        assert view["status"] == expect, (view, done.stdout)
        answer = {k: v[0] for k, v in parse_qs(urlsplit(view["redirect"]).query).items()}
        assert answer["state"] == params["state"]
        return answer, verifier

    def poll(self, login_id: str, timeout: float = 15.0) -> dict[str, Any]:
        """What the login page sees once the wallet answered (polling, like the page)."""
        return self.poll_page(f"/oauth/login/{login_id}", timeout)

    def poll_page(self, path: str, timeout: float = 15.0) -> dict[str, Any]:
        """A page's status poll of ``path``, until it is no longer pending."""
        deadline = time.monotonic() + timeout
        while True:
            view: dict[str, Any] = httpx.get(f"{self.url}{path}", timeout=10).json()
            if view["status"] != "pending" or time.monotonic() > deadline:
                return view
            time.sleep(0.1)

    def token(self, dpop: str | None = None, **form: str) -> httpx.Response:
        headers = {"DPoP": dpop} if dpop else {}
        return httpx.post(f"{self.url}/oauth/token", data=form, headers=headers, timeout=10)


def attr(html: str, marker: str, name: str) -> str:
    tag = re.search(r"<[^>]*" + re.escape(marker) + r"[^>]*>", html)
    assert tag is not None, f"no element with {marker}"
    value = re.search(name + r'="([^"]*)"', tag.group(0))
    assert value is not None, f"no {name} on {marker}"
    return html_lib.unescape(value.group(1))


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("oauth")
    vport, port1, port2, port3, port4 = (free_port() for _ in range(5))
    data = root / "verifier"
    api_key = make_data_dir(data, f"http://localhost:{vport}")
    wallet = make_wallet(root / "wallet", data)
    policy = yaml.safe_load((data / "policy.yaml").read_text())
    strict = copy.deepcopy(policy["policies"]["shop-checkout"])  # refunds: more of the person
    strict["identity"]["required_claims"].append("nationalities")
    strict["identity"]["trust_frameworks"] = {
        "eidas": {"levels": ["substantial", "high"], "min": "high"}
    }
    impossible = copy.deepcopy(strict)
    impossible["identity"]["trust_frameworks"] = {"other_framework": {}}
    pseudonymous = copy.deepcopy(policy["policies"]["shop-checkout"])
    del pseudonymous["identity"]
    policy["policies"].update(
        {"strict": strict, "impossible": impossible, "pseudonymous": pseudonymous}
    )
    policy["resources"] = {
        f"http://127.0.0.1:{port1}/mcp": {"policy": "shop-checkout"},
        f"http://127.0.0.1:{port2}/mcp": {
            "policy": "shop-checkout",
            "scopes": ["mcp", "mcp:refund", "mcp:admin"],
            "default_scopes": ["mcp"],
            "scope_policies": {"mcp:refund": "strict", "mcp:admin": "impossible"},
            "token_lifetime": 3,
            "released_claims": RELEASED,
        },
        DPOP_ONLY: {"policy": "shop-checkout", "dpop_required": True, "dpop_nonce": True},
        f"http://127.0.0.1:{port3}/mcp": {
            "policy": "shop-checkout",
            "dpop_required": True,
            "dpop_nonce": True,
        },
        f"http://127.0.0.1:{port4}/mcp": {"policy": "shop-checkout"},
        SELF_ISSUED: {
            "policy": "pseudonymous",
            "self_issued_login": True,
            "scopes": ["mcp", "mcp:verified"],
            "default_scopes": ["mcp"],
            "scope_policies": {"mcp:verified": "shop-checkout"},
        },
        NO_IDENTITY: {"policy": "pseudonymous"},
    }
    (data / "policy.yaml").write_text(yaml.safe_dump(policy))
    verifier = start_verifier(data, port=vport, wallet_rate_limit="0")
    world = World(root, verifier, wallet, api_key)
    try:
        world.shops["shop"] = start_shop(root, "shop", verifier.url, port1)
        world.shops["stepup"] = start_shop(root, "stepup", verifier.url, port2)
        world.shops["nonced"] = start_shop(
            root, "nonced", verifier.url, port3, "--dpop-required", "--dpop-nonce"
        )
        confirm = ("--confirm-above", str(CONFIRM_ABOVE), f"--api-key={api_key}")
        world.shops["confirm"] = start_shop(root, "confirm", verifier.url, port4, *confirm)
        yield world
    finally:
        for shop in world.shops.values():
            shop.stop()
        verifier.stop()
