"""Delegate SD-JWT chains (draft-gco-oauth-delegate-sd-jwt, as AP2 v0.2 uses them).

A chain is ``<segment 0>~~<segment 1>~~...~~<segment n>~`` (:mod:`.delegation_chain`: its
syntax, the policy, what a verified chain is). No plain KB-JWT may follow the last segment (AP2
accepts no dSD-JWT+KB).

Segment 0, the **root**, is issuer-signed: a User Credential (an SD-JWT VC verified by
:func:`~verifier.protocol.sdjwt.vc.verify_presentation` against the trusted issuers; its ``cnf``
key signs segment 1) or an Agent Provider's SD-JWT (a trusted provider key; its one disclosed
``delegate_payload`` item names the next key in ``cnf``, or, alone in the chain, it carries the
closed mandates and the verifier's ``aud``/``nonce`` itself). Every later segment is a
**KB-SD-JWT** checked in this order:

1. header ``typ``: ``kb+sd-jwt+kb`` for an intermediate hop, ``kb+sd-jwt`` for the last one;
   an allowed ``alg``; the signature by the previous segment's ``cnf`` key;
2. RFC 9901 processing of its own disclosures (:func:`.disclosures.reconstruct`: every rule -
   unreferenced, duplicate, misplaced disclosures - applies to every hop); ``iat``, ``aud``,
   ``nonce`` and the binding claims are never selectively disclosable;
3. exactly one binding claim: ``sd_hash`` over the previous segment exactly as presented, or
   ``issuer_jwt_hash`` over its JWT alone, with the previous segment's ``_sd_alg``;
4. ``iat`` (not in the future; the last hop also not older than ``terminal_max_age``), ``exp``;
5. ``delegate_payload``: an array whose elements, when more than one, are all disclosures;
   an intermediate hop discloses exactly one item, carrying ``cnf.jwk`` (the next key); the last
   hop discloses at least one and none carries ``cnf``; an item's ``vct``, ``cnf``, ``iat``,
   ``exp``, ``nbf`` and ``constraints`` are never selectively disclosable; its ``iat``/``exp``/
   ``nbf`` are checked;
6. the last hop's ``aud`` and ``nonce`` equal the verifier's challenge (constant time).

Where a digest inside an item was not disclosed is reported (:attr:`DelegateItem.undisclosed`)
so that mandate rules can refuse a withheld restriction. Nothing here knows AP2 mandate types.
The claim checks of steps 3-6 are :mod:`.delegation_hops`; this module verifies the root and
walks the hops.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ..errors import DelegationError, SignatureError
from ..jose import PublicKey, check_alg, parse_unverified_jws
from ..jose.jwk import public_key_from_jwk
from .delegate_items import DELEGATE_PAYLOAD, DelegateItem, delegate_items
from .delegation_chain import (
    AGENT_PROVIDER,
    CHAIN_SEPARATOR,
    KB_SD_JWT,
    KB_SD_JWT_KB,
    USER_CREDENTIAL,
    DelegationPolicy,
    Segment,
    VerifiedChain,
    join_chain,
    split_chain,
    split_segment,
)
from .delegation_hops import (
    HOP_CLEAR,
    check_binding,
    check_hop_claims,
    check_item_times,
    next_key,
)
from .disclosures import SD_ALG, reconstruct
from .vc import IssuerKeyResolver, verify_presentation

__all__ = [
    "AGENT_PROVIDER",
    "CHAIN_SEPARATOR",
    "KB_SD_JWT",
    "KB_SD_JWT_KB",
    "USER_CREDENTIAL",
    "DelegateItem",
    "DelegationPolicy",
    "ProviderKeys",
    "Segment",
    "StaticProviderKeys",
    "VerifiedChain",
    "join_chain",
    "parse_unverified_segment",
    "split_chain",
    "verify_chain",
    "verify_hops",
]


class ProviderKeys(Protocol):
    """Trusted Agent Provider keys: ``(provider id, keys)`` for a root they signed, else None.

    Called with the *unverified* ``iss`` and header; the signature check authenticates them."""

    def resolve(
        self, *, iss: str | None, header: Mapping[str, Any]
    ) -> tuple[str, Sequence[PublicKey]] | None: ...


class StaticProviderKeys:
    """Providers given as ``{id: (iss or None, [jwk, ...])}``; a root is theirs when its ``iss``
    is the provider's, or - without ``iss`` - its header ``kid`` names one of their keys."""

    def __init__(self, providers: Mapping[str, tuple[str | None, Sequence[Mapping[str, Any]]]]):
        self._by_iss: dict[str, tuple[str, list[tuple[Any, PublicKey]]]] = {}
        self._by_kid: dict[str, tuple[str, list[tuple[Any, PublicKey]]]] = {}
        for provider, (iss, jwks) in providers.items():
            keys = [(jwk.get("kid"), public_key_from_jwk(jwk)) for jwk in jwks]
            if iss is not None:
                self._by_iss[iss] = (provider, keys)
            for kid, _ in keys:
                if isinstance(kid, str):
                    self._by_kid[kid] = (provider, keys)

    def resolve(
        self, *, iss: str | None, header: Mapping[str, Any]
    ) -> tuple[str, Sequence[PublicKey]] | None:
        kid = header.get("kid")
        entry = self._by_iss.get(iss) if iss is not None else None
        if entry is None and iss is None and isinstance(kid, str):
            entry = self._by_kid.get(kid)
        if entry is None:
            return None
        provider, keys = entry
        chosen = [key for key_id, key in keys if kid is None or key_id == kid]
        return provider, chosen


