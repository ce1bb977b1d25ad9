"""The merchant-signed Checkout JWT of AP2 v0.2 and the ``checkout.line_items`` match.

:func:`verify_checkout_jwt` checks the merchant's signature (ECDSA only - AP2 forbids a
deterministic scheme so that ``checkout_hash`` cannot be guessed), with the key of the trusted
merchant named by the checkout's ``merchant.website`` (and its ``iss``, which must agree when
present), found through an :class:`~verifier.protocol.sdjwt.vc.IssuerKeyResolver` under the
pseudo credential type :data:`CHECKOUT_VCT`; then ``exp``/``nbf`` if present.

The checkout payload is the UCP Checkout object: line items are read from ``line_items[]``
(``item.id``, or ``product.id`` in older samples, and ``quantity``), the total from ``totals[]``
(``type: total``) with ``currency``. A checkout whose items cannot be read leaves
``checkout.line_items`` unresolved rather than passing.

:func:`line_items_satisfied` is the maximal-flow formulation of ``checkout_mandate.md``: every
requirement's quantity and every checkout item's quantity must be used exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import CredentialError, MalformedError, SignatureError, TrustError
from ..jose import check_alg, parse_unverified_jws
from ..sdjwt.vc import IssuerKeyResolver

__all__ = [
    "CHECKOUT_ALGS",
    "CHECKOUT_VCT",
    "Checkout",
    "line_items_satisfied",
    "verify_checkout_jwt",
]

CHECKOUT_VCT = "ap2.checkout_jwt"  # trust-file type of merchants whose checkouts we accept
CHECKOUT_ALGS = frozenset({"ES256", "ES384", "ES512"})  # randomized signatures only
_TYPS = (None, "JWT")
MAX_LINE_ITEMS = 256


@dataclass(frozen=True, slots=True)
class Checkout:
    """A verified checkout JWT and what the mandate rules read from it."""

    jwt: str
    payload: dict[str, Any]
    merchant: dict[str, Any]
    items: tuple[tuple[str, int], ...] | None  # (item id, quantity); None: unreadable
    total: tuple[int, str] | None  # (amount in minor units, currency)


def _items(payload: Mapping[str, Any]) -> tuple[tuple[str, int], ...] | None:
    lines = payload.get("line_items")
    if not isinstance(lines, list) or not lines or len(lines) > MAX_LINE_ITEMS:
        return None
    out: list[tuple[str, int]] = []
    for line in lines:
        if not isinstance(line, dict):
            return None
        item = line.get("item") if isinstance(line.get("item"), dict) else line.get("product")
        qty = line.get("quantity")
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            return None
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
            return None
        out.append((item["id"], qty))
    return tuple(out)


def _total(payload: Mapping[str, Any]) -> tuple[int, str] | None:
    currency, totals = payload.get("currency"), payload.get("totals")
    if not isinstance(currency, str) or not isinstance(totals, list):
        return None
    for entry in totals:
        if isinstance(entry, dict) and entry.get("type") == "total":
            amount = entry.get("amount")
            if isinstance(amount, int) and not isinstance(amount, bool):
                return amount, currency
    return None


def verify_checkout_jwt(
    token: Any,
    *,
    merchants: IssuerKeyResolver,
    now: int,
    leeway: int = 60,
    algs: Collection[str] = frozenset({"ES256"}),
) -> Checkout:
    """The verified checkout; raise on a bad signature, an untrusted merchant or expiry."""
    if not isinstance(token, str) or len(token) > 64 * 1024:
        raise MalformedError("malformed_jwt", "checkout_jwt is not a compact JWT string")
    jws = parse_unverified_jws(token, what="checkout JWT")
    check_alg(jws.alg, set(algs) & CHECKOUT_ALGS, what="checkout JWT")
    if jws.header.get("typ") not in _TYPS:
        raise CredentialError("issuer_typ_invalid", f"checkout JWT typ {jws.header.get('typ')!r}")
    payload = jws.payload_json(what="checkout JWT payload")
    merchant = payload.get("merchant")
    website = merchant.get("website") if isinstance(merchant, dict) else None
    iss = payload.get("iss")
    if not isinstance(website, str) or (iss is not None and iss != website):
        raise TrustError(
            "issuer_untrusted", "checkout JWT names no merchant website (or another iss)"
        )
    assert isinstance(merchant, dict)
    keys = merchants.resolve(iss=website, header=jws.header, vct=CHECKOUT_VCT)
    if not any(k.verify(jws.alg, jws.signing_input, jws.signature) for k in keys):
        raise SignatureError("checkout_signature_invalid", f"checkout JWT not signed by {website}")
    for name, late in (("exp", True), ("nbf", False)):
        value = payload.get(name)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise CredentialError("validity_claim_invalid", f"checkout JWT {name} is no number")
        if (late and now >= value + leeway) or (not late and now + leeway < value):
            code = "credential_expired" if late else "credential_not_yet_valid"
            raise CredentialError(code, f"checkout JWT {name} {int(value)}")
    return Checkout(token, payload, merchant, _items(payload), _total(payload))


def _augment(
    graph: list[dict[int, float]], source: int, sink: int, seen: set[int], node: int, flow: float
) -> float:
    if node == sink:
        return flow
    seen.add(node)
    for nxt, cap in list(graph[node].items()):
        if cap > 0 and nxt not in seen:
            pushed = _augment(graph, source, sink, seen, nxt, min(flow, cap))
            if pushed > 0:
                graph[node][nxt] -= pushed
                graph[nxt][node] = graph[nxt].get(node, 0) + pushed
                return pushed
    return 0


def line_items_satisfied(
    requirements: Sequence[tuple[int, frozenset[str]]], checkout: Sequence[tuple[str, int]]
) -> bool:
    """``requirements``: (quantity, acceptable item ids) each; ``checkout``: (item id, quantity).

    True when a flow uses every requirement's quantity and every checkout item exactly."""
    totals: dict[str, int] = {}
    for item_id, qty in checkout:
        totals[item_id] = totals.get(item_id, 0) + qty
    ids = sorted(totals)
    source, sink = 0, 1 + len(requirements) + len(ids)
    graph: list[dict[int, float]] = [{} for _ in range(sink + 1)]
    for r, (qty, acceptable) in enumerate(requirements, start=1):
        graph[source][r] = qty
        for i, item_id in enumerate(ids, start=1 + len(requirements)):
            if item_id in acceptable:
                graph[r][i] = math.inf
    for i, item_id in enumerate(ids, start=1 + len(requirements)):
        graph[i][sink] = totals[item_id]
    flow = 0.0
    while True:
        pushed = _augment(graph, source, sink, set(), source, math.inf)
        if pushed <= 0:
            break
        flow += pushed
    need = sum(q for q, _ in requirements)
    return flow == need == sum(totals.values())
