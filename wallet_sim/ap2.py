"""The AP2 v0.2 parties, simulated: merchant, agent provider, trusted surface, shopping agent.

Everything is built from the AP2 documents with our own small SD-JWT writer (random 128-bit
salts, array-element disclosures for delegate items and allow-list members):

- **merchant**: :func:`sign_checkout_jwt` - a UCP-shaped Checkout (``merchant``, ``line_items``,
  ``currency``, ``totals``) signed ES256 with the header ``kid``;
- **mandate content**: :func:`open_payment`, :func:`open_checkout` (allow-list members
  selectively disclosable), :func:`closed_payment`, :func:`closed_checkout` (``checkout_jwt``
  selectively disclosable, ``checkout_hash`` = its hash);
- **agent provider**: :func:`provider_root` - an SD-JWT whose ``delegate_payload`` holds
  mandates (the Trusted Agent Provider model);
- **any delegate** (the user's wallet, the shopping agent): :func:`sign_hop` - a KB-SD-JWT bound
  to the segment before it by ``sd_hash`` (or ``issuer_jwt_hash``);
- :class:`Held` - a signed segment with its disclosures grouped per delegate item, so a holder
  presents only the item (and the allow-list members) a verifier needs.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from verifier.protocol.jose import SigningKey, b64url_encode, hash_b64
from verifier.protocol.sdjwt.delegation import KB_SD_JWT, KB_SD_JWT_KB, join_chain

__all__ = [
    "Held",
    "Item",
    "closed_checkout",
    "closed_payment",
    "disclose",
    "open_checkout",
    "open_payment",
    "present",
    "provider_root",
    "sign_checkout_jwt",
    "sign_hop",
]


def disclose(value: Any, name: str | None = None) -> tuple[str, str]:
    """A disclosure (``[salt, value]`` or ``[salt, name, value]``) and its sha-256 digest."""
    salt = b64url_encode(secrets.token_bytes(16))
    body = [salt, value] if name is None else [salt, name, value]
    encoded = b64url_encode(json.dumps(body, separators=(",", ":")).encode())
    return encoded, hash_b64(encoded)


@dataclass
class Item:
    """One mandate's content as signed (digests inside) and the disclosures behind them."""

    content: dict[str, Any]
    nested: list[tuple[str, str, Any]] = field(default_factory=list)  # (encoded, digest, value)

    def sd_array(self, values: Iterable[Any]) -> list[dict[str, str]]:
        out = []
        for value in values:
            encoded, digest = disclose(value)
            self.nested.append((encoded, digest, value))
            out.append({"...": digest})
        return out


def open_payment(
    agent_jwk: Mapping[str, Any],
    *,
    amount_max: int,
    currency: str = "EUR",
    amount_min: int | None = None,
    budget: float | None = None,
    payees: Sequence[Mapping[str, Any]] = (),
    instruments: Sequence[Mapping[str, Any]] = (),
    recurrence: Mapping[str, Any] | None = None,
    extra: Sequence[Mapping[str, Any]] = (),
    exp: int | None = None,
    iat: int | None = None,
) -> Item:
    """``mandate.payment.open.1`` with ``cnf`` = the agent's key."""
    item = Item({})
    constraints: list[dict[str, Any]] = [
        {"type": "payment.amount_range", "currency": currency, "max": amount_max}
        | ({"min": amount_min} if amount_min is not None else {})
    ]
    if budget is not None:
        constraints.append({"type": "payment.budget", "max": budget, "currency": currency})
    if recurrence is not None:
        constraints.append({"type": "payment.agent_recurrence", **recurrence})
    if payees:
        constraints.append({"type": "payment.allowed_payees", "allowed": item.sd_array(payees)})
    if instruments:
        allowed = item.sd_array(instruments)
        constraints.append({"type": "payment.allowed_payment_instruments", "allowed": allowed})
    constraints += [dict(c) for c in extra]
    item.content = {"vct": "mandate.payment.open.1", "constraints": constraints}
    item.content["cnf"] = {"jwk": dict(agent_jwk)}
    item.content |= {k: v for k, v in (("iat", iat), ("exp", exp)) if v is not None}
    return item


def open_checkout(
    agent_jwk: Mapping[str, Any],
    *,
    merchants: Sequence[Mapping[str, Any]],
    items: Sequence[tuple[int, Sequence[Mapping[str, Any]]]],
    exp: int | None = None,
) -> Item:
    """``mandate.checkout.open.1``: allowed merchants and line-item requirements."""
    item = Item({})
    requirements = [
        {"id": f"line_{i}", "quantity": qty, "acceptable_items": item.sd_array(acceptable)}
        for i, (qty, acceptable) in enumerate(items, start=1)
    ]
    item.content = {
        "vct": "mandate.checkout.open.1",
        "constraints": [
            {"type": "checkout.line_items", "items": requirements},
            {"type": "checkout.allowed_merchants", "allowed": item.sd_array(merchants)},
        ],
        "cnf": {"jwk": dict(agent_jwk)},
    }
    if exp is not None:
        item.content["exp"] = exp
    return item


