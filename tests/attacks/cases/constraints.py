"""Mandate constraints fail closed (agent-mandates §3.2, §6.3; issue "hardening, round 2" #1).

A mandate issuer's mistake must never become the agent's extra authority. Each case issues a
mandate with one flaw and lets a *reckless* agent present it for an action the intended limit
forbids (30000 EUR-cents against a 25000 limit, a second use of a one-use mandate, ...): the
verifier must deny with the precise code, and no counter may move.

- a restrictive element selectively disclosable - withheld (the query never asks for it) or
  disclosed - ``mandate_restriction_undisclosed``;
- a bound that is a float, a string, a boolean, negative or above 2^53-1, a missing bound, a
  constraint without a type - ``mandate_malformed`` (a constraint that is not an object, or
  constraints that are not an array, already fail the query's ``constraint_types`` claim:
  ``claim_missing``; the mandate rule behind it is unit-tested);
- two constraints of one type - ``duplicate_constraint``; an unknown member of a known type -
  ``unknown_constraint``; a mandate without ``nbf`` or ``iat`` - ``mandate_validity_unknown``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sd_jwt.common import SDObj

from tests.attacks.harness import Attack, Case, Denied, World
from wallet_sim.issuer import MandateGrant

OVER_LIMIT = {"amount": 30000, "currency": "EUR"}  # the mandate's intended max is 25000
ONE_USE = MandateGrant(max_uses=1, budget=None)
SMALL_BUDGET = MandateGrant(budget=5000)  # below the 89.90 EUR of the honest action
EditFn = Callable[[dict[Any, Any]], None]


def _constraint(claims: dict[Any, Any], kind: str) -> dict[Any, Any]:
    found: dict[Any, Any] = next(
        c for c in claims["authority"]["constraints"] if c.get("type") == kind
    )
    return found


def disclosable(kind: str, member: str) -> EditFn:
    """The issuer made ``member`` of the ``kind`` constraint selectively disclosable."""

    def edit(claims: dict[Any, Any]) -> None:
        c = _constraint(claims, kind)
        c[SDObj(member)] = c.pop(member)

    return edit


def disclosable_constraint(kind: str) -> EditFn:
    """The issuer made the whole ``kind`` constraint a disclosable array element."""

    def edit(claims: dict[Any, Any]) -> None:
        items = claims["authority"]["constraints"]
        index = next(i for i, c in enumerate(items) if c.get("type") == kind)
        items[index] = SDObj(items[index])

    return edit


def disclosable_top(name: str, value: Any = None, *, drop: tuple[str, ...] = ()) -> EditFn:
    """The issuer made the top-level claim ``name`` disclosable (and left out ``drop``)."""

    def edit(claims: dict[Any, Any]) -> None:
        claims[SDObj(name)] = claims.pop(name) if value is None else value
        claims.pop(name, None)
        for other in drop:
            claims.pop(other, None)

    return edit


def bound(kind: str, member: str, value: Any) -> EditFn:
    def edit(claims: dict[Any, Any]) -> None:
        _constraint(claims, kind)[member] = value

    return edit


def extra(*constraints: Any) -> EditFn:
    def edit(claims: dict[Any, Any]) -> None:
        claims["authority"]["constraints"].extend(constraints)

    return edit


def dropped(kind: str, member: str) -> EditFn:
    def edit(claims: dict[Any, Any]) -> None:
        del _constraint(claims, kind)[member]

    return edit


def top(**members: Any) -> EditFn:
    """Top-level claims set (``None``: removed)."""

    def edit(claims: dict[Any, Any]) -> None:
        for name, value in members.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value

    return edit


def over_limit(edit: EditFn, grant: MandateGrant | None = None) -> Callable[[World], Attack]:
    """A flawed mandate presented for 300.00 EUR (its intended limit: 250.00)."""

    def build(world: World) -> Attack:
        mandate = world.issue_mandate(grant, edit=edit)
        return world.agent_request(mandate=mandate, payment_amount=OVER_LIMIT).respond()

    return build


def presented(edit: EditFn, grant: MandateGrant | None = None) -> Callable[[World], Attack]:
    """A flawed mandate presented for an action inside its intended limits."""

    def build(world: World) -> Attack:
        mandate = world.issue_mandate(grant, edit=edit)
        return world.agent_request(mandate=mandate).respond()

    return build


def disclosed_anyway(world: World) -> Attack:
    """The agent *does* disclose the disclosable ``max``: still refused, it could have not."""
    mandate = world.issue_mandate(edit=disclosable("payment.amount_range", "max"))
    live = world.agent_request(mandate=mandate)
    jwt, *sent, _ = live.presentation().split("~")
    max_disclosure = next(d.encoded for d in mandate.held().disclosures if d.name == "max")
    presented = live.rebind(jwt, [*sent, max_disclosure], world.key("agent"))
    return live.respond(vp_token={"mandate": [presented]})


def _d(name: str, build: Callable[[World], Attack], code: str) -> Case:
    return Case(name, "T5; agent-mandates §3.2, §6.3", build, Denied((code,)))


HIDDEN = "mandate_restriction_undisclosed"
MALFORMED = "mandate_malformed"
AMOUNT = "payment.amount_range"
USES = "mandate.max_uses"
CASES = [
    # restrictive elements that were selectively disclosable: withheld (never asked) or sent
    _d("withheld_amount_max", over_limit(disclosable(AMOUNT, "max")), HIDDEN),
    _d("withheld_amount_currency", over_limit(disclosable(AMOUNT, "currency")), HIDDEN),
    _d("disclosable_amount_range", over_limit(disclosable_constraint(AMOUNT)), HIDDEN),
    _d("withheld_max_uses", presented(disclosable(USES, "max"), ONE_USE), HIDDEN),
    _d("disclosable_budget", over_limit(disclosable_constraint("payment.budget")), HIDDEN),
    _d(
        "withheld_budget_max", presented(disclosable("payment.budget", "max"), SMALL_BUDGET), HIDDEN
    ),
    _d(
        "withheld_delegation",
        presented(disclosable_top("delegation", {"depth": 1, "max_depth": 2})),
        HIDDEN,
    ),
    _d(
        "withheld_iat_skips_max_validity",
        presented(disclosable_top("iat", drop=("nbf",)), MandateGrant(validity=90 * 86400)),
        HIDDEN,
    ),
    _d("disclosed_amount_max", disclosed_anyway, HIDDEN),
    # bounds that are not JSON integers in range, and other unreadable constraints
    _d("float_amount_max", over_limit(bound(AMOUNT, "max", 25000.0)), MALFORMED),
    _d("string_amount_max", over_limit(bound(AMOUNT, "max", "25000")), MALFORMED),
    _d("bool_amount_max", over_limit(bound(AMOUNT, "max", True)), MALFORMED),
    _d("negative_amount_min", over_limit(bound(AMOUNT, "min", -1)), MALFORMED),
    _d("huge_amount_max", over_limit(bound(AMOUNT, "max", 2**64)), MALFORMED),
    _d("float_max_uses", presented(bound(USES, "max", 1.0), ONE_USE), MALFORMED),
    _d("string_budget", presented(bound("payment.budget", "max", "5000")), MALFORMED),
    _d("min_above_max", over_limit(bound(AMOUNT, "min", 30000)), MALFORMED),
    _d("lowercase_currency", over_limit(bound(AMOUNT, "currency", "eur")), MALFORMED),
    _d("amount_range_without_max", over_limit(dropped(AMOUNT, "max")), MALFORMED),
    _d("constraint_without_type", over_limit(extra({"max": 1})), MALFORMED),
    _d("delegation_depth_string", presented(top(delegation={"depth": "1"})), MALFORMED),
    # duplicates are refused (not resolved to the last, nor to the strictest)
    _d(
        "two_max_uses",
        presented(extra({"type": USES, "max": 5}), MandateGrant(max_uses=1, budget=None)),
        "duplicate_constraint",
    ),
    _d(
        "two_amount_ranges",
        over_limit(extra({"type": AMOUNT, "currency": "EUR", "min": 0, "max": 99999})),
        "duplicate_constraint",
    ),
    # what cannot be understood is refused
    _d(
        "unknown_member_of_known_constraint",
        presented(bound("payment.budget", "per_order", 5000)),
        "unknown_constraint",
    ),
    _d(
        "no_validity_start_for_max_validity",
        presented(top(iat=None, nbf=None), MandateGrant(validity=90 * 86400)),
        "mandate_validity_unknown",
    ),
]
