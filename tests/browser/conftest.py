"""Real Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright's sync API) against real
``agentvp serve`` (demo mode) and ``wallet-sim serve`` processes on free loopback ports.

Playwright never downloads a browser here: it launches the system binary. Without it the tests
skip, or fail loudly under ``CI=true``. Every launch gets a fresh temporary profile (Playwright
creates and deletes one per browser) and every test fresh contexts. Screenshots of final states
go to ``test-artifacts/browser/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.harness import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    Console,
    Demo,
    WalletServer,
)
from tests.conftest import free_port
from tests.e2e.harness import make_data_dir, make_wallet, start_verifier

expect.set_options(timeout=15_000)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium; a missing binary fails under CI=true, else skips.

    Package-scoped: Playwright's sync API runs an event loop on this thread while it is
    started, so it must be stopped before any other package's asyncio tests run."""
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} not installed (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="package")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("browser")
    port = free_port()
    make_data_dir(root / "verifier", f"http://localhost:{port}")
    verifier = start_verifier(root / "verifier", port=port, demo_mode="true")
    wallet = make_wallet(root / "wallet", root / "verifier")
    try:
        server = WalletServer(wallet, free_port()).start()
    except BaseException:
        verifier.stop()
        raise
    yield Demo(verifier, wallet, server)
    server.stop()
    verifier.stop()


@pytest.fixture
def console() -> Iterator[Console]:
    watcher = Console()
    yield watcher
    assert watcher.errors == [], watcher.errors


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    """A desktop-sized page in a fresh browser context (its own storage)."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    yield console.watch(context.new_page())
    context.close()


@pytest.fixture
def second_page(browser: Browser, console: Console) -> Iterator[Page]:
    """Another party's page: a second, isolated browser context (the wallet's device)."""
    context = browser.new_context(viewport={"width": 480, "height": 960})
    context.set_default_timeout(15_000)
    yield console.watch(context.new_page())
    context.close()