def closed_payment(
    checkout_jwt: str,
    *,
    payee: Mapping[str, Any],
    amount: int,
    currency: str,
    instrument: Mapping[str, Any],
    sd_alg: str = "sha-256",
) -> Item:
    return Item(
        {
            "vct": "mandate.payment.1",
            "transaction_id": hash_b64(checkout_jwt, sd_alg),
            "payee": dict(payee),
            "payment_amount": {"amount": amount, "currency": currency},
            "payment_instrument": dict(instrument),
        }
    )


def closed_checkout(checkout_jwt: str, *, sd_alg: str = "sha-256") -> Item:
    """``mandate.checkout.1`` with ``checkout_jwt`` selectively disclosable."""
    encoded, digest = disclose(checkout_jwt, "checkout_jwt")
    content = {
        "vct": "mandate.checkout.1",
        "_sd": [digest],
        "checkout_hash": hash_b64(checkout_jwt, sd_alg),
    }
    return Item(content, [(encoded, digest, checkout_jwt)])


def sign_checkout_jwt(
    key: SigningKey,
    *,
    merchant: Mapping[str, Any],
    lines: Sequence[tuple[Mapping[str, Any], int]],
    currency: str = "EUR",
    order_id: str | None = None,
) -> str:
    """A merchant-signed UCP-shaped checkout: ``lines`` are (item {id, title, price}, qty)."""
    total = sum(int(item["price"]) * qty for item, qty in lines)
    payload = {
        "id": order_id or secrets.token_hex(8),
        "merchant": dict(merchant),
        "line_items": [
            {"id": f"li_{i}", "item": dict(item), "quantity": qty}
            for i, (item, qty) in enumerate(lines)
        ],
        "status": "ready_for_complete",
        "currency": currency,
        "totals": [{"type": "subtotal", "amount": total}, {"type": "total", "amount": total}],
    }
    return key.sign_jws({"typ": "JWT", "kid": key.kid}, payload)


@dataclass(frozen=True)
class Held:
    """A signed segment: its JWT, and the disclosures of each delegate item (item first)."""

    jwt: str
    items: tuple[tuple[str, ...], ...]
    other: tuple[str, ...] = ()  # disclosures outside delegate_payload (a credential's)

    def full(self) -> str:
        return "~".join((self.jwt, *self.other, *(d for g in self.items for d in g), ""))

    def only(self, index: int, *, keep: Iterable[str] | None = None) -> str:
        """The segment disclosing item ``index`` only (and of its nested ones, ``keep``)."""
        group = self.items[index]
        nested = group[1:] if keep is None else tuple(d for d in group[1:] if d in set(keep))
        return "~".join((self.jwt, *self.other, group[0], *nested, ""))


def _delegate_claims(items: Sequence[Item]) -> tuple[list[dict[str, str]], list[tuple[str, ...]]]:
    payload, groups = [], []
    for item in items:
        encoded, digest = disclose(item.content)
        payload.append({"...": digest})
        groups.append((encoded, *(n[0] for n in item.nested)))
    return payload, groups


def provider_root(
    key: SigningKey, items: Sequence[Item], *, extra: Mapping[str, Any] | None = None
) -> Held:
    """An Agent Provider's root SD-JWT holding ``items`` (header ``kid``, no ``typ``)."""
    payload, groups = _delegate_claims(items)
    claims = {"delegate_payload": payload, "_sd_alg": "sha-256", **(extra or {})}
    return Held(key.sign_jws({"kid": key.kid}, claims), tuple(groups))


def sign_hop(
    previous: str,
    key: SigningKey,
    items: Sequence[Item],
    *,
    aud: str,
    nonce: str,
    iat: int,
    binding: str = "sd_hash",
    extra: Mapping[str, Any] | None = None,
) -> Held:
    """A KB-SD-JWT over ``previous`` (a segment as presented, ``<JWT>~...~``)."""
    terminal = not any("cnf" in item.content for item in items)
    payload, groups = _delegate_claims(items)
    bound = previous if binding == "sd_hash" else previous.split("~", 1)[0]
    claims: dict[str, Any] = {
        "delegate_payload": payload,
        "iat": iat,
        "aud": aud,
        "nonce": nonce,
        binding: hash_b64(bound),
        "_sd_alg": "sha-256",
        **(extra or {}),
    }
    header = {"typ": KB_SD_JWT if terminal else KB_SD_JWT_KB}
    return Held(key.sign_jws(header, claims), tuple(groups))


def present(*segments: str) -> str:
    """The compact chain of segments (each ``<JWT>~...~``)."""
    return join_chain(segments)
