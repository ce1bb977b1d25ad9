"""The demo page's agent checkout in Chromium: the shop starts a checkout, the agent answers with
the command the page shows (the real ``wallet-sim agent answer``), the person's step-up QR is
scanned off the screen and approved, and the decision, its reasons and the receipt appear."""

from __future__ import annotations

import shlex
import subprocess
import sys

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.harness import Demo, inline_code, shot
from verifier.agents.receipts import verify_receipt
from wallet_sim.agent import full_mandate
from wallet_sim.scan import decode_qr
from wallet_sim.wallet import WalletSimulator

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def _mandate_jti(demo: Demo) -> str:
    (mandate,) = demo.wallet.credentials(kind="mandate", holder="agent")
    jti = full_mandate(mandate)["jti"]
    assert isinstance(jti, str)
    return jti


def _start(page: Page, demo: Demo, *, amount: str, payee: str) -> str:
    """Open the page with the mandate prefilled, start a checkout; the agent's command."""
    page.goto(f"{demo.verifier.url}/agent#mandate_jti={_mandate_jti(demo)}")
    expect(page.locator("#policy option")).to_have_text("shop-checkout (shop-a.example)")
    assert inline_code(page) == {"scripts": 0, "styles": 0, "handlers": 0}  # CSP-clean page
    page.fill("#amount", amount)
    page.select_option("#payee", label=payee)
    page.click("#start")
    command = page.locator("#agent-command")
    expect(command).to_contain_text("wallet-sim agent answer 'openid4vp://")
    expect(page.locator("#status")).to_contain_text("waiting for the agent")
    return command.inner_text()


def _run_agent(command: str, demo: Demo) -> subprocess.CompletedProcess[str]:
    """The page's command exactly as shown, with our interpreter standing in for the script."""
    argv = shlex.split(command)
    assert argv[:3] == ["wallet-sim", "agent", "answer"]
    return subprocess.run(
        [sys.executable, "-m", "wallet_sim.cli", *argv[1:], "--dir", str(demo.wallet.path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_agent_checkout_with_step_up_ends_in_allow_and_a_verifiable_receipt(
    page: Page, demo: Demo
) -> None:
    command = _start(page, demo, amount="129.90", payee="Shop A")
    done = _run_agent(command, demo)
    assert done.returncode == 0, done.stdout + done.stderr
    # The principal's first checkout at this shop: the person must confirm.
    expect(page.locator("#step-up")).to_be_visible()
    expect(page.locator("#status")).to_have_text("waiting for the person to confirm")
    expect(page.locator("#qr img")).to_have_js_property("complete", True)
    uri = decode_qr(page.locator("#qr").screenshot())
    assert uri == page.locator("#human-link").get_attribute("href")
    human = WalletSimulator(demo.wallet, holders=["human"])
    try:
        proposal = human.propose(human.resolve(uri))
        assert any("129.90 EUR to Shop A" in line for line in proposal.describe())
        human.submit(proposal)
    finally:
        human.http.close()
    expect(page.locator("#status")).to_have_text("allowed")
    result = page.locator("#result")
    expect(result.locator("#decision")).to_have_text("Allow: the agent may pay")
    expect(result.locator("#reasons li")).to_have_count(0)
    expect(result.locator(".kv-row", has_text="Confirmed by")).to_contain_text("Mustermann")
    expect(result.locator(".kv-row", has_text="Mandate")).to_contain_text(_mandate_jti(demo))
    receipt = page.locator("#receipt").text_content() or ""
    jwks = httpx.get(f"{demo.verifier.url}/.well-known/jwks.json", timeout=5).json()
    assert verify_receipt(receipt, jwks)["decision"] == "allow"
    shot(page, "agent-checkout-allowed")


def test_payee_outside_the_policy_is_denied_with_its_reason(page: Page, demo: Demo) -> None:
    command = _start(page, demo, amount="20.00", payee="Tickets B")
    done = _run_agent(command, demo)
    assert done.returncode == 0, done.stdout + done.stderr  # inside the mandate: the agent signs
    expect(page.locator("#status")).to_have_text("denied")
    expect(page.locator("#step-up")).to_be_hidden()
    reasons = page.locator("#reasons li")
    expect(reasons).to_have_count(1)
    expect(reasons.first).to_have_attribute("data-code", "payee_domain_mismatch")
    shot(page, "agent-checkout-denied")


def test_the_agent_refuses_an_action_outside_its_mandate(page: Page, demo: Demo) -> None:
    command = _start(page, demo, amount="900.00", payee="Shop A")  # mandate: 250 EUR per order
    expect(page.locator("#status")).to_have_text("waiting for the agent and the person")
    expect(page.locator("#step-up")).to_be_visible()  # above 250 EUR the policy wants the person
    done = _run_agent(command, demo)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "outside the mandate" in done.stdout + done.stderr
    expect(page.locator("#status")).to_have_text("denied")
    expect(page.locator("#reasons li").first).to_have_attribute("data-code", "agent_declined")
    # The agent's own stated reason, marked as its word (issue 15 point 11).
    expect(page.locator("#reasons li").first).to_contain_text(
        'the agent says: "action outside the mandate: amount_exceeds_mandate'
    )
    expect(page.locator("#step-up")).to_be_hidden()


def test_no_blank_gap_under_the_agents_request(page: Page, demo: Demo) -> None:
    _start(page, demo, amount="10.00", payee="Shop A")
    title = page.locator("#session .block-title").first.bounding_box()
    note = page.locator("#session .session-note").bounding_box()
    command = page.locator("#agent-command").bounding_box()
    assert title is not None and note is not None and command is not None
    assert note["y"] - (title["y"] + title["height"]) <= 16  # the grid gap, no margins on top
    assert command["y"] - (note["y"] + note["height"]) <= 16
