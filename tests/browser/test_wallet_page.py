"""The wallet simulator's page in a second browser context, answering the RP page: a QR image
upload, a pasted link with an agent action, an optional credential left out, a decline, and a
verifier the wallet does not trust."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.harness import (
    ARTIFACTS,
    Console,
    Demo,
    WalletServer,
    inline_code,
    scroll_width,
    shot,
    start,
    start_from_current,
)
from tests.conftest import free_port
from wallet_sim.store import Wallet

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

IDENTITY_VCT = "https://agentvp.example/vct/verified_person/1"
MANDATE_VCT = "https://agentvp.example/vct/agent_mandate/1"


def open_link(wallet_page: Page, wallet_url: str, uri: str) -> None:
    wallet_page.goto(wallet_url)
    wallet_page.fill("#uri", uri)
    wallet_page.click("#open")


def test_qr_screenshot_uploaded_to_the_wallet_page_and_approved(
    page: Page, second_page: Page, demo: Demo
) -> None:
    start(page, demo.verifier.url)
    screenshot = ARTIFACTS / "rp-waiting-for-wallet.png"
    page.screenshot(path=str(screenshot))
    wallet = second_page
    response = wallet.goto(demo.wallet_server.url)
    assert (
        response is not None and "unsafe-inline" not in response.headers["content-security-policy"]
    )
    wallet.set_input_files("#file", str(screenshot))
    consent = wallet.locator("#consent")
    expect(consent).to_be_visible()
    expect(wallet.locator("#who-subject")).to_have_text("CN=localhost")
    expect(wallet.locator("#who-trust")).to_have_text("Trusted verifier")
    expect(wallet.locator("#who-issuer")).to_have_text("CN=agentvp dev Issuing CA")
    card = wallet.locator(".query")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Verified identity")
    expect(card).to_contain_text("verified_claims › claims › family_name")
    expect(card.locator(".disclosed")).to_contain_text("Mustermann")
    expect(wallet.locator("#why")).to_be_hidden()
    expect(page.locator("#status")).to_have_text("wallet opened the request")
    assert inline_code(wallet) == {"scripts": 0, "styles": 0, "handlers": 0}
    shot(wallet, "wallet-consent-identity")
    wallet.click("#approve")
    expect(wallet.locator("#done-title")).to_have_text("Shared")
    expect(wallet.locator("#continue")).to_be_hidden()  # cross-device: nothing to return to
    shot(wallet, "wallet-shared")
    expect(page.locator("#status")).to_have_text("verified")
    expect(page.locator("#result .verified-claims")).to_contain_text("Mustermann")
    shot(page, "rp-verified-via-wallet-page")


def test_agent_action_is_shown_readably_and_signed(
    page: Page, second_page: Page, demo: Demo
) -> None:
    page.goto(demo.verifier.url)
    page.check("#choice-agent_mandate")
    page.check("#action-on")
    page.fill("#action-amount", "89.90")
    uri = start_from_current(page)
    open_link(second_page, demo.wallet_server.url, uri)
    expect(second_page.locator("#why")).to_be_visible()
    action = second_page.locator("#actions .action-text")
    expect(action).to_contain_text("may pay 89.90 EUR to Shop A")
    expect(second_page.locator(".query")).to_contain_text("Agent mandate")
    expect(second_page.locator(".query .pill")).to_have_text("Required")
    shot(second_page, "wallet-consent-agent-action")
    second_page.click("#approve")
    expect(second_page.locator("#done-title")).to_have_text("Shared")
    expect(page.locator("#status")).to_have_text("verified")
    expect(page.locator("#result .action-card")).to_contain_text("89.90 EUR to Shop A")
    expect(page.locator("#result .mandate-claims")).to_contain_text("commerce.checkout")
    shot(page, "rp-verified-agent-action")


def test_an_optional_credential_is_left_out_unless_ticked(
    page: Page, second_page: Page, demo: Demo
) -> None:
    query = {
        "credentials": [
            {
                "id": "person",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [IDENTITY_VCT]},
                "claims": [{"path": ["verified_claims", "claims", "family_name"]}],
            },
            {
                "id": "mandate",
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [MANDATE_VCT]},
                "claims": [{"path": ["authority", "actions"]}],
            },
        ],
        "credential_sets": [
            {"options": [["person"]]},
            {"options": [["mandate"]], "required": False},
        ],
    }
    page.goto(demo.verifier.url)
    page.check("#choice-custom")
    page.fill("#dcql", json.dumps(query, indent=2))
    expect(page.locator("#dcql-feedback")).to_have_text("Valid DCQL query")
    uri = start_from_current(page)
    open_link(second_page, demo.wallet_server.url, uri)
    optional = second_page.locator("#share-mandate")
    expect(optional).not_to_be_checked()
    expect(second_page.locator(".query.optional")).to_contain_text("Agent mandate")
    expect(second_page.locator(".query:not(.optional) .pill")).to_have_text("Required")
    second_page.click("#approve")
    expect(second_page.locator("#done-title")).to_have_text("Shared")
    expect(page.locator("#status")).to_have_text("verified")
    expect(page.locator("#result")).to_contain_text("Mustermann")
    expect(page.locator("#result .credential h3")).to_have_text(["Verified person"])
    raw = json.loads(page.locator("#raw").text_content() or "{}")
    assert set(raw["credentials"]) == {"person"}  # the mandate was not presented


def test_same_device_through_the_wallet_page_and_back(
    page: Page, console: Console, demo: Demo
) -> None:
    start(page, demo.verifier.url)
    link = page.get_attribute("#same-device", "href")
    assert link is not None
    wallet = console.watch(page.context.new_page())  # the wallet app on the same device
    open_link(wallet, demo.wallet_server.url, link)
    wallet.click("#approve")
    back = wallet.locator("#continue")
    expect(back).to_be_visible()
    assert (back.get_attribute("href") or "").startswith(f"{demo.verifier.url}/#response_code=")
    back.click()
    expect(wallet.locator("#status")).to_have_text("verified")
    expect(wallet.locator("#result")).to_contain_text("same-device flow")
    expect(wallet.locator("#result .verified-claims")).to_contain_text("Mustermann")


def test_declining_on_the_wallet_page_shows_declined(
    page: Page, second_page: Page, demo: Demo
) -> None:
    uri = start(page, demo.verifier.url)
    open_link(second_page, demo.wallet_server.url, uri)
    expect(second_page.locator("#consent")).to_be_visible()
    second_page.click("#decline")
    expect(second_page.locator("#done-title")).to_have_text("Declined")
    expect(page.locator("#status")).to_have_text("declined")
    shot(page, "rp-declined-on-wallet-page")


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory, demo: Demo) -> Iterator[WalletServer]:
    """A wallet that trusts no verifier certificate authority."""
    wallet = Wallet.create(tmp_path_factory.mktemp("stranger") / "wallet")
    server = WalletServer(wallet, free_port()).start()
    yield server
    server.stop()


def test_an_untrusted_verifier_is_refused_clearly(
    page: Page, browser: Browser, console: Console, demo: Demo, stranger: WalletServer
) -> None:
    uri = start(page, demo.verifier.url)
    context = browser.new_context(viewport={"width": 390, "height": 844})
    wallet = console.watch(context.new_page())
    try:
        open_link(wallet, stranger.url, uri)
        error = wallet.locator("#scan-error")
        expect(error).to_be_visible()
        expect(wallet.locator("#scan-error-title")).to_have_text(
            "Untrusted verifier: request refused"
        )
        expect(wallet.locator("#scan-error-text")).to_contain_text("x5c_untrusted")
        expect(wallet.locator("#consent")).to_be_hidden()
        assert scroll_width(wallet) <= 390
        shot(wallet, "wallet-untrusted-verifier")
    finally:
        context.close()
    expect(page.locator("#status")).to_have_text("wallet opened the request")


def test_the_wallet_page_fits_a_390px_phone(
    page: Page, browser: Browser, console: Console, demo: Demo
) -> None:
    page.goto(demo.verifier.url)
    page.check("#choice-agent_mandate")
    page.check("#action-on")
    uri = start_from_current(page)
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    wallet = console.watch(context.new_page())
    try:
        wallet.goto(demo.wallet_server.url)
        assert scroll_width(wallet) <= 390
        open_link(wallet, demo.wallet_server.url, uri)
        expect(wallet.locator("#consent")).to_be_visible()
        assert scroll_width(wallet) <= 390
        shot(wallet, "wallet-phone-consent")
        wallet.click("#approve")
        expect(wallet.locator("#done-title")).to_have_text("Shared")
        assert scroll_width(wallet) <= 390
    finally:
        context.close()
    expect(page.locator("#status")).to_have_text("verified")
