"""Live grants: every agent verification that decided ``allow``, indexed by its mandate.

A grant is what later decisions lean on without a new presentation: the access tokens minted from
it, AuthZEN evaluations about it (:mod:`verifier.authzen`) and the grant watcher
(:mod:`verifier.ssf.watcher`), which re-checks the mandate's status list while the grant lives.

State, all in the transaction store so every instance shares it:

- ``grants:<mandate key>`` (an event stream): the ids of the allowed verifications of one mandate,
  in order (:func:`grants_of`);
- the ``grants:watch`` queue: one item per mandate (id = the mandate key, so a second grant of the
  same mandate adds no second item), due when its status should next be checked; when the first
  grant's tokens have all expired the watcher extends it to the latest grant
  (:func:`last_valid_moment`);
- ``revoked:<mandate key>`` (a counter group): set once, by whichever instance first sees the
  mandate revoked (:func:`mark_revoked` is that compare-and-set), read by :func:`is_revoked`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from verifier.agents.counters import mandate_key
from verifier.store.base import RecordKind, Transaction, TransactionStore, TxStatus

__all__ = [
    "WATCH_QUEUE",
    "GrantIndex",
    "grants_of",
    "is_revoked",
    "last_valid_moment",
    "mandate_key_of",
    "mark_revoked",
]

WATCH_QUEUE = "grants:watch"
_YEAR = 365 * 86400


def mandate_key_of(iss: Any, jti: Any) -> str:
    """The counter/grant key of a mandate from its issuer and ``jti``."""
    return mandate_key({"iss": iss, "claims": {"jti": jti}})


async def grants_of(store: TransactionStore, key: str) -> list[str]:
    """The allowed verification ids of the mandate ``key``, oldest first."""
    return [str(e["av"]) for e in await store.read_events(f"grants:{key}") if "av" in e]


async def last_valid_moment(store: TransactionStore, key: str, *, retention: int) -> int:
    """The last moment a token of any allowed verification of the mandate ``key`` can be valid
    (0 when none is left)."""
    last = 0
    for av_id in await grants_of(store, key):
        av = await store.get(av_id, kind=RecordKind.AGENT_VERIFICATION)
        if av is not None:
            last = max(last, av.expires_at + retention)
    return last


async def is_revoked(store: TransactionStore, key: str) -> bool:
    return bool((await store.get_counters(f"revoked:{key}")).get("revoked"))


async def mark_revoked(store: TransactionStore, key: str, *, ttl: int) -> bool:
    """Record the mandate as revoked; True only for the one caller that recorded it first."""
    return (
        await store.add_within(f"revoked:{key}", {"revoked": 1}, {"revoked": 1}, ttl=ttl)
        is not None
    )


@dataclass
class GrantIndex:
    """Listener on the presentation service: indexes each ``allow`` and queues its watch."""

    store: TransactionStore
    check_every: int
    retention: int
    clock: Callable[[], float]

    async def on_event(self, event: str, tx: Transaction) -> None:
        if event != "final" or tx.kind != RecordKind.AGENT_VERIFICATION:
            return
        if tx.status != TxStatus.VERIFIED or not tx.result:
            return
        await self.register(tx)

    async def register(self, av: Transaction) -> None:
        now = int(self.clock())
        mandate: Mapping[str, Any] = (av.result or {}).get("mandate") or {}
        key = mandate_key_of(mandate.get("iss"), mandate.get("jti"))
        until = av.expires_at + self.retention  # the last moment a token of it can be valid
        await self.store.append_event(f"grants:{key}", {"av": av.id}, ttl=_YEAR // 12)
        status = mandate.get("status") or {}
        agent = await self.store.get(str(av.meta.get("agent_tx")), kind=RecordKind.PRESENTATION)
        presented = (agent.result or {}).get("credentials", {}) if agent is not None else {}
        vct = (presented.get("mandate") or [{}])[0].get("vct")  # trust is per issuer and vct
        item = {
            "key": key,
            "iss": mandate.get("iss"),
            "vct": vct,
            "jti": mandate.get("jti"),
            "status": {"uri": status.get("uri"), "idx": status.get("idx")}
            if isinstance(status, dict) and "uri" in status
            else None,
            "until": until,
        }
        await self.store.enqueue(
            WATCH_QUEUE, key, item, due_at=now + self.check_every, ttl=max(until - now, 60)
        )
