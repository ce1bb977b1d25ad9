"""Is a mandate that was verified earlier still good *now*? (for token introspection, RFC 7662)

- :func:`mandate_revoked`: its Token Status List entry is checked again through the verifier's
  status checker (its cache bounds how fresh the answer is: ``status_list_max_age``); revoked,
  suspended or an unusable list all count as revoked (fail closed).
- :func:`uses_spent_by_later_actions`: ``mandate.max_uses`` are all used and the verification in
  question did not use the last one. Uses are consumed when an agent verification decides ``allow``
  (:mod:`verifier.agents.verifications`), so the token of the action that spent the final use stays
  good, while older, still unexpired tokens of an exhausted mandate are no longer honoured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from verifier.agents.counters import mandate_key
from verifier.policy.mandate import mandate_claims
from verifier.presentations.status import StatusChecker
from verifier.protocol import StatusError, StatusReference, VerifiedCredential
from verifier.protocol.mandates.authority import limits_of
from verifier.store.base import TransactionStore

__all__ = ["check_status_again", "mandate_revoked", "uses_spent_by_later_actions"]


async def check_status_again(
    checker: StatusChecker, *, iss: Any, vct: Any, status: Mapping[str, Any], now: int
) -> None:
    """Check a credential's status list entry (``status`` {``uri``, ``idx``} from its verified
    result) again; raises :class:`~verifier.protocol.StatusError` unless it is VALID."""
    credential = VerifiedCredential(
        vct=str(vct),
        iss=iss,
        claims={},
        header={},
        disclosures=(),
        key_binding=None,
        presented="",
        holder_jwk=None,
        status=StatusReference(uri=str(status["uri"]), idx=int(status["idx"])),
    )
    await checker.check(credential, now=now)


async def mandate_revoked(
    mandate: Mapping[str, Any], checker: StatusChecker | None, *, now: int
) -> bool:
    """True if the mandate's status list entry (from its verified result) is no longer VALID."""
    status = mandate.get("status")
    if not isinstance(status, dict) or checker is None or "uri" not in status:
        return False
    try:
        await check_status_again(
            checker, iss=mandate.get("iss"), vct=mandate.get("vct"), status=status, now=now
        )
    except StatusError:
        return True
    return False


async def uses_spent_by_later_actions(
    store: TransactionStore, verification_id: str, mandate: dict[str, Any]
) -> bool:
    """True once every use is consumed and this verification did not consume the last one."""
    max_uses = limits_of(mandate_claims(mandate)).max_uses
    if max_uses is None:
        return False
    used = (await store.get_counters(mandate_key(mandate))).get("uses", 0)
    own = next(
        (
            event.get("uses")
            for event in await store.read_events(f"audit:{verification_id}")
            if event.get("rule") == "counters" and event.get("outcome") == "pass"
        ),
        None,
    )
    return used >= max_uses and isinstance(own, int) and own < used