def parse_unverified_segment(
    text: str, *, index: int = 0, policy: DelegationPolicy = DelegationPolicy()
) -> Segment:
    """RFC 9901 processing and delegate items of a segment **without** its signature checked
    (for display, or a root whose signer a caller authenticates otherwise)."""
    return _process(text, None, index, policy)[0]


def _process(
    text: str, key_candidates: Sequence[PublicKey] | None, index: int, policy: DelegationPolicy
) -> tuple[Segment, dict[str, Any]]:
    """Signature, RFC 9901 processing and delegate items of one segment."""
    what = f"segment {index}"
    jwt, disclosures = split_segment(text, policy.max_disclosures)
    jws = parse_unverified_jws(jwt, what=what)
    check_alg(jws.alg, policy.algs, what=what)
    if key_candidates is not None and not any(
        k.verify(jws.alg, jws.signing_input, jws.signature) for k in key_candidates
    ):
        code = "issuer_signature_invalid" if index == 0 else "hop_signature_invalid"
        raise SignatureError(code, f"{what} is not signed by the expected key")
    payload = jws.payload_json(what=f"{what} payload")
    raw_items = copy.deepcopy(payload.get(DELEGATE_PAYLOAD))  # reconstruct() consumes payload
    rebuilt = reconstruct(payload, disclosures, accepted_sd_algs=policy.sd_algs)
    if rebuilt.top_level_disclosed & HOP_CLEAR:
        name = sorted(rebuilt.top_level_disclosed & HOP_CLEAR)[0]
        raise DelegationError("delegate_claim_disclosed", f"{what}: {name!r} is disclosable")
    items: tuple[DelegateItem, ...] = ()
    if DELEGATE_PAYLOAD in rebuilt.claims:
        by_digest = {d.digest: d.encoded for d in rebuilt.disclosures}
        items = delegate_items(raw_items, rebuilt.claims[DELEGATE_PAYLOAD], by_digest, what=what)
    segment = Segment(index, text, jwt, jws.header, rebuilt.claims, items, rebuilt.sd_alg)
    return segment, rebuilt.claims


def _peek(text: str) -> tuple[dict[str, Any], str | None, bool]:
    """Unverified: the root's header, ``iss`` and whether it carries delegate items."""
    jws = parse_unverified_jws(text.split("~", 1)[0], what="segment 0")
    payload = jws.payload_json(what="segment 0 payload")
    iss = payload.get("iss")
    return jws.header, iss if isinstance(iss, str) else None, DELEGATE_PAYLOAD in payload


def _provider_root(
    text: str,
    provider: str,
    keys: Sequence[PublicKey],
    *,
    alone: bool,
    audience: str,
    nonce: str,
    now: int,
    policy: DelegationPolicy,
) -> tuple[VerifiedChain, PublicKey | None]:
    header, _, _ = _peek(text)
    if header.get("typ") not in policy.provider_typs:
        raise DelegationError("root_typ_invalid", f"provider root typ {header.get('typ')!r}")
    if not keys:
        raise DelegationError("root_untrusted", f"provider {provider!r} has no key for this kid")
    segment, claims = _process(text, keys, 0, policy)
    check_item_times(claims, now, policy.leeway, "segment 0")
    if DELEGATE_PAYLOAD not in claims:
        raise DelegationError("delegate_payload_invalid", "provider root has no delegate_payload")
    if alone:  # the root is the closed mandate itself: it answers the challenge
        check_hop_claims(
            claims,
            terminal=True,
            audience=audience,
            nonce=nonce,
            now=now,
            policy=policy,
            what="segment 0",
        )
    chain = VerifiedChain((segment,), AGENT_PROVIDER, provider=provider)
    return chain, next_key(segment, terminal=alone, now=now, policy=policy)


