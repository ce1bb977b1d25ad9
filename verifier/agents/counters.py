"""A mandate's counters: uses and spend across every verifier instance, and the principals
this relying party has allowed before (for "first use" step-up rules).

Everything goes through the store's atomic :meth:`~verifier.store.base.TransactionStore.add_within`
("add if every bound still holds"), so 100 concurrent decisions on one mandate with
``max_uses: 7`` allow exactly 7. Counters are consumed **only** when every other rule passed.
Keys are digests: no mandate id or key thumbprint is stored in clear as a key name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from verifier.protocol.mandates.authority import Reason
from verifier.store.base import TransactionStore

__all__ = ["consume", "mandate_key", "principal_allowed_before", "remember_principal"]

_PRINCIPAL_TTL = 365 * 86400


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def mandate_key(mandate: Mapping[str, Any]) -> str:
    """The counter group of one mandate (its issuer and ``jti``) in a verified result."""
    return f"mandate:{_digest(str(mandate.get('iss')) + ' ' + str(mandate['claims'].get('jti')))}"


def _principal_key(policy: str, jkt: str) -> str:
    return f"principal:{policy}:{_digest(jkt)}"


async def consume(
    store: TransactionStore,
    key: str,
    *,
    amount: int,
    max_uses: int | None,
    budget: int | None,
    ttl: int,
    once: str | None = None,
) -> dict[str, int] | Reason:
    """One use and ``amount`` of spend, atomically within ``max_uses`` and ``budget``: the
    counters afterwards, or the reason nothing was spent. With ``once`` (the verification's
    id) a repeated call spends nothing again and answers what the first one did."""
    bounds = {}
    if max_uses is not None:
        bounds["uses"] = max_uses
    if budget is not None:
        bounds["spent"] = budget
    counters = await store.add_within(key, {"uses": 1, "spent": amount}, bounds, ttl=ttl, once=once)
    if counters is not None:
        return counters
    now = await store.get_counters(key)
    if max_uses is not None and now.get("uses", 0) + 1 > max_uses:
        return Reason("uses_exhausted", f"{max_uses} uses already made")
    return Reason("budget_exhausted", f"{now.get('spent', 0)} + {amount} > {budget}")


async def principal_allowed_before(store: TransactionStore, policy: str, jkt: str) -> bool:
    """Has an action of this principal (by key thumbprint) been allowed under ``policy``?"""
    seen = await store.get_counters(_principal_key(policy, jkt))
    return bool(seen.get("allowed"))


async def remember_principal(store: TransactionStore, policy: str, jkt: str) -> None:
    await store.add_within(_principal_key(policy, jkt), {"allowed": 1}, {}, ttl=_PRINCIPAL_TTL)
