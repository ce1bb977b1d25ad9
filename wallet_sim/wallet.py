"""The simulated wallet: resolve a request, check the verifier, match DCQL, consent, present.

Steps (digest §11): parse the ``openid4vp://`` invocation; fetch the Request Object by GET or by
POST with ``wallet_metadata`` and a fresh ``wallet_nonce``, never following redirects; verify it
(:func:`verifier.protocol.oid4vp.wallet_request.verify_request_object`) against the verifier anchors
the wallet trusts; validate ``transaction_data``; select the minimal disclosures; show what will be
disclosed and ask for consent; build the ``vp_token`` with KB-JWTs (and a self-issued ID token if
asked); encrypt for ``direct_post.jwt``; submit; report the ``redirect_uri`` to follow.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from verifier.protocol import (
    AgentVPError,
    TransactionData,
    parse_transaction_data,
)
from verifier.protocol.oid4vp.delegate import DELEGATE_TYPE
from verifier.protocol.oid4vp.request import parse_authorization_request_uri
from verifier.protocol.oid4vp.response import direct_post_form, encrypted_form
from verifier.protocol.oid4vp.siop import create_id_token
from verifier.protocol.oid4vp.wallet_request import RequestObject, verify_request_object

from .ap2_wallet import describe_delegate
from .client import WalletHTTP
from .holder import Presentation, build_vp_token
from .store import StoredCredential, Wallet

__all__ = [
    "AGENT_ACTION_TD",
    "SUPPORTED_TD_TYPES",
    "Proposal",
    "WalletError",
    "WalletSimulator",
    "consent_lines",
    "describe_action",
]

AGENT_ACTION_TD = "https://agentvp.example/td/agent_action/1"
SUPPORTED_TD_TYPES = frozenset({AGENT_ACTION_TD, DELEGATE_TYPE})
WALLET_METADATA = {
    "vp_formats_supported": {
        "dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]}
    },
    "client_id_prefixes_supported": ["x509_hash", "x509_san_dns", "redirect_uri"],
    "authorization_encryption_alg_values_supported": ["ECDH-ES"],
    "authorization_encryption_enc_values_supported": ["A128GCM", "A256GCM"],
}
_VERBS = {"payment.initiate": "pay", "commerce.checkout": "buy for"}
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "TND": 3}


def _label(name: str | None, value: Any) -> str:
    """How a disclosure is named on the consent screen."""
    if name is not None:
        return name
    if isinstance(value, dict):
        shown = {k: v for k, v in value.items() if k != "_sd"}
        scalars = ", ".join(f"{k}={v}" for k, v in shown.items() if not isinstance(v, dict | list))
        return f"[{scalars or 'an element'}]"
    return f"[{value}]"


class WalletError(Exception):
    """A wallet-side failure; ``error`` is the OAuth code sent back when we can."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


def describe_action(td: TransactionData) -> str:
    """A human-readable line for one transaction data entry (the consent screen)."""
    if td.type == DELEGATE_TYPE:  # AP2 mandates the person signs
        return "Sign AP2 mandates: " + " | ".join(describe_delegate(td))
    payload = td.data.get("payload") if isinstance(td.data.get("payload"), dict) else {}
    assert isinstance(payload, dict)
    if td.type == AGENT_ACTION_TD:
        amount = payload.get("payment_amount") or {}
        currency = str(amount.get("currency", ""))
        minor = amount.get("amount")
        exponent = _MINOR_UNITS.get(currency, 2)
        money = f"{minor / 10**exponent:.{exponent}f} {currency}" if isinstance(minor, int) else ""
        payee = (payload.get("payee") or {}).get("name", "?")
        agent = f"Agent {payload['agent_name']}" if payload.get("agent_name") else "The agent"
        verb = _VERBS.get(str(payload.get("action")), str(payload.get("action", "act")))
        order = payload.get("transaction_id", "?")
        return f"{agent} may {verb} {money} to {payee} (order {order})".replace("  ", " ")
    return f"{td.type}: {json.dumps(td.data.get('payload', {}))[:200]}"


@dataclass
class Proposal:
    """What the wallet would send, for the consent screen and for tests."""

    request: RequestObject
    presentation: Presentation
    transaction_data: list[TransactionData]
    credentials: dict[str, StoredCredential]

    def describe(self) -> list[str]:
        req = self.request
        lines = [f"verifier: {req.client_id}"]
        if req.verifier_subject:
            lines.append(f"certificate: {req.verifier_subject} (trusted)")
        if req.wants_id_token:
            lines.append("sign-in: a self-issued ID token (your key, no verified claims)")
        return lines + consent_lines(self.transaction_data, self.presentation, self.credentials)


