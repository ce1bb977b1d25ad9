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

A grant the person stepped up for (the verification has a ``human_tx``) also rests on the
identity credential presented then. When that credential has a status list entry it is watched
the same way, under its own *identity key* (:func:`identity_key_of`: a digest of its issuer and
status reference): ``grants:<identity key>`` lists the grants resting on it, one ``grants:watch``
item (``kind`` ``identity``) re-checks it, ``revoked:<identity key>`` marks it revoked.
:func:`grant_identity` finds the identity of a grant, :func:`identity_revoked_mark` tells whether
the watcher has marked it. A wallet login whose identity credential has a status entry rests on
it the same way (``{"login": <sid>}`` in ``grants:<identity key>``, :func:`watch_identity`), and
so does an identity a person presented at a PDP step-up about a grant (``{"step_up": <grant>}``,
:meth:`GrantIndex.watch_step_up`).

Single tokens revoked on their own (RFC 7009, :mod:`verifier.oauth.revocation`) are marked as
``revoked-token:<jti>`` (:func:`mark_token_revoked`, :func:`token_is_revoked`) until they expire.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from verifier.agents.counters import mandate_key
from verifier.store.base import RecordKind, Transaction, TransactionStore, TxStatus

__all__ = [
    "WATCH_QUEUE",
    "GrantIndex",
    "assurance_level_of",
    "grant_identity",
    "grants_of",
    "identity_key_of",
    "identity_revoked_mark",
    "identity_subject",
    "identity_verification",
    "identity_watch",
    "is_revoked",
    "last_valid_moment",
    "logins_of",
    "mandate_key_of",
    "mark_revoked",
    "mark_token_revoked",
    "token_is_revoked",
    "watch_identity",
]

WATCH_QUEUE = "grants:watch"
_YEAR = 365 * 86400


def mandate_key_of(iss: Any, jti: Any) -> str:
    """The counter/grant key of a mandate from its issuer and ``jti``."""
    return mandate_key({"iss": iss, "claims": {"jti": jti}})


def _status_ref(credential: Mapping[str, Any]) -> dict[str, Any] | None:
    status = credential.get("status")
    if isinstance(status, dict) and "uri" in status and "idx" in status:
        return {"uri": status["uri"], "idx": status["idx"]}
    return None


def identity_key_of(identity: Mapping[str, Any]) -> str | None:
    """The grant key of an identity credential (its verified result): a digest of its issuer and
    status list entry, which name the credential for as long as it can be revoked; None when it
    has no status list entry (nothing to watch)."""
    ref = _status_ref(identity)
    if ref is None:
        return None
    named = f"{identity.get('iss')} {ref['uri']}#{ref['idx']}"
    return f"identity:{hashlib.sha256(named.encode()).hexdigest()[:32]}"


def identity_subject(identity: Mapping[str, Any]) -> dict[str, str]:
    """The SSF subject naming an identity credential: ``jwt_id`` (its ``iss`` and ``jti``) when
    it has a ``jti``, else ``opaque`` with ``<status list uri>#<idx>``."""
    claims = identity.get("claims")
    jti = claims.get("jti") if isinstance(claims, dict) else identity.get("jti")
    if isinstance(jti, str) and jti and isinstance(identity.get("iss"), str):
        return {"format": "jwt_id", "iss": str(identity["iss"]), "jti": jti}
    ref = _status_ref(identity) or {}
    return {"format": "opaque", "id": f"{ref.get('uri')}#{ref.get('idx')}"}


def identity_verification(identity: Mapping[str, Any]) -> dict[str, Any]:
    """The ``verification`` element of an identity's (first) ``verified_claims``, or ``{}``."""
    claims = identity.get("claims")
    verified = claims.get("verified_claims") if isinstance(claims, dict) else None
    element = verified[0] if isinstance(verified, list) and verified else verified
    verification = element.get("verification") if isinstance(element, dict) else None
    return dict(verification) if isinstance(verification, dict) else {}


def assurance_level_of(identity: Mapping[str, Any]) -> str | None:
    """``verified_claims.verification.assurance_level`` of an identity's disclosed claims."""
    level = identity_verification(identity).get("assurance_level")
    return level if isinstance(level, str) else None


