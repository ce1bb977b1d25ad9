"""The AP2 shopping agent over HTTP against agentvp's RP API (Bearer API key).

- :meth:`ShoppingAgent.request_delegation` - ``POST /v1/presentations`` asking the person's
  wallet for the identity credential with ``transaction_data`` of type ``delegate`` (closed
  mandates for human-present, bound to an AP2 challenge; open ones with the agent's key in
  ``cnf`` for human-not-present); :meth:`collect` reads the signed mandate from the result;
- :meth:`pay` / :meth:`present_direct` - build the chains a verifier receives (only the
  mandate it needs, only the allow-list members that match) and ``POST /v1/ap2/verifications``
  with a fresh challenge.

The agent's key never leaves :class:`ShoppingAgent`; it signs only closed mandates that the
agent checked against its open mandate first (amount, payee, instrument).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from verifier.protocol.jose import SigningKey, b64url_decode, hash_b64
from verifier.protocol.sdjwt.delegation import parse_unverified_segment, split_chain

from .ap2 import Item, closed_checkout, closed_payment, present, sign_hop

__all__ = ["AP2Error", "Delegation", "ShoppingAgent", "identity_query", "narrow"]

IDENTITY_QUERY_ID = "identity"


class AP2Error(Exception):
    """A refused or failed AP2 step, with a one-line reason."""


def identity_query(vct: str) -> dict[str, Any]:
    return {
        "credentials": [
            {
                "id": IDENTITY_QUERY_ID,
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [vct]},
                "claims": [{"path": ["verified_claims", "claims", "given_name"]}],
            }
        ]
    }


def narrow(segment: str, vct: str, keep: Callable[[Any], bool] = lambda _v: True) -> str:
    """``segment`` disclosing only the item of type ``vct`` and its nested members ``keep``
    accepts (a verifier sees nothing else the person signed)."""
    parsed = parse_unverified_segment(segment, index=1)
    jwt, *disclosures, _ = segment.split("~")
    by_digest = {hash_b64(d): d for d in disclosures}
    for item in parsed.items:
        if item.claims.get("vct") != vct or item.digest is None:
            continue
        nested = _nested_digests(item.raw)
        kept = [by_digest[d] for d in nested if d in by_digest and keep(_value(by_digest[d]))]
        return "~".join((jwt, by_digest[item.digest], *kept, ""))
    raise AP2Error(f"the delegation holds no {vct} mandate")


def _value(encoded: str) -> Any:
    return json.loads(b64url_decode(encoded))[-1]


def _nested_digests(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        if set(node) == {"..."}:
            return [node["..."]]
        for digest in node.get("_sd", []) if isinstance(node.get("_sd"), list) else []:
            out.append(digest)
        for key, value in node.items():
            if key != "_sd":
                out += _nested_digests(value)
    elif isinstance(node, list):
        for element in node:
            out += _nested_digests(element)
    return out


@dataclass(frozen=True)
class Delegation:
    """What the person signed: the Delegate SD-JWT and its mandates (as the agent holds them)."""

    mandate: str
    items: list[dict[str, Any]]

    @property
    def credential(self) -> str:
        return split_chain(self.mandate)[0]

    @property
    def hop(self) -> str:
        return split_chain(self.mandate)[1]


class ShoppingAgent:
    def __init__(
        self,
        rp: str,
        api_key: str,
        key: SigningKey,
        *,
        clock: Callable[[], float] = time.time,
        http: httpx.Client | None = None,
    ) -> None:
        self.rp = rp.rstrip("/")
        self.key = key
        self.clock = clock
        self.http = http or httpx.Client(timeout=15, follow_redirects=False, trust_env=False)
        self.headers = {"Authorization": f"Bearer {api_key}"}

    def close(self) -> None:
        self.http.close()

    def _post(self, path: str, body: Mapping[str, Any], status: int) -> dict[str, Any]:
        response = self.http.post(f"{self.rp}{path}", json=dict(body), headers=self.headers)
        if response.status_code != status:
            raise AP2Error(f"{path}: {response.status_code} {response.text[:300]}")
        data: dict[str, Any] = response.json()
        return data

    def challenge(self) -> dict[str, Any]:
        return self._post("/v1/ap2/challenges", {}, 201)

    def request_delegation(
        self,
        items: Sequence[Item],
        *,
        identity_vct: str,
        challenge_id: str | None = None,
    ) -> dict[str, Any]:
        """Ask the person's wallet to sign ``items`` (their nested disclosures ride along)."""
        td = {
            "type": "delegate",
            "format": "dc+sd-jwt",
            "credential_ids": [IDENTITY_QUERY_ID],
            "delegate_payload": [item.content for item in items],
            "delegate_disclosures": [n[0] for item in items for n in item.nested],
        }
        body: dict[str, Any] = {
            "dcql_query": identity_query(identity_vct),
            "transaction_data": [td],
        }
        if challenge_id is not None:
            body["ap2_challenge_id"] = challenge_id
        return self._post("/v1/presentations", body, 201)

    def collect(self, tx_id: str, *, timeout: float = 30.0) -> Delegation:
        deadline = time.monotonic() + timeout
        while True:
            view = self.http.get(f"{self.rp}/v1/presentations/{tx_id}", headers=self.headers)
            data = view.json()
            if data.get("status") == "verified":
                found = data["result"]["credentials"][IDENTITY_QUERY_ID][0].get("ap2")
                if not found:
                    raise AP2Error("the presentation carries no signed mandate")
                return Delegation(found["mandate"], found["items"])
            if data.get("status") in ("rejected", "error", "expired"):
                raise AP2Error(f"delegation {data.get('status')}: {data.get('error')}")
            if time.monotonic() > deadline:
                raise AP2Error("no answer from the wallet in time")
            time.sleep(0.1)

    def verify(self, **body: Any) -> dict[str, Any]:
        return self._post("/v1/ap2/verifications", {k: v for k, v in body.items() if v}, 200)

    def present_direct(
        self,
        delegation: Delegation,
        *,
        challenge_id: str,
        checkout_jwt: str,
        policy: str | None = None,
    ) -> dict[str, Any]:
        """Human present: the person's closed mandates, each shown alone, one verification."""
        cred, hop = delegation.credential, delegation.hop
        return self.verify(
            challenge_id=challenge_id,
            mandate=present(cred, narrow(hop, "mandate.payment.1")),
            checkout_mandate=present(cred, narrow(hop, "mandate.checkout.1")),
            checkout_jwt=checkout_jwt,
            policy=policy,
        )

    def _check(self, delegation: Delegation, payee: Mapping[str, Any], amount: int) -> None:
        """The deterministic guard: sign nothing the open payment mandate would refuse."""
        for item in delegation.items:
            if item.get("vct") != "mandate.payment.open.1":
                continue
            for c in item.get("constraints", []):
                if c.get("type") == "payment.amount_range" and amount > c.get("max", 0):
                    raise AP2Error(f"{amount} is over the mandate's {c.get('max')}")
                if c.get("type") == "payment.allowed_payees" and not any(
                    m.get("id") == payee.get("id") for m in c.get("allowed", [])
                ):
                    raise AP2Error(f"payee {payee.get('id')!r} is not allowed")

    def pay(
        self,
        delegation: Delegation,
        *,
        checkout_jwt: str,
        payee: Mapping[str, Any],
        amount: int,
        currency: str,
        instrument: Mapping[str, Any],
        guard: bool = True,
        challenge: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Human not present: close both open mandates for this checkout and present them
        (for ``challenge``, e.g. one a shop's page shows, or a fresh one)."""
        if guard:
            self._check(delegation, payee, amount)
        challenge = challenge or self.challenge()
        now = int(self.clock())
        cred = delegation.credential

        def member(value: Any) -> bool:
            ids = (payee.get("id"), instrument.get("id"))
            return isinstance(value, dict) and value.get("id") in ids

        pay_open = narrow(delegation.hop, "mandate.payment.open.1", member)
        pay_leaf = sign_hop(
            pay_open,
            self.key,
            [
                closed_payment(
                    checkout_jwt,
                    payee=payee,
                    amount=amount,
                    currency=currency,
                    instrument=instrument,
                )
            ],
            aud=challenge["aud"],
            nonce=challenge["nonce"],
            iat=now,
        )
        body: dict[str, Any] = {
            "challenge_id": challenge["id"],
            "mandate": present(cred, pay_open, pay_leaf.full()),
            "checkout_jwt": checkout_jwt,
        }
        if any(i.get("vct") == "mandate.checkout.open.1" for i in delegation.items):
            co_open = narrow(delegation.hop, "mandate.checkout.open.1")
            co_leaf = sign_hop(
                co_open,
                self.key,
                [closed_checkout(checkout_jwt)],
                aud=challenge["aud"],
                nonce=challenge["nonce"],
                iat=now,
            )
            body["checkout_mandate"] = present(cred, co_open, co_leaf.full())
        return self.verify(**body)
