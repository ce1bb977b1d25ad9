"""Evaluation of each AP2 v0.2 constraint type against a closed mandate (stateless part).

One function per constraint type (``payment_mandate.md``, ``checkout_mandate.md``); each returns
the reasons it fails. Allow-lists compare against their *disclosed* members only: a withheld
member matches nothing, and none disclosed fails. Merchants match by ``id`` when both sides have
one, else by ``name`` and ``website``; instruments by ``id``; PISPs by all three names.
``payment.budget`` and ``payment.agent_recurrence`` need usage across verifications: their
stateless part (currency, exact units) is checked here, the counting is the caller's
(:class:`~verifier.protocol.mandates.ap2.Usage`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..sdjwt.delegation import Segment
from .ap2_checkout import Checkout, line_items_satisfied
from .ap2_models import (
    AgentRecurrence,
    AllowedMerchants,
    AllowedPayees,
    AllowedPaymentInstruments,
    AllowedPisps,
    AmountRange,
    Budget,
    ExecutionDate,
    LineItems,
    Merchant,
    PaymentMandate,
    PaymentReference,
    minor_units,
)
from .authority import Reason

__all__ = ["Context", "evaluate_constraint", "merchant_matches"]

# Smallest spacing between two uses; MONTHLY/QUARTERLY use the shortest calendar period.
FREQUENCY_SECONDS = {
    "ON_DEMAND": 0,
    "DAILY": 86_400,
    "WEEKLY": 7 * 86_400,
    "BIWEEKLY": 14 * 86_400,
    "MONTHLY": 28 * 86_400,
    "QUARTERLY": 89 * 86_400,
    "ANNUALLY": 365 * 86_400,
}


class Context:
    """What constraint evaluation may look at besides the closed mandate."""

    def __init__(
        self,
        *,
        closed: Any,
        checkout: Checkout | None,
        checkout_segments: Sequence[Segment] | None,
        sd_alg: str,
    ) -> None:
        self.closed = closed
        self.checkout = checkout
        self.checkout_segments = checkout_segments
        self.sd_alg = sd_alg


def merchant_matches(allowed: Merchant, target: Mapping[str, Any]) -> bool:
    if allowed.id and isinstance(target.get("id"), str):
        return bool(allowed.id == target["id"])
    return (
        bool(allowed.website)
        and allowed.name == target.get("name")
        and allowed.website == target.get("website")
    )


def _payment(ctx: Context) -> PaymentMandate | None:
    return ctx.closed if isinstance(ctx.closed, PaymentMandate) else None


def _amount_range(c: AmountRange, ctx: Context) -> list[Reason]:
    pm = _payment(ctx)
    assert pm is not None
    amount = pm.payment_amount
    if amount.currency != c.currency:
        return [Reason("currency_mismatch", f"{amount.currency} is not {c.currency}")]
    if amount.amount > c.max or (c.min is not None and amount.amount < c.min):
        return [Reason("amount_out_of_range", f"{amount.amount} not in [{c.min or 0}, {c.max}]")]
    return []


def _budget(c: Budget, ctx: Context) -> list[Reason]:
    pm = _payment(ctx)
    assert pm is not None
    if pm.payment_amount.currency != c.currency:
        return [Reason("currency_mismatch", f"budget is in {c.currency}")]
    if minor_units(c.max, c.currency) is None:
        return [Reason("budget_not_exact", f"budget max {c.max} {c.currency} has sub-minor units")]
    return []


def _recurrence(c: AgentRecurrence, ctx: Context) -> list[Reason]:
    return []  # counted by the caller: max_occurrences and the spacing of `frequency`


def _allowed_payees(c: AllowedPayees, ctx: Context) -> list[Reason]:
    pm = _payment(ctx)
    assert pm is not None
    payee = pm.payee.model_dump(exclude_none=True)
    if any(merchant_matches(m, payee) for m in c.allowed):
        return []
    return [Reason("payee_not_allowed", f"payee {pm.payee.id!r} is not a disclosed member")]


def _allowed_instruments(c: AllowedPaymentInstruments, ctx: Context) -> list[Reason]:
    pm = _payment(ctx)
    assert pm is not None
    if any(i.id == pm.payment_instrument.id for i in c.allowed):
        return []
    return [Reason("instrument_not_allowed", f"instrument {pm.payment_instrument.id!r}")]


def _allowed_pisps(c: AllowedPisps, ctx: Context) -> list[Reason]:
    pm = _payment(ctx)
    assert pm is not None
    if pm.pisp is not None and any(p == pm.pisp for p in c.allowed):
        return []
    return [Reason("pisp_not_allowed", "the mandate's PISP is not a disclosed member")]


def _date(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _execution_date(c: ExecutionDate, ctx: Context) -> list[Reason]:
    pm = _payment(ctx)
    assert pm is not None
    if pm.execution_date is None:
        return []  # absent: immediate execution (payment_mandate.json)
    when = _date(pm.execution_date)
    bounds = [(_date(b) if b is not None else None, b) for b in (c.not_before, c.not_after)]
    if when is None or any(b is not None and parsed is None for parsed, b in bounds):
        return [Reason("execution_date_unresolved", "a date is not ISO 8601")]
    (lo, _), (hi, _) = bounds
    if (lo is not None and when < lo) or (hi is not None and when > hi):
        return [Reason("execution_date_out_of_window", f"{pm.execution_date} outside the window")]
    return []


def _reference(c: PaymentReference, ctx: Context) -> list[Reason]:
    if ctx.checkout_segments is None:
        return [Reason("reference_unresolved", "payment.reference needs the checkout mandate")]
    for segment in ctx.checkout_segments[:-1]:
        for item in segment.items:
            if item.claims.get("vct") != "mandate.checkout.open.1":
                continue
            if c.conditional_transaction_id in (segment.sd_hash(ctx.sd_alg), item.digest):
                return []
    return [Reason("reference_mismatch", "no open checkout mandate with that hash in the chain")]


def _allowed_merchants(c: AllowedMerchants, ctx: Context) -> list[Reason]:
    if ctx.checkout is None:
        return [Reason("merchant_unresolved", "checkout.allowed_merchants needs the checkout")]
    if any(merchant_matches(m, ctx.checkout.merchant) for m in c.allowed):
        return []
    return [Reason("merchant_not_allowed", "the checkout's merchant is not a disclosed member")]


def _line_items(c: LineItems, ctx: Context) -> list[Reason]:
    if ctx.checkout is None or ctx.checkout.items is None:
        return [Reason("line_items_unresolved", "the checkout's line items cannot be read")]
    requirements = [(r.quantity, frozenset(i.id for i in r.acceptable_items)) for r in c.items]
    if line_items_satisfied(requirements, ctx.checkout.items):
        return []
    return [Reason("line_items_unmatched", "the checkout's items do not match the requirements")]


EVALUATORS: dict[str, Callable[[Any, Context], list[Reason]]] = {
    "payment.amount_range": _amount_range,
    "payment.budget": _budget,
    "payment.agent_recurrence": _recurrence,
    "payment.allowed_payees": _allowed_payees,
    "payment.allowed_payment_instruments": _allowed_instruments,
    "payment.allowed_pisps": _allowed_pisps,
    "payment.execution_date": _execution_date,
    "payment.reference": _reference,
    "checkout.allowed_merchants": _allowed_merchants,
    "checkout.line_items": _line_items,
}


def evaluate_constraint(constraint: Any, ctx: Context) -> list[Reason]:
    evaluator = EVALUATORS.get(constraint.type)
    if evaluator is None:
        return [Reason("unknown_constraint", f"constraint type {constraint.type!r}")]
    return evaluator(constraint, ctx)
