"""What an agent mandate authorises: the stateless check of an action against a mandate.

Implements the evaluation table of agent-mandates §6.3 over a mandate's *processed* claims
(only what was disclosed) and one ``agent_action`` transaction-data payload. Each rule and the
code it fails with:

- ``action`` in ``authority.actions`` - ``action_not_granted``;
- ``payee`` id and domain equal a *disclosed* ``checkout.allowed_merchants`` member -
  ``payee_not_allowed``;
- ``category`` scheme and code equal a *disclosed* ``checkout.allowed_categories`` member -
  ``category_not_allowed``;
- ``payment_amount`` within ``payment.amount_range``, as integers in the same currency -
  ``amount_exceeds_mandate``, ``amount_below_minimum``, ``currency_mismatch``; the
  ``payment.budget`` currency must match too;
- ``mandate_jti`` equals ``jti`` - ``mandate_jti_mismatch``;
- now within ``nbf``/``exp`` and ``payment.execution_date`` - ``mandate_expired``,
  ``mandate_not_yet_valid``, ``execution_date_passed``...;
- the RP's domain in ``mandate.audiences`` - ``audience_not_allowed``.

An undisclosed allow-list member matches nothing; an allow-list constraint with no disclosed
member therefore denies. Any constraint type not listed in :data:`KNOWN_CONSTRAINTS` denies
(``unknown_constraint``): hiding or inventing a restriction can only narrow authority.

Stateful limits (``mandate.max_uses``, ``payment.budget``) are read here (:func:`limits_of`) and
enforced atomically by the verifier's store. The agent holder runs the same evaluation on its
full mandate before it signs anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

__all__ = [
    "AGENT_ACTION_TYPE",
    "KNOWN_CONSTRAINTS",
    "AgentAction",
    "Limits",
    "Reason",
    "evaluate_authority",
    "limits_of",
]

AGENT_ACTION_TYPE = "https://agentvp.example/td/agent_action/1"
KNOWN_CONSTRAINTS = frozenset(
    {
        "payment.amount_range",
        "payment.budget",
        "mandate.max_uses",
        "checkout.allowed_merchants",
        "checkout.allowed_categories",
        "payment.execution_date",
        "mandate.audiences",
    }
)


class Payee(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: StrictStr
    name: StrictStr = ""
    domain: StrictStr


class Category(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scheme: StrictStr
    code: StrictStr


class Amount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: StrictInt = Field(ge=0, description="Integer minor units (cents), never a float.")
    currency: StrictStr = Field(pattern=r"^[A-Z]{3}$")


class AgentAction(BaseModel):
    """The ``payload`` of an ``agent_action`` transaction-data entry (agent-mandates §6.3)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    action: StrictStr = Field(min_length=1, max_length=128)
    transaction_id: StrictStr = Field(min_length=1, max_length=128)
    payee: Payee | None = None
    category: Category | None = None
    payment_amount: Amount | None = None
    mandate_jti: StrictStr = Field(min_length=1, max_length=256)
    agent_name: StrictStr | None = Field(None, max_length=128)


@dataclass(frozen=True, slots=True)
class Reason:
    """One failed rule: a stable code and a human-readable detail."""

    code: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Limits:
    """The mandate's stateful limits; ``None`` when the mandate sets none."""

    max_uses: int | None
    budget: int | None
    budget_currency: str | None


def _constraints(mandate: Mapping[str, Any]) -> list[dict[str, Any]]:
    authority = mandate.get("authority")
    items = authority.get("constraints") if isinstance(authority, dict) else None
    return [c for c in items if isinstance(c, dict)] if isinstance(items, list) else []


def limits_of(mandate: Mapping[str, Any]) -> Limits:
    max_uses = budget = currency = None
    for c in _constraints(mandate):
        if c.get("type") == "mandate.max_uses" and isinstance(c.get("max"), int):
            max_uses = c["max"]
        if c.get("type") == "payment.budget" and isinstance(c.get("max"), int):
            budget, currency = c["max"], c.get("currency")
    return Limits(max_uses, budget, currency if isinstance(currency, str) else None)


def _allowed(constraint: Mapping[str, Any]) -> list[dict[str, Any]]:
    members = constraint.get("allowed")
    return [m for m in members if isinstance(m, dict)] if isinstance(members, list) else []


