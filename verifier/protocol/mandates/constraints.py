"""The restrictive parts of an agentvp mandate, read strictly before anything is evaluated.

agent-mandates §3.1 and §6.3: ``authority.constraints`` is an array of typed objects whose bounds
limit what the agent may do, and ``delegation`` says how far the mandate was passed on. A limit
the reader cannot take exactly as written could be skipped, so reading fails closed. Each rule
and the code it fails with (:class:`~.reasons.MandateReadError`):

- ``authority`` an object and ``authority.constraints`` an array when present (absent: no
  constraints) - ``mandate_malformed``;
- each constraint an object with a string ``type`` - ``mandate_malformed``;
- ``type`` one of :data:`KNOWN_CONSTRAINTS` - ``unknown_constraint``;
- the members its type defines and no others: an unknown member may be a limit this reader does
  not understand - ``unknown_constraint``; a missing required member - ``mandate_malformed``;
- bounds (``min``, ``max``) JSON integers from 0 to :data:`MAX_BOUND` (2^53 - 1, the I-JSON
  range of RFC 7493 §2.2): never a float (``25000.0``), a string (``"25000"``), a boolean, a
  negative or a larger number; ``min <= max`` - ``mandate_malformed``;
- ``currency`` an ISO 4217 alphabetic code, dates ``YYYY-MM-DD`` - ``mandate_malformed``;
- ``allowed`` an array, of objects (merchants, categories) or strings (audiences) -
  ``mandate_malformed``;
- at most one constraint of each type - ``duplicate_constraint``. Two limits of one kind are
  refused rather than resolved to the strictest: no reading order can then pick the weaker one,
  and each limit sits at one position the verifier's query can name;
- ``delegation`` (absent: not delegated) an object of integer ``depth``/``max_depth`` in range
  and an optional ``parent`` - ``mandate_malformed``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .reasons import MandateReadError

__all__ = [
    "KNOWN_CONSTRAINTS",
    "MAX_BOUND",
    "AmountRange",
    "Budget",
    "Constraints",
    "ExecutionDate",
    "Limits",
    "delegation_depth",
    "limits_of",
    "read_constraints",
]

MAX_BOUND = 2**53 - 1
_CURRENCY = re.compile(r"[A-Z]{3}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DELEGATION_MEMBERS = frozenset({"depth", "max_depth", "parent"})


@dataclass(frozen=True, slots=True)
class AmountRange:
    currency: str
    min: int
    max: int


@dataclass(frozen=True, slots=True)
class Budget:
    currency: str
    max: int


@dataclass(frozen=True, slots=True)
class ExecutionDate:
    not_before: str | None
    not_after: str | None


@dataclass(frozen=True, slots=True)
class Constraints:
    """A mandate's constraints, at most one per type; ``None`` where the mandate sets none."""

    amount_range: AmountRange | None = None
    budget: Budget | None = None
    max_uses: int | None = None
    execution_date: ExecutionDate | None = None
    merchants: tuple[Mapping[str, Any], ...] | None = None
    categories: tuple[Mapping[str, Any], ...] | None = None
    audiences: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Limits:
    """The mandate's stateful limits; ``None`` when the mandate sets none."""

    max_uses: int | None
    budget: int | None
    budget_currency: str | None


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _bound(c: Mapping[str, Any], name: str, where: str) -> int:
    value = c[name]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_BOUND:
        raise MandateReadError(
            "mandate_malformed",
            f"{where}.{name} is {_show(value)}, not a JSON integer from 0 to 2^53-1",
        )
    return value


def _currency(c: Mapping[str, Any], where: str) -> str:
    value = c["currency"]
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise MandateReadError(
            "mandate_malformed", f"{where}.currency {_show(value)} is not an ISO 4217 code"
        )
    return value


def _date(c: Mapping[str, Any], name: str, where: str) -> str | None:
    value = c.get(name)
    if value is None and name not in c:
        return None
    try:
        if not isinstance(value, str) or not _DATE.fullmatch(value):
            raise ValueError
        dt.date.fromisoformat(value)
    except ValueError:
        raise MandateReadError(
            "mandate_malformed", f"{where}.{name} {_show(value)} is not a YYYY-MM-DD date"
        ) from None
    return value


def _members(c: Mapping[str, Any], where: str, kind: type) -> tuple[Any, ...]:
    allowed = c["allowed"]
    if not isinstance(allowed, list) or not all(isinstance(m, kind) for m in allowed):
        what = "objects" if kind is dict else "strings"
        raise MandateReadError("mandate_malformed", f"{where}.allowed is not an array of {what}")
    return tuple(allowed)


def _amount_range(c: Mapping[str, Any], where: str) -> AmountRange:
    low = _bound(c, "min", where) if "min" in c else 0
    high = _bound(c, "max", where)
    if low > high:
        raise MandateReadError("mandate_malformed", f"{where} has min {low} above max {high}")
    return AmountRange(_currency(c, where), low, high)


