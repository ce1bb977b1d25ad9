"""Same-device presentations through the browser's Digital Credentials API, in real Chromium.

The pages call the real ``navigator.credentials.get({digital: {requests: [...]}})``; Chromium's
DevTools virtual wallet (``DigitalCredentials.setVirtualWalletBehavior``) plays the wallet the
person picks, armed with the wallet simulator's answer to the request the page received from the
verifier (see :mod:`tests.browser.dc_api_bridge` for what Chromium offers and why the answer is
prepared before the click). No script is injected into the pages, except in the one test that
removes the API to check the page's feature detection.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.dc_api_bridge import BrowserWallet
from tests.browser.harness import Demo, inline_code, shot
from tests.conftest import free_port
from tests.e2e.harness import Verifier, make_data_dir, make_wallet
from verifier.protocol.jose import parse_unverified_jws
from wallet_sim.agent import full_mandate
from wallet_sim.scan import decode_qr
from wallet_sim.store import Wallet
from wallet_sim.wallet import WalletSimulator

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

MODES = {
    "signed|dc_api.jwt": ("openid4vp-v1-signed", {"response"}),
    "signed|dc_api": ("openid4vp-v1-signed", {"vp_token"}),
    "unsigned|dc_api.jwt": ("openid4vp-v1-unsigned", {"response"}),
    "unsigned|dc_api": ("openid4vp-v1-unsigned", {"vp_token"}),
}


def _start(page: Page, url: str, mode: str = "signed|dc_api.jwt") -> dict[str, Any]:
    """Open the RP page, choose the identity preset and the DC API request type, start; the
    DC API transaction the page received (with its ``dc_api_request``)."""
    page.goto(url)
    assert inline_code(page) == {"scripts": 0, "styles": 0, "handlers": 0}
    page.check("#choice-identity")
    expect(page.locator("#dc-api-options")).to_be_visible()  # the browser offers the API
    page.select_option("#dc-api-mode", mode)
    with page.expect_response("**/demo/api/presentations") as created:
        page.click("#start")
    dc: dict[str, Any] = created.value.json()["dc_api"]
    expect(page.locator("#dc-api")).to_be_visible()
    expect(page.locator("#dc-api")).to_have_text("Use a wallet on this device")
    expect(page.locator("#qr svg")).to_be_visible()  # a wallet on another device still can
    return dc


@pytest.mark.parametrize("mode", list(MODES))
def test_identity_over_the_dc_api_is_verified_on_the_page(
    page: Page, demo: Demo, mode: str
) -> None:
    dc = _start(page, demo.verifier.url, mode)
    protocol, members = MODES[mode]
    request = dc["dc_api_request"]
    assert request["protocol"] == protocol
    if protocol.endswith("-signed"):
        claims = parse_unverified_jws(request["data"]["request"]).payload_json()
        assert claims["expected_origins"] == [demo.verifier.url]
        assert claims["client_id"].startswith("x509_hash:")
    else:
        claims = request["data"]
        assert "client_id" not in claims and "expected_origins" not in claims
    assert claims["response_mode"] == mode.split("|")[1]
    assert not {"state", "response_uri", "redirect_uri", "request_uri"} & set(claims)
    wallet = BrowserWallet(page, demo.wallet)
    answer = wallet.answer(request)
    assert answer["protocol"] == protocol and set(answer["data"]) == members
    page.click("#dc-api")
    expect(page.locator("#status")).to_have_text("verified")
    result = page.locator("#result")
    expect(result.locator(".verified-claims")).to_contain_text("Mustermann")
    expect(result).to_contain_text("Digital Credentials API flow")
    raw = json.loads(page.locator("#raw").text_content() or "{}")
    assert raw["dc_api"] == {"origin": demo.verifier.url, "protocol": protocol}
    expect(page.locator("#dc-api")).to_be_hidden()
    shot(page, f"rp-dc-api-verified-{mode.replace('|', '-')}")


def test_an_answer_bound_to_another_origin_is_rejected(page: Page, demo: Demo) -> None:
    """Unsigned: the wallet trusts the origin the platform gives it. A wallet (or a relay) that
    bound its answer to another origin is caught by the KB-JWT ``aud`` check."""
    dc = _start(page, demo.verifier.url, "unsigned|dc_api.jwt")
    other = demo.verifier.url.replace("localhost", "127.0.0.1")
    BrowserWallet(page, demo.wallet).answer(dc["dc_api_request"], origin=other)
    page.click("#dc-api")
    expect(page.locator("#status")).to_contain_text("rejected")
    expect(page.locator("#status")).to_contain_text(f"origin:{other}")
    expect(page.locator("#result")).to_be_hidden()


def test_a_signed_request_from_an_unexpected_origin_gets_the_wallets_error(
    page: Page, demo: Demo
) -> None:
    """Signed: the wallet compares the origin with ``expected_origins`` and answers
    ``invalid_request`` (VP A.2); the page shows the wallet's error."""
    dc = _start(page, demo.verifier.url, "signed|dc_api.jwt")
    wallet = BrowserWallet(page, demo.wallet)
    other = demo.verifier.url.replace("localhost", "127.0.0.1")
    with pytest.raises(Exception, match="dc_api_origin_not_expected"):
        wallet.answer(dc["dc_api_request"], origin=other)
    wallet.arm({"protocol": dc["dc_api_request"]["protocol"], "data": {"error": "invalid_request"}})
    page.click("#dc-api")
    expect(page.locator("#status")).to_have_text("error: invalid_request")


