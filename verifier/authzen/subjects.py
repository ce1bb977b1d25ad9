"""Who an AuthZEN subject is: the grant behind it (an allowed agent verification).

Subject types (``subject.type``):

- ``token`` - ``id`` is an access token as issued. Each kind of token agentvp issues is a
  :class:`TokenKind` tried in order; the agent access token (RFC 9068, from the agent grant) is
  the built-in one. Another issuer of tokens (e.g. an authorization-code server) plugs in by
  appending its own ``TokenKind`` to :attr:`SubjectResolver.token_kinds`.
- ``agent_verification`` - ``id`` is the id of an agent verification that decided ``allow``.
- ``mandate`` - ``id`` is the mandate's ``jti``, ``properties.iss`` its issuer and
  ``properties.jkt`` the RFC 7638 thumbprint of its holder key (``cnf``): the latest allowed
  verification of that mandate presented with that key.

A grant whose verification is not ``allow``, a token that does not verify or has expired, an
unknown id: the subject is *unknown* and every decision about it is ``false``.

Resolved grants are cached in process for ``cache_ttl`` seconds (never past a token's ``exp``):
what is cached is immutable once decided (the verification and its presentations); revocation,
counters and policy are read afresh on every evaluation (:mod:`verifier.authzen.pdp`).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from verifier.agents.grants import grants_of, mandate_key_of
from verifier.presentations.service import PresentationService
from verifier.store.base import RecordKind, Transaction, TxStatus

__all__ = ["Grant", "SubjectResolver", "TokenKind", "UnknownSubjectError"]

_CACHE_SIZE = 10_000


class UnknownSubjectError(Exception):
    """The subject names no live grant; ``code`` says why (never shown beyond the PEP)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


@dataclass(frozen=True)
class Grant:
    """An allowed verification and what it proved."""

    verification: Transaction
    mandate: dict[str, Any]  # the mandate's verified presentation result
    identity: dict[str, Any] | None  # the identity's, when the person stepped up
    token: Mapping[str, Any] | None = None  # the access token's claims (token subjects)
    expires_at: int | None = None  # the token's exp: no decision allows after it

    @property
    def policy(self) -> str:
        return str(self.verification.meta["policy"])

    @property
    def audience(self) -> str | None:
        aud = (self.token or {}).get("aud")
        return aud if isinstance(aud, str) else None


class TokenKind(Protocol):
    """One kind of access token: its claims (verified) or None when it is not of this kind."""

    def verify(self, token: str, *, now: int) -> Mapping[str, Any] | None: ...


@dataclass
class SubjectResolver:
    presentations: PresentationService
    token_kinds: list[TokenKind] = field(default_factory=list)
    cache_ttl: int = 5
    _cache: OrderedDict[str, tuple[float, Grant]] = field(default_factory=OrderedDict)

    def _now(self) -> int:
        return self.presentations.now()

    async def resolve(self, subject_type: str, subject_id: str, props: Mapping[str, Any]) -> Grant:
        resolvers: dict[str, Callable[[str, Mapping[str, Any]], Awaitable[Grant]]] = {
            "token": self._token,
            "agent_verification": self._verification,
            "mandate": self._mandate,
        }
        resolver = resolvers.get(subject_type)
        if resolver is None:
            raise UnknownSubjectError("subject_type_unsupported", f"type {subject_type!r}")
        return await resolver(subject_id, props)

    # ---------------------------------------------------------------- kinds

    async def _token(self, token: str, props: Mapping[str, Any]) -> Grant:
        del props
        cache_key = hashlib.sha256(token.encode()).hexdigest()
        now = self._now()
        hit = self._cache.get(cache_key)
        if hit is not None and hit[0] > now:
            return hit[1]
        for kind in self.token_kinds:
            claims = kind.verify(token, now=now)
            if claims is None:
                continue
            grant = await self._grant(str(claims.get("verification_id", "")), claims)
            exp = int(claims.get("exp", now))
            grant = Grant(grant.verification, grant.mandate, grant.identity, claims, exp)
            self._remember(cache_key, min(now + self.cache_ttl, exp), grant)
            return grant
        raise UnknownSubjectError("token_inactive", "the token is not an active agentvp token")

    async def _verification(self, av_id: str, props: Mapping[str, Any]) -> Grant:
        del props
        return await self._grant(av_id, None)

    async def _mandate(self, jti: str, props: Mapping[str, Any]) -> Grant:
        iss, jkt = props.get("iss"), props.get("jkt")
        if not isinstance(iss, str) or not isinstance(jkt, str):
            raise UnknownSubjectError(
                "mandate_subject_incomplete", "a mandate subject needs properties.iss and .jkt"
            )
        store = self.presentations.store
        for av_id in reversed(await grants_of(store, mandate_key_of(iss, jti))):
            try:
                grant = await self._grant(av_id, None)
            except UnknownSubjectError:
                continue
            if grant.mandate.get("holder_jkt") == jkt:
                return grant
        raise UnknownSubjectError("mandate_not_granted", "no allowed verification of this mandate")

    # ---------------------------------------------------------------- shared

    async def _grant(self, av_id: str, claims: Mapping[str, Any] | None) -> Grant:
        store = self.presentations.store
        av = await store.get(av_id, kind=RecordKind.AGENT_VERIFICATION) if av_id else None
        if av is None or av.status != TxStatus.VERIFIED:
            raise UnknownSubjectError("grant_unknown", "no allowed agent verification")
        agent = await store.get(av.meta["agent_tx"], kind=RecordKind.PRESENTATION)
        if agent is None or not agent.result:
            raise UnknownSubjectError("grant_unknown", "the mandate presentation is gone")
        identity = None
        if av.meta.get("human_tx"):
            human = await store.get(av.meta["human_tx"], kind=RecordKind.PRESENTATION)
            if human is not None and human.result:
                identity = human.result["credentials"]["identity"][0]
        return Grant(av, agent.result["credentials"]["mandate"][0], identity, claims)

    def _remember(self, key: str, until: int, grant: Grant) -> None:
        self._cache[key] = (until, grant)
        self._cache.move_to_end(key)
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