async def grant_identity(store: TransactionStore, av: Transaction) -> dict[str, Any] | None:
    """The identity credential (verified result) a grant's person presented, if any."""
    if not av.meta.get("human_tx"):
        return None
    human = await store.get(str(av.meta["human_tx"]), kind=RecordKind.PRESENTATION)
    if human is None or not human.result:
        return None
    identity: dict[str, Any] = human.result["credentials"]["identity"][0]
    return identity


async def identity_revoked_mark(store: TransactionStore, identity: Mapping[str, Any]) -> bool:
    """True when the grant watcher has marked this identity credential revoked."""
    key = identity_key_of(identity)
    return key is not None and await is_revoked(store, key)


async def mark_token_revoked(store: TransactionStore, jti: str, *, ttl: int) -> bool:
    """Record one token as revoked (RFC 7009); True only for the first caller."""
    marker = f"revoked-token:{jti}"
    return await store.add_within(marker, {"revoked": 1}, {"revoked": 1}, ttl=ttl) is not None


async def token_is_revoked(store: TransactionStore, jti: Any) -> bool:
    if not isinstance(jti, str) or not jti:
        return False
    return bool((await store.get_counters(f"revoked-token:{jti}")).get("revoked"))


async def grants_of(store: TransactionStore, key: str) -> list[str]:
    """The allowed verification ids of the mandate ``key``, oldest first."""
    return [str(e["av"]) for e in await store.read_events(f"grants:{key}") if "av" in e]


async def logins_of(store: TransactionStore, key: str) -> list[str]:
    """The wallet logins (``sid``) resting on the identity credential ``key``, oldest first."""
    return [str(e["login"]) for e in await store.read_events(f"grants:{key}") if "login" in e]


async def last_valid_moment(store: TransactionStore, key: str, *, retention: int) -> int:
    """The last moment a token of any allowed verification (or wallet login) resting on the
    mandate or identity ``key`` can be valid (0 when none is left)."""
    last = 0
    for event in await store.read_events(f"grants:{key}"):
        if "until" in event:  # a wallet login or a PDP step-up: its own last moment
            last = max(last, int(event["until"]))
            continue
        av = await store.get(str(event.get("av")), kind=RecordKind.AGENT_VERIFICATION)
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
        await self._register_identity(av, until)

    async def watch_step_up(self, av: Transaction, identity: Mapping[str, Any]) -> None:
        """Watch the identity credential a person presented at a PDP step-up about the grant
        ``av`` (when it has a status entry), as ``{"step_up": <grant>, "until": …}``: it is
        re-checked and marked revoked like any other, so the decisions resting on it deny; the
        grant itself did not rest on it (no ``session-revoked`` names the grant)."""
        item = identity_watch(identity)
        if item is None:
            return
        now = int(self.clock())
        until = av.expires_at + self.retention
        entry = {"step_up": av.id, "until": until}
        due = now + self.check_every
        await watch_identity(self.store, item, entry, until=until, due_at=due, now=now)

    async def _register_identity(self, av: Transaction, until: int) -> None:
        """Watch the identity credential the grant rests on (when it has a status entry)."""
        identity = await grant_identity(self.store, av)
        item = identity_watch(identity) if identity is not None else None
        if item is None:
            return
        now = int(self.clock())
        await watch_identity(
            self.store, item, {"av": av.id}, until=until, due_at=now + self.check_every, now=now
        )


def identity_watch(identity: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the grant watcher needs to watch an identity credential (its verified result):
    key, issuer, ``vct``, status reference, SSF subject, assurance level and its namespace;
    None when it has no status list entry."""
    key = identity_key_of(identity)
    if key is None:
        return None
    return {
        "kind": "identity",
        "key": key,
        "iss": identity.get("iss"),
        "vct": identity.get("vct"),
        "status": _status_ref(identity),
        "subject": identity_subject(identity),
        "level": assurance_level_of(identity),
        "namespace": identity_verification(identity).get("trust_framework"),
    }


async def watch_identity(
    store: TransactionStore,
    item: Mapping[str, Any],
    entry: Mapping[str, Any],
    *,
    until: int,
    due_at: int,
    now: int,
) -> None:
    """Record ``entry`` (``{"av": <grant>}``, or ``{"login": <sid>, "until": …}`` for a wallet
    login) as resting on the identity ``item`` and queue its watch (one item per credential)."""
    key = str(item["key"])
    await store.append_event(f"grants:{key}", dict(entry), ttl=_YEAR // 12)
    await store.enqueue(
        WATCH_QUEUE, key, {**item, "until": until}, due_at=due_at, ttl=max(until - now, 60)
    )