def _amount_rules(c: Mapping[str, Any], amount: Amount | None) -> list[Reason]:
    if amount is None:
        return []
    kind = c.get("type")
    if c.get("currency") != amount.currency:
        return [
            Reason("currency_mismatch", f"{kind} is in {c.get('currency')}, not {amount.currency}")
        ]
    if kind != "payment.amount_range":
        return []
    low, high = c.get("min", 0), c.get("max")
    if isinstance(high, int) and amount.amount > high:
        return [Reason("amount_exceeds_mandate", f"{amount.amount} > {high} {amount.currency}")]
    if isinstance(low, int) and amount.amount < low:
        return [Reason("amount_below_minimum", f"{amount.amount} < {low} {amount.currency}")]
    return []


def _dates(c: Mapping[str, Any], today: str) -> list[Reason]:
    start, end = c.get("not_before"), c.get("not_after")
    if isinstance(start, str) and today < start:
        return [Reason("execution_date_not_reached", f"not before {start}")]
    if isinstance(end, str) and today > end:
        return [Reason("execution_date_passed", f"not after {end}")]
    return []


def _merchants(c: Mapping[str, Any], action: AgentAction, rp_domain: str | None) -> list[Reason]:
    payee = action.payee
    if payee is None or any(
        m.get("id") == payee.id and m.get("domain") == payee.domain for m in _allowed(c)
    ):
        return []
    return [Reason("payee_not_allowed", f"{payee.domain} is not a disclosed allowed merchant")]


def _categories(c: Mapping[str, Any], action: AgentAction, rp_domain: str | None) -> list[Reason]:
    cat = action.category
    if cat is None or any(
        m.get("scheme") == cat.scheme and m.get("code") == cat.code for m in _allowed(c)
    ):
        return []
    return [Reason("category_not_allowed", f"{cat.scheme}:{cat.code} is not allowed")]


def _audiences(c: Mapping[str, Any], action: AgentAction, rp_domain: str | None) -> list[Reason]:
    audiences = c.get("allowed") if isinstance(c.get("allowed"), list) else []
    if rp_domain is not None and rp_domain in (audiences or []):
        return []
    return [Reason("audience_not_allowed", f"{rp_domain!r} is not an allowed audience")]


def _constraint_reasons(
    c: Mapping[str, Any], action: AgentAction, *, today: str, rp_domain: str | None
) -> list[Reason]:
    kind = c.get("type")
    if kind not in KNOWN_CONSTRAINTS:
        return [Reason("unknown_constraint", f"constraint type {kind!r} is not understood")]
    if kind in ("payment.amount_range", "payment.budget"):
        return _amount_rules(c, action.payment_amount)
    if kind == "payment.execution_date":
        return _dates(c, today)
    rule = {
        "checkout.allowed_merchants": _merchants,
        "checkout.allowed_categories": _categories,
        "mandate.audiences": _audiences,
    }.get(str(kind))
    return rule(c, action, rp_domain) if rule is not None else []  # mandate.max_uses: stateful


def evaluate_authority(
    mandate: Mapping[str, Any],
    action: AgentAction,
    *,
    now: int,
    rp_domain: str | None = None,
    leeway: int = 0,
) -> list[Reason]:
    """Every stateless rule that ``action`` breaks; an empty list means authorised."""
    reasons: list[Reason] = []
    authority = mandate.get("authority")
    actions = authority.get("actions") if isinstance(authority, dict) else None
    if not isinstance(actions, list) or action.action not in actions:
        reasons.append(
            Reason("action_not_granted", f"{action.action!r} is not in authority.actions")
        )
    if mandate.get("jti") != action.mandate_jti:
        reasons.append(Reason("mandate_jti_mismatch", "the action names another mandate"))
    nbf, exp = mandate.get("nbf"), mandate.get("exp")
    if isinstance(nbf, int | float) and now + leeway < nbf:
        reasons.append(Reason("mandate_not_yet_valid", f"valid from {int(nbf)}"))
    if isinstance(exp, int | float) and now >= exp + leeway:
        reasons.append(Reason("mandate_expired", f"expired at {int(exp)}"))
    if not isinstance(exp, int | float):
        reasons.append(Reason("mandate_unbounded", "the mandate has no exp"))
    today = dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()
    for c in _constraints(mandate):
        reasons.extend(_constraint_reasons(c, action, today=today, rp_domain=rp_domain))
    return reasons
