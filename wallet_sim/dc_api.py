"""The simulated wallet behind the browser's Digital Credentials API (OpenID4VP Appendix A).

Over the DC API there is no request URI to fetch and no response URI to post to: the platform
(the browser, then the OS) hands the wallet one entry of ``digital.requests`` - ``{protocol,
data}`` - together with the origin of the page that asked, and returns the wallet's answer to
that page as a ``DigitalCredential`` (``{protocol, data}``). :class:`DCAPIWallet` plays that
wallet:

1. :meth:`~DCAPIWallet.resolve` verifies the request for that origin
   (:func:`verifier.protocol.oid4vp.dc_api_wallet.verify_dc_api_request`: a signed request's
   signature, certificate chain and ``expected_origins``);
2. :meth:`~DCAPIWallet.propose` validates ``transaction_data`` and selects the minimal
   disclosures, with every KB-JWT's ``aud`` = ``origin:<origin>`` (A.4);
3. :meth:`~DCAPIWallet.answer` builds the ``DigitalCredential`` (encrypted for ``dc_api.jwt``),
   :meth:`~DCAPIWallet.decline` an ``{"error": ...}`` one.

:func:`answer_dc_api` does all three for a request the wallet consents to (tests, the browser
bridge); ``wallet-sim present --dc-api request.json --origin https://…`` is its command line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from verifier.protocol import AgentVPError, TransactionData, parse_transaction_data
from verifier.protocol.oid4vp.dc_api_wallet import (
    DCAPIRequest,
    dc_api_answer,
    verify_dc_api_request,
)

from .holder import Presentation, build_vp_token
from .store import StoredCredential, Wallet
from .wallet import SUPPORTED_TD_TYPES, WalletError, consent_lines

__all__ = ["DCAPIProposal", "DCAPIWallet", "answer_dc_api", "request_of"]


def request_of(document: Any) -> Any:
    """The ``{protocol, data}`` entry in ``document``: the entry itself, a ``POST
    /v1/presentations`` answer (its ``dc_api_request``) or ``{"digital": {"requests": [..]}}``
    (the first request)."""
    if isinstance(document, dict) and "dc_api_request" in document:
        return document["dc_api_request"]
    if isinstance(document, dict) and isinstance(document.get("digital"), dict):
        requests = document["digital"].get("requests")
        if isinstance(requests, list) and requests:
            return requests[0]
    return document


@dataclass
class DCAPIProposal:
    """What the wallet would return, for the consent screen and for tests."""

    request: DCAPIRequest
    presentation: Presentation
    transaction_data: list[TransactionData]
    credentials: dict[str, StoredCredential]

    def describe(self) -> list[str]:
        req = self.request
        lines = [f"verifier: {req.origin} (the browser's origin; {req.protocol})"]
        if req.client_id is not None:
            lines.append(f"client_id: {req.client_id}")
        if req.verifier_subject:
            lines.append(f"certificate: {req.verifier_subject} (trusted)")
        return lines + consent_lines(self.transaction_data, self.presentation, self.credentials)


class DCAPIWallet:
    """One wallet directory, answering DC API requests the platform hands it."""

    def __init__(
        self,
        wallet: Wallet,
        *,
        clock: Callable[[], float] = time.time,
        holders: Collection[str] | None = None,
        credentials: Collection[str] | None = None,
    ) -> None:
        self.wallet = wallet
        self.clock = clock
        self.holders = set(holders) if holders is not None else None
        self.only = set(credentials) if credentials is not None else None

    def resolve(self, request: Any, origin: str) -> DCAPIRequest:
        """Verify ``request`` as coming from a page of ``origin``; :class:`WalletError` if not."""
        try:
            return verify_dc_api_request(
                request,
                origin=origin,
                anchors=self.wallet.verifier_anchors(),
                now=int(self.clock()),
            )
        except AgentVPError as exc:
            raise WalletError(
                exc.error, f"refusing the request: {exc.code}: {exc.reason}"
            ) from None

    def propose(self, request: DCAPIRequest) -> DCAPIProposal:
        """Select credentials and disclosures; :class:`WalletError` if we cannot comply."""
        stored = [
            c
            for c in self.wallet.credentials()
            if (self.holders is None or c.holder in self.holders)
            and (self.only is None or c.id in self.only)
        ]
        try:
            tds = [parse_transaction_data(t) for t in request.transaction_data]
            presentation = build_vp_token(
                query=request.dcql_query,
                credentials=[c.held() for c in stored],
                holder_keys=self.wallet.holder_keys(stored),
                audience=request.audience,
                nonce=request.nonce,
                now=int(self.clock()),
                transaction_data=request.transaction_data,
                supported_td_types=SUPPORTED_TD_TYPES,
            )
        except AgentVPError as exc:
            raise WalletError(exc.error, f"{exc.code}: {exc.reason}") from None
        return DCAPIProposal(request, presentation, tds, {c.id: c for c in stored})

    def answer(self, proposal: DCAPIProposal) -> dict[str, Any]:
        """The ``DigitalCredential`` (``{protocol, data}``) carrying the presentation."""
        return dc_api_answer(proposal.request, {"vp_token": proposal.presentation.vp_token})

    def decline(self, request: DCAPIRequest, error: str = "access_denied") -> dict[str, Any]:
        """An ``{"error": ...}`` answer (A.4): the person said no, or we cannot comply."""
        return dc_api_answer(request, {"error": error})


def answer_dc_api(
    wallet: Wallet,
    request: Any,
    origin: str,
    *,
    clock: Callable[[], float] = time.time,
    holders: Collection[str] | None = ("human",),
) -> dict[str, Any]:
    """Verify, select, consent and answer in one step (the person approves)."""
    simulator = DCAPIWallet(wallet, clock=clock, holders=holders)
    return simulator.answer(simulator.propose(simulator.resolve(request_of(request), origin)))
