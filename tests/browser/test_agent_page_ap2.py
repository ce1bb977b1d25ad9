"""The agent page's AP2 checkout in Chromium: the shop issues an AP2 challenge, the agent
answers it through the RP API with a Delegate SD-JWT chain, and the page shows the decision of
the verification that used the challenge, its reasons and the AP2 receipt.

The browser demo verifier trusts no agent provider, so the agent here presents a chain rooted in
its own key: the page must show the rejection (``root_untrusted``) with a receipt."""

from __future__ import annotations

import json
import shlex
import time

import httpx
import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.browser.harness import Demo, inline_code
from verifier.protocol.jose import SigningKey
from wallet_sim import ap2

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_ap2_checkout_on_the_agent_page(page: Page, demo: Demo) -> None:
    page.goto(f"{demo.verifier.url}/agent")
    assert inline_code(page) == {"scripts": 0, "styles": 0, "handlers": 0}
    page.click("#ap2-start")
    command = page.locator("#ap2-command")
    expect(command).to_contain_text("wallet-sim ap2 pay --rp")
    expect(page.locator("#ap2-status")).to_contain_text("Waiting for the agent")
    argv = shlex.split(command.inner_text())
    challenge = json.loads(argv[argv.index("--challenge") + 1])
    assert set(challenge) == {"id", "nonce", "aud"}

    agent, provider = SigningKey.generate(), SigningKey.generate(kid="unknown-provider")
    item = ap2.open_payment(agent.public_jwk, amount_max=1000, currency="EUR")
    root = ap2.provider_root(provider, [item]).full()
    closed = ap2.closed_payment(
        "x.y.z",
        payee={"id": "m", "name": "M"},
        amount=500,
        currency="EUR",
        instrument={"id": "c", "type": "card"},
    )
    leaf = ap2.sign_hop(
        root, agent, [closed], aud=challenge["aud"], nonce=challenge["nonce"], iat=int(time.time())
    )
    config = yaml.safe_load((demo.verifier.data_dir / "config.yaml").read_text())
    with httpx.Client(timeout=15) as client:
        answered = client.post(
            f"{demo.verifier.url}/v1/ap2/verifications",
            json={"challenge_id": challenge["id"], "mandate": ap2.present(root, leaf.full())},
            headers={"Authorization": f"Bearer {config['api_keys'].split(',')[0]}"},
        )
    assert answered.status_code == 200 and answered.json()["decision"] == "reject"
    expect(page.locator("#ap2-status")).to_contain_text("Decision: reject")
    expect(page.locator("#ap2-reasons")).to_contain_text("root_untrusted")
    expect(page.locator("#ap2-receipt")).to_contain_text("eyJ")