def test_closing_the_wallet_picker_leaves_the_qr_code_usable(page: Page, demo: Demo) -> None:
    _start(page, demo.verifier.url)
    BrowserWallet(page, demo.wallet).decline()
    page.click("#dc-api")
    expect(page.locator("#status")).to_contain_text("no wallet answered (NotAllowedError)")
    expect(page.locator("#dc-api")).to_be_enabled()
    uri = page.get_attribute("#qr", "data-uri")
    assert uri is not None
    simulator = WalletSimulator(demo.wallet)
    try:
        simulator.submit(simulator.propose(simulator.resolve(uri)))
    finally:
        simulator.http.close()
    expect(page.locator("#status")).to_have_text("verified")
    expect(page.locator("#result")).to_contain_text("cross-device flow")


def test_without_the_api_the_page_offers_the_qr_code_and_link_only(page: Page, demo: Demo) -> None:
    """The one injected script: a browser without the Digital Credentials API."""
    page.add_init_script("delete window.DigitalCredential;")
    bodies: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            bodies.append(json.loads(r.post_data or "{}"))
            if r.url.endswith("/demo/api/presentations") and r.method == "POST"
            else None
        ),
    )
    page.goto(demo.verifier.url)
    expect(page.locator("#start")).to_be_enabled()
    expect(page.locator("#dc-api-options")).to_be_hidden()
    page.click("#start")
    expect(page.locator("#qr svg")).to_be_visible()
    expect(page.locator("#same-device")).to_be_visible()
    expect(page.locator("#dc-api")).to_be_hidden()
    assert bodies and "dc_api" not in bodies[0]


# ------------------------------------------------------------------ the agent page's step-up


@dataclass
class Shop:
    verifier: Verifier
    wallet: Wallet


@pytest.fixture(scope="module")
def fresh_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """A verifier and wallet of our own: the step-up depends on the principal's first use."""
    root = tmp_path_factory.mktemp("dc-api-agent")
    port = free_port()
    make_data_dir(root / "verifier", f"http://localhost:{port}")
    verifier = Verifier(root / "verifier", port, {"AGENTVP_DEMO_MODE": "true"})
    try:
        verifier.start(timeout=90)  # the machine is shared: starting can take a while
        yield Shop(verifier, make_wallet(root / "wallet", root / "verifier"))
    finally:
        verifier.stop()


def test_agent_step_up_confirmed_with_a_wallet_on_this_device(page: Page, fresh_demo: Shop) -> None:
    (mandate,) = fresh_demo.wallet.credentials(kind="mandate", holder="agent")
    page.goto(f"{fresh_demo.verifier.url}/agent#mandate_jti={full_mandate(mandate)['jti']}")
    expect(page.locator("#policy option")).to_have_text("shop-checkout (shop-a.example)")
    page.fill("#amount", "129.90")
    page.click("#start")
    expect(page.locator("#agent-command")).to_contain_text("wallet-sim agent answer")
    command = page.locator("#agent-command").inner_text()
    argv = shlex.split(command)
    assert argv[:3] == ["wallet-sim", "agent", "answer"]
    done = subprocess.run(
        [sys.executable, "-m", "wallet_sim.cli", *argv[1:], "--dir", str(fresh_demo.wallet.path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    expect(page.locator("#step-up")).to_be_visible()  # first checkout: the person must confirm
    expect(page.locator("#qr img")).to_have_js_property("complete", True)
    qr_uri = decode_qr(page.locator("#qr").screenshot())
    button = page.locator("#human-dc-api")
    expect(button).to_have_text("Use a wallet on this device")
    BrowserWallet(page, fresh_demo.wallet).answer_when_served("**/human-dc-api")
    button.click()
    expect(page.locator("#status")).to_have_text("allowed")
    facts = page.locator("#result .kv-row", has_text="Confirmed by")
    expect(facts).to_contain_text("Mustermann")
    shot(page, "agent-checkout-dc-api-allowed")
    # The QR request it replaced was retired unanswered: a wallet scanning it now is refused.
    simulator = WalletSimulator(fresh_demo.wallet, holders=["human"])
    try:
        with pytest.raises(Exception, match="expired"):
            simulator.resolve(qr_uri)
    finally:
        simulator.http.close()
