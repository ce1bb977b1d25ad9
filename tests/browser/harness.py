"""Parts of the browser tests: the Chromium launch options, a ``wallet-sim serve`` process,
console watching (a CSP violation is a console error), page checks and screenshots."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import ConsoleMessage, Page, Response, expect

from tests.e2e.harness import Verifier, stop_process, wait_ready
from wallet_sim.store import Wallet
from wallet_sim.wallet import WalletSimulator

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
DESKTOP = {"width": 1280, "height": 900}
API_ERROR_LOG = "Failed to load resource: the server responded with a status of 4"


@dataclass
class WalletServer:
    """One ``wallet-sim serve`` process."""

    wallet: Wallet
    port: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> WalletServer:
        self.log = self.wallet.path.parent / f"wallet-sim-{self.port}.log"
        command = [sys.executable, "-m", "wallet_sim.cli", "serve", "--dir", str(self.wallet.path)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*command, "--port", str(self.port)], stdout=out, stderr=subprocess.STDOUT
            )
        wait_ready(
            self.proc, f"{self.url}/api/wallet", "wallet-sim serve", self.log.read_text, timeout
        )
        return self

    def stop(self) -> None:
        stop_process(self.proc)


@dataclass
class Demo:
    """A demo-mode verifier, a wallet directory trusting it, and that wallet's web page."""

    verifier: Verifier
    wallet: Wallet
    wallet_server: WalletServer


class Console:
    """What must not happen on the pages of a test: console errors (a CSP violation is one),
    uncaught exceptions, and failed loads of anything but API calls (those 4xx are expected)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Page) -> Page:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("response", self._response)
        return page

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith(API_ERROR_LOG):
            self.errors.append(message.text)

    def _response(self, response: Response) -> None:
        path = urlsplit(response.url).path
        if response.status >= 400 and not path.startswith(("/demo/api/", "/api/")):
            self.errors.append(f"{response.status} {response.url}")


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot of a final state under ``test-artifacts/browser/``."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def answer(wallet: Wallet, uri: str) -> dict[str, object]:
    """The wallet simulator (in-process, over real HTTP) consents to and answers ``uri``."""
    simulator = WalletSimulator(wallet)
    try:
        return simulator.submit(simulator.propose(simulator.resolve(uri)))
    finally:
        simulator.http.close()


def inline_code(page: Page) -> dict[str, int]:
    """Counts of what a strict CSP forbids: inline scripts, style attributes, on* handlers."""
    counts: dict[str, int] = page.evaluate(
        """() => {
            const all = [...document.querySelectorAll("*")];
            return {
                scripts: document.querySelectorAll("script:not([src])").length,
                styles: document.querySelectorAll("[style]").length,
                handlers: all.filter((e) => [...e.attributes].some((a) => /^on/i.test(a.name)))
                    .length,
            };
        }"""
    )
    return counts


def scroll_width(page: Page) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


def start(page: Page, url: str, choice: str = "identity") -> str:
    """Open the page, start a request; the cross-device URI the QR code shows."""
    page.goto(url)
    page.check(f"#choice-{choice}")
    page.click("#start")
    expect(page.locator("#qr svg")).to_be_visible()
    expect(page.locator("#status")).to_have_text("waiting for wallet")
    uri = page.get_attribute("#qr", "data-uri")
    assert uri is not None and uri.startswith("openid4vp://")
    return uri


def start_from_current(page: Page) -> str:
    page.click("#start")
    expect(page.locator("#qr svg")).to_be_visible()
    uri = page.get_attribute("#qr", "data-uri")
    assert uri is not None
    return uri