def _credential_root(
    text: str, issuers: IssuerKeyResolver, *, now: int, policy: DelegationPolicy
) -> tuple[VerifiedChain, PublicKey]:
    credential = verify_presentation(
        text,
        keys=issuers,
        audience="",
        nonce="",
        now=now,
        require_key_binding=False,
        policy=policy.credential,
    )
    if DELEGATE_PAYLOAD in credential.claims:
        raise DelegationError("root_claim_invalid", "a User Credential root carries no mandates")
    if credential.holder_jwk is None:
        raise DelegationError("hop_cnf_missing", "the User Credential root has no cnf key")
    jwt = text.split("~", 1)[0]
    sd_alg = parse_unverified_jws(jwt).payload_json().get(SD_ALG, "sha-256")
    segment = Segment(0, text, jwt, credential.header, credential.claims, (), str(sd_alg))
    chain = VerifiedChain((segment,), USER_CREDENTIAL, credential=credential)
    return chain, public_key_from_jwk(credential.holder_jwk)


def verify_chain(
    chain: Any,
    *,
    issuers: IssuerKeyResolver,
    providers: ProviderKeys | None,
    audience: str,
    nonce: str,
    now: int,
    policy: DelegationPolicy = DelegationPolicy(),
    open_end: bool = False,
) -> VerifiedChain:
    """Verify a whole chain against the verifier's challenge; raise the first failing check.

    ``open_end``: the last hop may delegate further (``kb+sd-jwt+kb``, every item with ``cnf``)
    - a user signing open mandates for an agent through OpenID4VP."""
    texts = split_chain(chain, policy=policy)
    header, iss, mandates = _peek(texts[0])
    found = providers.resolve(iss=iss, header=header) if providers is not None else None
    if found is None and mandates:
        raise DelegationError("root_untrusted", "no trusted agent provider signed this root")
    if found is not None:
        verified, key = _provider_root(
            texts[0],
            found[0],
            found[1],
            alone=len(texts) == 1,
            audience=audience,
            nonce=nonce,
            now=now,
            policy=policy,
        )
    elif len(texts) == 1:
        raise DelegationError("root_untrusted", "a lone segment must be a trusted provider's")
    else:
        verified, key = _credential_root(texts[0], issuers, now=now, policy=policy)
    return verify_hops(
        texts,
        verified,
        key,
        audience=audience,
        nonce=nonce,
        now=now,
        policy=policy,
        open_end=open_end,
    )


def verify_hops(
    texts: Sequence[str],
    root: VerifiedChain,
    key: PublicKey | None,
    *,
    audience: str,
    nonce: str,
    now: int,
    policy: DelegationPolicy = DelegationPolicy(),
    open_end: bool = False,
) -> VerifiedChain:
    """Segments 1.. of ``texts`` after a ``root`` the caller verified, whose next key is ``key``."""
    segments = list(root.segments)
    for index in range(1, len(texts)):
        terminal = index == len(texts) - 1
        what = f"segment {index}"
        typ = parse_unverified_jws(texts[index].split("~", 1)[0], what=what).header.get("typ")
        allowed = (KB_SD_JWT, KB_SD_JWT_KB) if terminal and open_end else ()
        if typ != (KB_SD_JWT if terminal else KB_SD_JWT_KB) and typ not in allowed:
            raise DelegationError("hop_typ_invalid", f"{what}: typ {typ!r}")
        assert key is not None
        segment, claims = _process(texts[index], [key], index, policy)
        check_hop_claims(
            claims,
            terminal=terminal,
            audience=audience,
            nonce=nonce,
            now=now,
            policy=policy,
            what=what,
        )
        check_binding(claims, segments[-1], what)
        key = next_key(
            segment, terminal=terminal, now=now, policy=policy, open_end=open_end and terminal
        )
        segments.append(segment)
    return VerifiedChain(tuple(segments), root.root_kind, root.credential, root.provider)
