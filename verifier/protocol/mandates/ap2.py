"""AP2 v0.2 mandates over a verified Delegate SD-JWT chain (``agent_authorization.md``
"Verification and Processing Rules", ``specification.md`` "Verification").

:func:`evaluate_chain` takes a :class:`~verifier.protocol.sdjwt.delegation.VerifiedChain` and:

1. reads each delegate item as a mandate by its **exact** ``vct`` (unknown: refused); the last
   segment must disclose exactly one, closed, mandate; every earlier item must be an open
   mandate of the same kind (checkout or payment);
2. decides the **mode**: ``autonomous`` when an open mandate precedes the closed one,
   ``direct`` otherwise (the closed mandate is signed by the root's holder or provider);
3. refuses a withheld restriction: inside an open mandate a digest may stay undisclosed only
   as a member of an allow-list (``allowed``, ``acceptable_items``); inside a closed checkout
   mandate only ``checkout_jwt`` may be withheld - ``mandate_restriction_undisclosed``;
4. checks every claim an open mandate pre-sets is unchanged in the closed one;
5. binds the checkout: ``checkout_hash`` (closed checkout) and ``transaction_id`` (closed
   payment) are the hash of the ``checkout_jwt`` with the segment's ``_sd_alg``;
6. evaluates every constraint of every open mandate (:mod:`.ap2_constraints`); an unknown
   type fails; and returns the **usage** each open payment mandate needs counted (uses, spend,
   spacing) - an open mandate without ``payment.agent_recurrence`` may be used once.

Reason codes carry the AP2 receipt error they map to (:data:`RECEIPT_ERRORS`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..errors import first_error
from ..jose import hash_b64
from ..sdjwt.delegation import DelegateItem, Segment, VerifiedChain
from .ap2_checkout import Checkout
from .ap2_constraints import FREQUENCY_SECONDS, Context, evaluate_constraint
from .ap2_models import (
    CHECKOUT,
    CONSTRAINT_MODELS,
    KNOWN_VCTS,
    MANDATE_MODELS,
    PAYMENT,
    PRESETS,
    AgentRecurrence,
    Budget,
    CheckoutMandate,
    PaymentMandate,
    UnknownConstraint,
    minor_units,
)
from .authority import Reason

__all__ = [
    "RECEIPT_ERRORS",
    "MandateDecision",
    "Usage",
    "disclosed_checkout_jwt",
    "evaluate_chain",
    "receipt_error",
]

_UNRESOLVED = {
    "unknown_constraint",
    "mandate_restriction_undisclosed",
    "reference_unresolved",
    "line_items_unresolved",
    "merchant_unresolved",
    "execution_date_unresolved",
}
RECEIPT_ERRORS: dict[str, str] = {
    **dict.fromkeys(_UNRESOLVED, "unresolved_constraint"),
    "mandate_vct_unknown": "mandates_not_supported",
}
# Where a digest inside an open mandate may stay undisclosed: allow-list members only.
_OPEN_SD = frozenset(
    {
        ("constraints", "[]", "allowed", "[]"),
        ("constraints", "[]", "items", "[]", "acceptable_items", "[]"),
    }
)


def receipt_error(code: str) -> str:
    """The AP2 receipt ``error`` for a reason code (``invalid_mandate`` unless listed)."""
    return RECEIPT_ERRORS.get(code, "invalid_mandate")


@dataclass(frozen=True, slots=True)
class Usage:
    """What one open payment mandate needs counted, atomically, if the decision is accept."""

    key: str  # stable over disclosure choices: its segment's JWT and its item digest
    amount: int
    currency: str
    budget: int | None
    max_occurrences: int | None
    min_interval: int


@dataclass(slots=True)
class MandateDecision:
    mode: str  # "direct" | "autonomous"
    vct: str | None
    closed: dict[str, Any] | None
    opens: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    usages: list[Usage] = field(default_factory=list)


def _kind(vct: str) -> str:
    return vct.split(".")[1]


def _parse(item: DelegateItem, where: str) -> tuple[Any, list[Reason]]:
    vct = item.claims.get("vct")
    model = MANDATE_MODELS.get(vct) if isinstance(vct, str) else None
    if model is None:
        return None, [Reason("mandate_vct_unknown", f"{where}: vct {vct!r} is not AP2 v0.2")]
    try:
        return model.model_validate(item.claims), []
    except ValidationError as exc:
        return None, [Reason("mandate_malformed", f"{where}: {first_error(exc)}")]


def _withheld(item: DelegateItem, *, closed: Any, where: str) -> list[Reason]:
    if isinstance(closed, CheckoutMandate):
        allowed = {("{}",)} if closed.checkout_jwt is None else set()
        hidden = [p for p in item.undisclosed if p not in allowed]
        if closed.checkout_jwt is None and len(item.undisclosed) > 1:
            hidden = list(item.undisclosed)
    elif closed is not None:
        hidden = list(item.undisclosed)
    else:
        hidden = [p for p in item.undisclosed if p not in _OPEN_SD]
    if not hidden:
        return []
    path = ".".join(hidden[0])
    return [Reason("mandate_restriction_undisclosed", f"{where}: a digest at {path} is withheld")]


def _constraints(raw: Sequence[Any], where: str) -> tuple[list[Any], list[Reason]]:
    out: list[Any] = []
    for index, value in enumerate(raw):
        if not isinstance(value, dict) or not isinstance(value.get("type"), str):
            return [], [Reason("constraint_malformed", f"{where}: constraint {index} has no type")]
        model = CONSTRAINT_MODELS.get(value["type"], UnknownConstraint)
        try:
            out.append(model.model_validate(value))
        except ValidationError as exc:
            return [], [Reason("constraint_malformed", f"{where}: {first_error(exc)}")]
    return out, []


def _presets(open_mandate: Any, closed: Any, where: str) -> list[Reason]:
    if not isinstance(closed, PaymentMandate):
        return []
    return [
        Reason("preset_changed", f"{where}: {name} differs from the open mandate's")
        for name in PRESETS
        if getattr(open_mandate, name, None) is not None
        and getattr(open_mandate, name) != getattr(closed, name)
    ]


def _checkout_binding(closed: Any, checkout: Checkout | None, sd_alg: str) -> list[Reason]:
    if isinstance(closed, CheckoutMandate):
        jwt = closed.checkout_jwt or (checkout.jwt if checkout else None)
        if jwt is None:
            return [
                Reason("checkout_jwt_missing", "the checkout JWT was neither disclosed nor sent")
            ]
        if checkout is not None and jwt != checkout.jwt:
            return [Reason("checkout_jwt_mismatch", "the disclosed and sent checkout JWTs differ")]
        if hash_b64(jwt, sd_alg) != closed.checkout_hash:
            return [Reason("checkout_hash_mismatch", "checkout_hash is not the checkout JWT's")]
        return []
    if isinstance(closed, PaymentMandate) and checkout is not None:
        reasons = []
        if hash_b64(checkout.jwt, sd_alg) != closed.transaction_id:
            reasons.append(Reason("transaction_id_mismatch", "transaction_id is another checkout"))
        total = checkout.total
        amount = closed.payment_amount
        if total is not None and total != (amount.amount, amount.currency):
            reasons.append(Reason("payment_amount_mismatch", "amount is not the checkout total"))
        merchant_id = checkout.merchant.get("id")
        if isinstance(merchant_id, str) and merchant_id != closed.payee.id:
            reasons.append(Reason("payee_mismatch", "payee is not the checkout's merchant"))
        return reasons
    return []


def _usage(
    open_mandate: Any, constraints: list[Any], segment: Segment, item: DelegateItem, closed: Any
) -> Usage | None:
    if not isinstance(closed, PaymentMandate):
        return None
    budget = next((c for c in constraints if isinstance(c, Budget)), None)
    recurrence = next((c for c in constraints if isinstance(c, AgentRecurrence)), None)
    budget_minor = minor_units(budget.max, budget.currency) if budget is not None else None
    return Usage(
        key=hash_b64(f"{segment.issuer_jwt}.{item.digest or ''}"),
        amount=closed.payment_amount.amount,
        currency=closed.payment_amount.currency,
        budget=budget_minor,
        max_occurrences=recurrence.max_occurrences if recurrence is not None else 1,
        min_interval=FREQUENCY_SECONDS[recurrence.frequency] if recurrence is not None else 0,
    )


def _closed(chain: VerifiedChain, decision: MandateDecision) -> tuple[Any, str]:
    terminal = chain.terminal
    if len(terminal.items) != 1:
        decision.reasons.append(
            Reason("mandate_not_single", f"{len(terminal.items)} mandates disclosed, expected 1")
        )
        return None, terminal.sd_alg
    closed, reasons = _parse(terminal.items[0], "closed mandate")
    decision.reasons += reasons
    if closed is not None and closed.vct not in (CHECKOUT, PAYMENT):
        decision.reasons.append(Reason("mandate_not_closed", f"{closed.vct} is an open mandate"))
        return None, terminal.sd_alg
    if closed is not None:
        decision.vct = closed.vct
        decision.closed = terminal.items[0].claims
        decision.reasons += _withheld(terminal.items[0], closed=closed, where="closed mandate")
    return closed, terminal.sd_alg


def disclosed_checkout_jwt(chain: VerifiedChain) -> str | None:
    """The ``checkout_jwt`` a closed checkout mandate discloses (still to be verified)."""
    items = chain.terminal.items
    value = items[0].claims.get("checkout_jwt") if len(items) == 1 else None
    is_checkout = len(items) == 1 and items[0].claims.get("vct") == CHECKOUT
    return value if is_checkout and isinstance(value, str) else None


def evaluate_chain(
    chain: VerifiedChain,
    *,
    checkout: Checkout | None = None,
    checkout_chain: VerifiedChain | None = None,
) -> MandateDecision:
    """Every rule the chain's mandates break, the mode, and the usage to count on accept."""
    opens = [(s, item) for s in chain.segments[:-1] for item in s.items]
    decision = MandateDecision("autonomous" if opens else "direct", None, None)
    closed, sd_alg = _closed(chain, decision)
    if closed is None:
        return decision
    decision.reasons += _checkout_binding(closed, checkout, sd_alg)
    ctx = Context(
        closed=closed,
        checkout=checkout,
        checkout_segments=checkout_chain.segments if checkout_chain is not None else None,
        sd_alg=sd_alg,
    )
    for index, (segment, item) in enumerate(opens):
        where = f"open mandate {index}"
        parsed, reasons = _parse(item, where)
        if parsed is None or reasons:
            decision.reasons += reasons
            continue
        if parsed.vct not in KNOWN_VCTS - {CHECKOUT, PAYMENT} or _kind(parsed.vct) != _kind(
            closed.vct
        ):
            decision.reasons.append(Reason("mandate_type_mismatch", f"{where}: {parsed.vct}"))
            continue
        decision.opens.append(item.claims)
        decision.reasons += _withheld(item, closed=None, where=where)
        decision.reasons += _presets(parsed, closed, where)
        constraints, reasons = _constraints(parsed.constraints, where)
        decision.reasons += reasons
        ctx.sd_alg = segment.sd_alg
        for constraint in constraints:
            decision.reasons += evaluate_constraint(constraint, ctx)
        usage = _usage(parsed, constraints, segment, item, closed)
        if usage is not None:
            decision.usages.append(usage)
    return decision
