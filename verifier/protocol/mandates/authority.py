"""What an agent mandate authorises: the stateless check of an action against a mandate.

Implements the evaluation table of agent-mandates §6.3 over a mandate's *processed* claims
(only what was disclosed) and one ``agent_action`` transaction-data payload. Before any rule,
the mandate must be readable without guesswork, or nothing else is evaluated:

- restrictive elements in clear (:mod:`.restrictions`) - ``mandate_restriction_undisclosed``;
- constraints and ``delegation`` well formed, known, one per type (:mod:`.constraints`) -
  ``mandate_malformed``, ``unknown_constraint``, ``duplicate_constraint``.

Then each rule and the code it fails with:

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
  ``mandate_not_yet_valid``, ``mandate_unbounded`` (no ``exp``), ``execution_date_passed``...;
- the RP's domain in ``mandate.audiences`` - ``audience_not_allowed``.

An undisclosed allow-list member matches nothing; an allow-list constraint with no disclosed
member therefore denies. Together: hiding a disclosure can only narrow authority.

Stateful limits (``mandate.max_uses``, ``payment.budget``) are read here (:func:`limits_of`) and
enforced atomically by the verifier's store. The agent holder runs the same evaluation on its
full mandate before it signs anything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from ..sdjwt.layout import SDLayout
from .constraints import (
    KNOWN_CONSTRAINTS,
    Constraints,
    Limits,
    delegation_depth,
    limits_of,
    read_constraints,
)
from .reasons import MandateReadError, Reason
from .restrictions import hidden_restrictions

__all__ = [
    "AGENT_ACTION_TYPE",
    "KNOWN_CONSTRAINTS",
    "AgentAction",
    "Limits",
    "Reason",
    "evaluate_authority",
    "limits_of",
    "mandate_problems",
]

AGENT_ACTION_TYPE = "https://agentvp.example/td/agent_action/1"


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


def mandate_problems(mandate: Mapping[str, Any], layout: SDLayout) -> list[Reason]:
    """Why the mandate cannot be evaluated at all (empty: it can). ``mandate`` is the processed
    payload including ``iat``/``nbf``/``exp``; ``layout`` says where its disclosures were."""
    hidden = hidden_restrictions(mandate, layout)
    if hidden:
        return hidden
    try:
        read_constraints(mandate)
        delegation_depth(mandate)
    except MandateReadError as exc:
        return [exc.reason]
    return []


def _amount_rules(c: Constraints, amount: Amount | None) -> list[Reason]:
    if amount is None:
        return []
    reasons = [
        Reason("currency_mismatch", f"{kind} is in {limit.currency}, not {amount.currency}")
        for kind, limit in (("payment.amount_range", c.amount_range), ("payment.budget", c.budget))
        if limit is not None and limit.currency != amount.currency
    ]
    limit = c.amount_range
    if reasons or limit is None:
        return reasons
    if amount.amount > limit.max:
        return [
            Reason("amount_exceeds_mandate", f"{amount.amount} > {limit.max} {amount.currency}")
        ]
    if amount.amount < limit.min:
        return [Reason("amount_below_minimum", f"{amount.amount} < {limit.min} {amount.currency}")]
    return []


def _dates(c: Constraints, today: str) -> list[Reason]:
    dates = c.execution_date
    if dates is None:
        return []
    if dates.not_before is not None and today < dates.not_before:
        return [Reason("execution_date_not_reached", f"not before {dates.not_before}")]
    if dates.not_after is not None and today > dates.not_after:
        return [Reason("execution_date_passed", f"not after {dates.not_after}")]
    return []


def _allow_lists(c: Constraints, action: AgentAction, rp_domain: str | None) -> list[Reason]:
    reasons = []
    payee, cat = action.payee, action.category
    if (
        c.merchants is not None
        and payee is not None
        and not any(
            m.get("id") == payee.id and m.get("domain") == payee.domain for m in c.merchants
        )
    ):
        reasons.append(
            Reason("payee_not_allowed", f"{payee.domain} is not a disclosed allowed merchant")
        )
    if (
        c.categories is not None
        and cat is not None
        and not any(
            m.get("scheme") == cat.scheme and m.get("code") == cat.code for m in c.categories
        )
    ):
        reasons.append(Reason("category_not_allowed", f"{cat.scheme}:{cat.code} is not allowed"))
    if c.audiences is not None and (rp_domain is None or rp_domain not in c.audiences):
        reasons.append(Reason("audience_not_allowed", f"{rp_domain!r} is not an allowed audience"))
    return reasons


def _number(value: Any) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _validity(mandate: Mapping[str, Any], now: int, leeway: int) -> list[Reason]:
    reasons = []
    nbf, exp = _number(mandate.get("nbf")), _number(mandate.get("exp"))
    if nbf is not None and now + leeway < nbf:
        reasons.append(Reason("mandate_not_yet_valid", f"valid from {int(nbf)}"))
    if exp is None:
        reasons.append(Reason("mandate_unbounded", "the mandate has no exp"))
    elif now >= exp + leeway:
        reasons.append(Reason("mandate_expired", f"expired at {int(exp)}"))
    return reasons


def evaluate_authority(
    mandate: Mapping[str, Any],
    action: AgentAction,
    *,
    layout: SDLayout,
    now: int,
    rp_domain: str | None = None,
    leeway: int = 0,
) -> list[Reason]:
    """Every stateless rule that ``action`` breaks; an empty list means authorised. A mandate
    that cannot be evaluated (:func:`mandate_problems`) gets only the reason why."""
    problems = mandate_problems(mandate, layout)
    if problems:
        return problems
    constraints = read_constraints(mandate)
    reasons: list[Reason] = []
    authority = mandate.get("authority")
    actions = authority.get("actions") if isinstance(authority, dict) else None
    if not isinstance(actions, list) or action.action not in actions:
        reasons.append(
            Reason("action_not_granted", f"{action.action!r} is not in authority.actions")
        )
    if mandate.get("jti") != action.mandate_jti:
        reasons.append(Reason("mandate_jti_mismatch", "the action names another mandate"))
    reasons += _validity(mandate, now, leeway)
    today = dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()
    reasons += _amount_rules(constraints, action.payment_amount)
    reasons += _dates(constraints, today)
    reasons += _allow_lists(constraints, action, rp_domain)
    return reasons