def consent_lines(
    transaction_data: list[TransactionData],
    presentation: Presentation,
    credentials: dict[str, StoredCredential],
) -> list[str]:
    """The consent screen after the verifier's name: each action, then what each credential
    discloses."""
    lines = [f"action: {describe_action(td)}" for td in transaction_data]
    for query_id, matches in presentation.matches.items():
        for match in matches:
            stored = credentials.get(match.credential.id)
            names = [_label(d.name, d.value) for d in match.disclosures]
            kind = stored.kind if stored else match.credential.id
            shown = ", ".join(names) or "nothing selectively disclosable"
            issuer = match.credential.payload.get("iss")
            lines.append(f"{query_id}: {kind} from {issuer} - discloses {shown}")
    return lines


class WalletSimulator:
    """One wallet directory, speaking OpenID4VP over HTTP."""

    def __init__(
        self,
        wallet: Wallet,
        *,
        http: WalletHTTP | None = None,
        clock: Callable[[], float] = time.time,
        holders: Collection[str] | None = None,
        credentials: Collection[str] | None = None,
    ) -> None:
        self.wallet = wallet
        self.http = http or WalletHTTP()
        self.clock = clock
        self.holders = set(holders) if holders is not None else None
        self.only = set(credentials) if credentials is not None else None

    def resolve(self, uri: str, *, method: str | None = None) -> RequestObject:
        """Fetch and verify the Request Object named by an ``openid4vp://`` URL."""
        try:
            params = parse_authorization_request_uri(uri)
        except AgentVPError as exc:
            raise WalletError(exc.error, f"bad request URL: {exc.reason}") from None
        if "request_uri" not in params:
            raise WalletError(
                "invalid_request", "only requests by reference (request_uri) are supported"
            )
        use = method or params.get("request_uri_method", "get")
        wallet_nonce = secrets.token_urlsafe(24) if use == "post" else None
        form = {"wallet_metadata": json.dumps(WALLET_METADATA), "wallet_nonce": wallet_nonce or ""}
        token = self.http.fetch_request(params["request_uri"], method=use, form=form)
        try:
            return verify_request_object(
                token,
                url_client_id=params["client_id"],
                anchors=self.wallet.verifier_anchors(),
                now=int(self.clock()),
                wallet_nonce=wallet_nonce,
            )
        except AgentVPError as exc:
            raise WalletError(
                "invalid_client", f"refusing the request: {exc.code}: {exc.reason}"
            ) from None

    def propose(self, request: RequestObject) -> Proposal:
        """Select credentials and disclosures; raise :class:`WalletError` if we cannot comply.
        A SIOPv2 ``id_token`` request (no DCQL query) selects nothing."""
        if request.dcql_query is None:
            return Proposal(request, Presentation(vp_token={}, matches={}), [], {})
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
                audience=request.client_id,
                nonce=request.nonce,
                now=int(self.clock()),
                transaction_data=request.transaction_data,
                supported_td_types=SUPPORTED_TD_TYPES,
            )
        except AgentVPError as exc:
            raise WalletError(exc.error, f"{exc.code}: {exc.reason}") from None
        return Proposal(request, presentation, tds, {c.id: c for c in stored})

    def _submit(self, request: RequestObject, params: dict[str, Any]) -> dict[str, object]:
        if request.state is not None:
            params["state"] = request.state
        if request.response_mode == "direct_post.jwt":
            form = encrypted_form(params, request.client_metadata)
        else:
            form = direct_post_form(params)
        return self.http.post_response(request.response_uri, form)

    def submit(self, proposal: Proposal) -> dict[str, object]:
        """Send the presentation; the verifier's JSON answer (maybe with ``redirect_uri``)."""
        params: dict[str, Any] = {}
        if proposal.request.dcql_query is not None:
            params["vp_token"] = proposal.presentation.vp_token
        if proposal.request.wants_id_token:
            params["id_token"] = create_id_token(
                key=self.wallet.key("human"),
                audience=proposal.request.client_id,
                nonce=proposal.request.nonce,
                iat=int(self.clock()),
            )
        return self._submit(proposal.request, params)

    def decline(
        self,
        request: RequestObject,
        error: str = "access_denied",
        description: str = "user declined",
    ) -> dict[str, object]:
        """Send an OAuth error response (the user said no, or we cannot comply)."""
        return self._submit(request, {"error": error, "error_description": description})
