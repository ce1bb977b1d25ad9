"""The browser's wallet picker in tests: Chromium's own virtual wallet, answering with the wallet
simulator.

What Chromium 156 offers for the Digital Credentials API in automation (found by asking the
browser itself, ``/json/protocol`` of ``--remote-debugging-port``, and trying it headless):

- the API is on by default: ``DigitalCredential`` exists, ``userAgentAllowsProtocol`` accepts
  ``openid4vp-v1-signed`` and ``-unsigned``, and ``navigator.credentials.get({digital})`` runs
  the browser's real request path (Blink → the browser process's DigitalIdentityRequest);
- without a wallet that path waits forever (the desktop UI would wait for the person);
- the DevTools domain ``DigitalCredentials`` (experimental) has one command,
  ``setVirtualWalletBehavior {action: respond|decline|wait|clear, protocol?, response?,
  frameId?}``: a virtual wallet for the page's frame that resolves every following ``get`` with
  a ``DigitalCredential`` of that ``protocol`` and ``data`` (``decline``: ``NotAllowedError``).
  It stays armed across requests and reloads, and it does not see the request;
- ``--use-fake-ui-for-digital-identity`` also resolves requests, but always with a fixed fake
  token, so it cannot carry a wallet's answer.

So no JavaScript is injected into the pages: the page's ``navigator.credentials.get`` call is
the real one and Chromium returns the ``DigitalCredential``. Because the virtual wallet cannot
read the request, :class:`BrowserWallet` plays the wallet picker *ahead* of the call: it takes
the request the page received from the verifier - exactly the object the page passes to
``get`` - lets the wallet simulator answer it for the page's origin (:func:`wallet_sim.dc_api.
answer_dc_api`: signature and ``expected_origins`` checked, KB-JWT ``aud`` =
``origin:<origin>``, encrypted for ``dc_api.jwt``) and arms the virtual wallet with that answer.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import CDPSession, Page, Route

from wallet_sim.dc_api import answer_dc_api
from wallet_sim.store import Wallet

__all__ = ["BrowserWallet"]


class BrowserWallet:
    """Chromium's virtual wallet for one page, answering as the wallet simulator."""

    def __init__(self, page: Page, wallet: Wallet) -> None:
        self.page = page
        self.wallet = wallet
        self.cdp: CDPSession = page.context.new_cdp_session(page)
        self.answers: list[dict[str, Any]] = []

    @property
    def origin(self) -> str:
        origin: str = self.page.evaluate("location.origin")
        return origin

    def arm(self, credential: dict[str, Any]) -> None:
        """Every following ``navigator.credentials.get`` resolves with ``credential``."""
        behavior = {"action": "respond", "protocol": credential["protocol"]}
        self.cdp.send(
            "DigitalCredentials.setVirtualWalletBehavior",
            {**behavior, "response": credential["data"]},
        )
        self.answers.append(credential)

    def answer(self, request: dict[str, Any], *, origin: str | None = None) -> dict[str, Any]:
        """The simulator consents to ``request`` as if made by a page of ``origin`` (default:
        the page's own) and the virtual wallet is armed with its answer."""
        credential = answer_dc_api(self.wallet, request, origin or self.origin)
        self.arm(credential)
        return credential

    def decline(self) -> None:
        """The person closes the wallet picker: ``get`` rejects with ``NotAllowedError``."""
        self.cdp.send("DigitalCredentials.setVirtualWalletBehavior", {"action": "decline"})

    def answer_when_served(self, url_glob: str) -> None:
        """Arm the wallet as soon as the page receives a request from the verifier at
        ``url_glob`` (a JSON body with ``dc_api_request``), before the page can pass it to
        ``get`` - for pages that fetch the request on the click that uses it."""

        origin = self.origin

        def handle(route: Route) -> None:
            response = route.fetch()
            body = response.json()
            if response.ok and isinstance(body, dict) and "dc_api_request" in body:
                self.answer(body["dc_api_request"], origin=origin)
            route.fulfill(response=response)

        self.page.route(url_glob, handle)