def _execution_date(c: Mapping[str, Any], where: str) -> ExecutionDate:
    dates = ExecutionDate(_date(c, "not_before", where), _date(c, "not_after", where))
    if dates.not_before is None and dates.not_after is None:
        raise MandateReadError(
            "mandate_malformed", f"{where} names neither not_before nor not_after"
        )
    return dates


@dataclass(frozen=True, slots=True)
class _Kind:
    attr: str  # of :class:`Constraints`
    required: frozenset[str]
    read: Callable[[Mapping[str, Any], str], Any]
    optional: frozenset[str] = frozenset()


_KINDS: dict[str, _Kind] = {
    "payment.amount_range": _Kind(
        "amount_range", frozenset({"currency", "max"}), _amount_range, frozenset({"min"})
    ),
    "payment.budget": _Kind(
        "budget",
        frozenset({"currency", "max"}),
        lambda c, w: Budget(_currency(c, w), _bound(c, "max", w)),
    ),
    "mandate.max_uses": _Kind("max_uses", frozenset({"max"}), lambda c, w: _bound(c, "max", w)),
    "payment.execution_date": _Kind(
        "execution_date", frozenset(), _execution_date, frozenset({"not_before", "not_after"})
    ),
    "checkout.allowed_merchants": _Kind(
        "merchants", frozenset({"allowed"}), lambda c, w: _members(c, w, dict)
    ),
    "checkout.allowed_categories": _Kind(
        "categories", frozenset({"allowed"}), lambda c, w: _members(c, w, dict)
    ),
    "mandate.audiences": _Kind(
        "audiences", frozenset({"allowed"}), lambda c, w: _members(c, w, str)
    ),
}
KNOWN_CONSTRAINTS = frozenset(_KINDS)


def _read_one(c: Any, where: str, found: dict[str, Any]) -> None:
    if not isinstance(c, dict) or not isinstance(c.get("type"), str):
        raise MandateReadError("mandate_malformed", f"{where} is not an object with a string type")
    kind = _KINDS.get(c["type"])
    if kind is None:
        raise MandateReadError(
            "unknown_constraint", f"constraint type {_show(c['type'])} is not known"
        )
    members = set(c) - {"type"}
    unknown = sorted(members - kind.required - kind.optional)
    if unknown:
        raise MandateReadError(
            "unknown_constraint", f"{where} ({c['type']}) has the unknown member {unknown[0]!r}"
        )
    missing = sorted(kind.required - members)
    if missing:
        raise MandateReadError("mandate_malformed", f"{where} ({c['type']}) lacks {missing[0]!r}")
    if kind.attr in found:
        raise MandateReadError("duplicate_constraint", f"{where}: a second {c['type']} constraint")
    found[kind.attr] = kind.read(c, where)


def read_constraints(mandate: Mapping[str, Any]) -> Constraints:
    """The mandate's constraints; :class:`MandateReadError` when one cannot be read exactly."""
    authority = mandate.get("authority")
    if authority is None:
        return Constraints()
    if not isinstance(authority, dict):
        raise MandateReadError("mandate_malformed", "authority is not an object")
    items = authority.get("constraints")
    if items is None and "constraints" not in authority:
        return Constraints()
    if not isinstance(items, list):
        raise MandateReadError("mandate_malformed", "authority.constraints is not an array")
    found: dict[str, Any] = {}
    for index, c in enumerate(items):
        _read_one(c, f"authority.constraints[{index}]", found)
    return Constraints(**found)


def delegation_depth(mandate: Mapping[str, Any]) -> int:
    """``delegation.depth`` (0 when the mandate has no ``delegation``), read strictly."""
    delegation = mandate.get("delegation")
    if delegation is None and "delegation" not in mandate:
        return 0
    if not isinstance(delegation, dict):
        raise MandateReadError("mandate_malformed", "delegation is not an object")
    unknown = sorted(set(delegation) - _DELEGATION_MEMBERS)
    if unknown:
        raise MandateReadError(
            "mandate_malformed", f"delegation has the unknown member {unknown[0]!r}"
        )
    for name in ("depth", "max_depth"):
        if name in delegation:
            _bound(delegation, name, "delegation")
    depth: int = delegation.get("depth", 0)
    return depth


def limits_of(mandate: Mapping[str, Any]) -> Limits:
    """Uses and budget; a mandate whose constraints cannot be read allows no use at all."""
    try:
        c = read_constraints(mandate)
    except MandateReadError:
        return Limits(max_uses=0, budget=0, budget_currency=None)
    budget = c.budget
    return Limits(c.max_uses, budget.max if budget else None, budget.currency if budget else None)
