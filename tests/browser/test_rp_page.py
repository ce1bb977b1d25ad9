"""The relying-party demo page in Chromium: QR from a screenshot, live status without reloads,
same-device return with ``response_code``, expiry, a 390 px phone, and a strict CSP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.harness import (
    Console,
    Demo,
    answer,
    inline_code,
    scroll_width,
    shot,
    start,
)
from tests.conftest import free_port
from tests.e2e.harness import Verifier, make_data_dir, start_verifier
from wallet_sim.scan import decode_qr
from wallet_sim.wallet import WalletSimulator

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_cross_device_qr_scanned_from_a_screenshot_and_verified_live(
    page: Page, demo: Demo
) -> None:
    shown = start(page, demo.verifier.url)
    page.evaluate("window.agentvpNoReload = true")
    uri = decode_qr(page.screenshot())  # the QR as a camera would see the screen
    assert uri == shown
    assert set(parse_qs(urlsplit(uri).query)) == {"client_id", "request_uri", "request_uri_method"}
    simulator = WalletSimulator(demo.wallet)
    try:
        request = simulator.resolve(uri)
        expect(page.locator("#status")).to_have_text("wallet opened the request")
        simulator.submit(simulator.propose(request))
    finally:
        simulator.http.close()
    expect(page.locator("#status")).to_have_text("verified")
    result = page.locator("#result")
    expect(result).to_be_visible()
    expect(result.locator(".verified-claims")).to_contain_text("Mustermann")
    trust = result.locator(".verified-claims .kv-row", has_text="Trust framework")
    expect(trust).to_contain_text("eidas")
    expect(result.locator(".verified-claims .kv-row", has_text="Assurance level")).to_contain_text(
        "high"
    )
    expect(result.locator(".kv-meta")).to_contain_text("https://ekyc.agentvp.example")
    assert page.evaluate("window.agentvpNoReload") is True  # no reload happened
    shot(page, "rp-cross-device-verified")


@pytest.mark.parametrize("arrival", ["new-load", "same-document"])
def test_same_device_returns_with_a_response_code(page: Page, demo: Demo, arrival: str) -> None:
    start(page, demo.verifier.url)
    link = page.get_attribute("#same-device", "href")
    assert (
        link is not None
        and link.startswith("openid4vp://")
        and link != page.get_attribute("#qr", "data-uri")
    )
    reply = answer(demo.wallet, link)
    redirect = str(reply["redirect_uri"])
    assert redirect.startswith(f"{demo.verifier.url}/#response_code=")
    if arrival == "new-load":
        page.goto("about:blank")  # the wallet app took over the screen
    page.goto(redirect)
    expect(page.locator("#status")).to_have_text("verified")
    expect(page.locator("#result")).to_contain_text("Mustermann")
    expect(page.locator("#result")).to_contain_text("same-device flow")
    assert "response_code" not in page.url  # removed from the address bar
    if arrival == "new-load":  # no QR code on this page: no empty frame, no mark over the steps
        expect(page.locator("#qr-frame")).to_be_hidden()
        expect(page.locator("#qr-overlay")).to_be_hidden()
    else:  # the mark covers the QR code it answers, not the steps below it
        expect(page.locator("#qr-overlay")).to_be_visible()
        overlay, steps = (
            page.locator("#qr-overlay").bounding_box(),
            page.locator("#steps").bounding_box(),
        )
        assert overlay is not None and steps is not None
        assert overlay["y"] + overlay["height"] <= steps["y"]
    expect(page.locator("#steps")).to_be_visible()
    shot(page, f"rp-same-device-verified-{arrival}")
    if arrival == "new-load":
        page.goto(redirect)  # the code is single-use: no second look at the result
        expect(page.locator("#status")).to_contain_text("error")
        expect(page.locator("#result")).to_be_hidden()


def test_wallet_decline_shows_declined(page: Page, demo: Demo) -> None:
    uri = start(page, demo.verifier.url, "agent_mandate")
    simulator = WalletSimulator(demo.wallet)
    try:
        simulator.decline(simulator.resolve(uri))
    finally:
        simulator.http.close()
    expect(page.locator("#status")).to_have_text("declined")
    expect(page.locator("#result")).to_be_hidden()
    shot(page, "rp-declined")


def test_polling_takes_over_without_server_sent_events(page: Page, demo: Demo) -> None:
    page.add_init_script("delete window.EventSource;")  # a browser or proxy without SSE
    paths: list[str] = []
    page.on("request", lambda request: paths.append(urlsplit(request.url).path))
    uri = start(page, demo.verifier.url)
    answer(demo.wallet, uri)
    expect(page.locator("#status")).to_have_text("verified")
    expect(page.locator("#result")).to_contain_text("Mustermann")
    assert not [p for p in paths if p.endswith("/events")]
    polls = [p for p in paths if p.startswith("/demo/api/presentations/") and p.count("/") == 4]
    assert len(polls) >= 2  # status was polled, for both the QR and the link request


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Verifier]:
    root = tmp_path_factory.mktemp("short-lived")
    port = free_port()
    make_data_dir(root, f"http://localhost:{port}")
    verifier = start_verifier(root, port=port, demo_mode="true", transaction_ttl="2")
    yield verifier
    verifier.stop()


def test_an_unanswered_request_expires(page: Page, short_lived: Verifier) -> None:
    start(page, short_lived.url)
    expect(page.locator("#status")).to_have_text("expired", timeout=10_000)
    expect(page.locator("#qr-overlay")).to_be_visible()
    expect(page.locator("#same-device")).to_be_hidden()
    shot(page, "rp-expired")


def test_custom_dcql_errors_show_the_servers_exact_message(page: Page, demo: Demo) -> None:
    page.goto(demo.verifier.url)
    page.check("#choice-custom")
    editor, feedback = page.locator("#dcql"), page.locator("#dcql-feedback")
    expect(feedback).to_have_text("Valid DCQL query")  # prefilled with the identity preset
    editor.fill('{"credentials": [')
    expect(feedback).to_contain_text("JSON syntax:")
    bad = {"credentials": [{"id": "p", "format": "dc+sd-jwt", "meta": {"vct_values": []}}]}
    editor.fill(json.dumps(bad))
    server = httpx.post(f"{demo.verifier.url}/demo/api/validate", json={"dcql_query": bad})
    message = server.json()["error_description"]
    assert server.status_code == 400 and "vct_values" in message
    expect(feedback).to_have_text(message)
    expect(editor).to_have_attribute("aria-invalid", "true")
    page.click("#start")  # refused with the same message, nothing started
    expect(feedback).to_have_text(message)
    expect(page.locator("#session")).to_be_hidden()


def test_a_390px_phone_has_no_horizontal_scroll(
    browser: Browser, console: Console, demo: Demo
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = console.watch(context.new_page())
    try:
        page.goto(demo.verifier.url)
        expect(page.locator("#start")).to_be_enabled()
        assert scroll_width(page) <= 390
        uri = start(page, demo.verifier.url, "agent_mandate")
        assert scroll_width(page) <= 390
        assert decode_qr(page.locator("#qr").screenshot()) == uri
        answer(demo.wallet, uri)
        expect(page.locator("#status")).to_have_text("verified")
        expect(page.locator("#result")).to_contain_text("Authority granted to the agent")
        assert scroll_width(page) <= 390
        shot(page, "rp-phone-verified")
    finally:
        context.close()


def test_strict_csp_and_no_inline_code(page: Page, demo: Demo) -> None:
    response = page.goto(demo.verifier.url)
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    expect(page.locator("#start")).to_be_enabled()
    assert inline_code(page) == {"scripts": 0, "styles": 0, "handlers": 0}
    uri = start(page, demo.verifier.url)
    answer(demo.wallet, uri)
    expect(page.locator("#status")).to_have_text("verified")
    assert inline_code(page) == {"scripts": 0, "styles": 0, "handlers": 0}
    sources = page.eval_on_selector_all("script", "nodes => nodes.map((n) => n.src)")
    assert sources and all(
        urlsplit(s).netloc == urlsplit(demo.verifier.url).netloc for s in sources
    )
