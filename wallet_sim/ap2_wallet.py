"""The person's wallet as an AP2 Trusted Surface: ``transaction_data`` of type ``delegate``.

Presenting a credential for a request that carries ``delegate`` entries, the wallet signs the
mandates with the credential's key: its key binding becomes a KB-SD-JWT
(:func:`wallet_sim.ap2.sign_hop`) whose ``delegate_payload`` holds one array-element
disclosure per requested item, with ``sd_hash`` over the credential as presented, the
request's ``aud`` and ``nonce`` and the ``transaction_data_hashes`` of every entry it binds.
The answer is the Delegate SD-JWT ``<credential>~~<KB-SD-JWT>~<disclosures>~``.

:func:`describe_delegate` is the consent screen's text: payee, amount or range, budget,
recurrence, merchants and items of each mandate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from verifier.protocol import TransactionData, transaction_data_hash
from verifier.protocol.jose import SigningKey, b64url_decode, hash_b64
from verifier.protocol.oid4vp.delegate import parse_delegate

from .ap2 import Item, sign_hop

__all__ = ["delegate", "describe_delegate"]

_EXPONENTS = {"JPY": 0, "KRW": 0, "BHD": 3, "KWD": 3, "TND": 3}


def delegate(
    presented: str,
    key: SigningKey,
    delegations: Sequence[TransactionData],
    bound: Sequence[TransactionData],
    audience: str,
    nonce: str,
    now: int,
    alg: str | None,
) -> str:
    """The Delegate SD-JWT answering ``delegations`` (and binding every entry in ``bound``)."""
    items: list[Item] = []
    extra_disclosures: list[str] = []
    for td in delegations:
        request = parse_delegate(td)
        items += [Item(dict(content)) for content in request.items]
        extra_disclosures += request.disclosures
    hashes_alg = alg or "sha-256"
    extra: dict[str, Any] = {
        "transaction_data_hashes": [transaction_data_hash(t.encoded, hashes_alg) for t in bound]
    }
    if alg is not None:
        extra["transaction_data_hashes_alg"] = alg
    hop = sign_hop(presented, key, items, aud=audience, nonce=nonce, iat=now, extra=extra)
    disclosures = [d for group in hop.items for d in group] + extra_disclosures
    return presented[:-1] + "~~" + "~".join((hop.jwt, *disclosures, ""))


def _money(amount: Any, currency: str) -> str:
    exponent = _EXPONENTS.get(currency, 2)
    if isinstance(amount, int):
        return f"{amount / 10**exponent:.{exponent}f} {currency}"
    return f"{amount} {currency}"


def _shown(value: Any, disclosures: dict[str, Any]) -> list[Any]:
    """Allow-list members, resolved from the request's delegate_disclosures."""
    out = []
    for element in value if isinstance(value, list) else []:
        if isinstance(element, dict) and set(element) == {"..."}:
            out.append(disclosures.get(element["..."], "(hidden)"))
        else:
            out.append(element)
    return out


def _names(members: list[Any]) -> str:
    return ", ".join(
        str(m.get("name") or m.get("title") or m.get("id")) if isinstance(m, dict) else str(m)
        for m in members
    )


def _constraint_text(c: dict[str, Any], disclosures: dict[str, Any]) -> str:
    kind = str(c.get("type"))
    currency = str(c.get("currency", ""))
    members = _names(_shown(c.get("allowed"), disclosures))
    texts = {
        "payment.amount_range": lambda: (
            f"amount between {_money(c.get('min', 0), currency)} and "
            f"{_money(c.get('max'), currency)}"
        ),
        "payment.budget": lambda: f"budget {c.get('max')} {currency} in total",
        "payment.agent_recurrence": lambda: (
            f"repeat {c.get('frequency')}, at most {c.get('max_occurrences', 'any')} times"
        ),
        "payment.allowed_payees": lambda: f"merchants: {members}",
        "checkout.allowed_merchants": lambda: f"merchants: {members}",
        "payment.allowed_payment_instruments": lambda: f"payment with: {members}",
        "checkout.line_items": lambda: (
            "items: "
            + "; ".join(
                f"{r.get('quantity')} x {_names(_shown(r.get('acceptable_items'), disclosures))}"
                for r in c.get("items", [])
                if isinstance(r, dict)
            )
        ),
    }
    text = texts.get(kind)
    return text() if text is not None else f"{kind}: {json.dumps(c)[:120]}"


def _decoded(disclosures: Sequence[str]) -> dict[str, Any]:

    out = {}
    for encoded in disclosures:
        out[hash_b64(encoded)] = json.loads(b64url_decode(encoded))[-1]
    return out


def describe_delegate(td: TransactionData) -> list[str]:
    """One line per mandate: what the person is about to sign."""
    request = parse_delegate(td)
    disclosures = _decoded(request.disclosures)
    lines = []
    for item in request.items:
        vct = item.get("vct")
        if vct == "mandate.payment.1":
            amount = item.get("payment_amount") or {}
            payee = (item.get("payee") or {}).get("name", "?")
            lines.append(
                f"Pay {_money(amount.get('amount'), str(amount.get('currency', '')))} to {payee}"
            )
        elif vct == "mandate.checkout.1":
            lines.append(f"Buy the checkout {str(item.get('checkout_hash'))[:12]}… as shown")
        else:
            kind = "payments" if vct == "mandate.payment.open.1" else "checkouts"
            texts = [
                _constraint_text(c, disclosures)
                for c in item.get("constraints", [])
                if isinstance(c, dict)
            ]
            lines.append(f"Let the agent make {kind}: " + "; ".join(texts))
    return lines
