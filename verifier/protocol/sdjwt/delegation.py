"""Delegate SD-JWT chains (draft-gco-oauth-delegate-sd-jwt, as AP2 v0.2 uses them).

A chain is ``<segment 0>~~<segment 1>~~...~~<segment n>~``: each segment is an SD-JWT
``<JWT>~<disclosures>~`` whose trailing ``~`` is dropped before the ``~~`` join and restored
here. No plain KB-JWT may follow the last segment (AP2 accepts no dSD-JWT+KB).

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
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import DelegationError, MalformedError, SignatureError
from ..jose import PublicKey, check_alg, hash_b64, parse_unverified_jws
from ..jose.jwk import public_key_from_jwk
from ..jose.jws import same_text
from .delegate_items import DELEGATE_PAYLOAD, DelegateItem, delegate_items
from .disclosures import SD_ALG, SUPPORTED_SD_ALGS, reconstruct
from .vc import (
    DEFAULT_POLICY,
    IssuerKeyResolver,
    VerificationPolicy,
    VerifiedCredential,
    verify_presentation,
)

__all__ = [
    "CHAIN_SEPARATOR",
    "KB_SD_JWT",
    "KB_SD_JWT_KB",
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

CHAIN_SEPARATOR = "~~"
KB_SD_JWT = "kb+sd-jwt"  # the last hop (a closed mandate, no further delegation)
KB_SD_JWT_KB = "kb+sd-jwt+kb"  # an intermediate hop (its item names the next key in cnf)
USER_CREDENTIAL = "user_credential"
AGENT_PROVIDER = "agent_provider"
# Hop claims that decide binding or validity: never selectively disclosable.
_HOP_CLEAR = frozenset(
    {"iat", "aud", "nonce", "sd_hash", "issuer_jwt_hash", "exp", "nbf", "cnf", DELEGATE_PAYLOAD}
)


@dataclass(frozen=True, slots=True)
class DelegationPolicy:
    """What a chain verifier accepts (AP2 issue defaults)."""

    algs: frozenset[str] = frozenset({"ES256"})
    sd_algs: frozenset[str] = SUPPORTED_SD_ALGS
    max_segments: int = 3
    leeway: int = 60
    terminal_max_age: int = 300
    max_chain_bytes: int = 64 * 1024
    max_disclosures: int = 128
    # The AP2 SDK and every AP2 example sign provider roots with "example+sd-jwt" (or none).
    provider_typs: frozenset[str | None] = frozenset({None, "dc+sd-jwt", "example+sd-jwt"})
    credential: VerificationPolicy = field(default_factory=lambda: DEFAULT_POLICY)


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


@dataclass(frozen=True, slots=True)
class Segment:
    """One verified segment: the root (index 0) or a KB-SD-JWT hop."""

    index: int
    text: str  # "<JWT>~<disclosures>~" exactly as presented
    issuer_jwt: str
    header: dict[str, Any]
    claims: dict[str, Any]
    items: tuple[DelegateItem, ...]
    sd_alg: str

    def sd_hash(self, alg: str | None = None) -> str:
        """The ``sd_hash``-style digest of this segment as presented."""
        return hash_b64(self.text, alg or self.sd_alg)

    def jwt_hash(self, alg: str | None = None) -> str:
        return hash_b64(self.issuer_jwt, alg or self.sd_alg)


@dataclass(frozen=True, slots=True)
class VerifiedChain:
    segments: tuple[Segment, ...]
    root_kind: str  # USER_CREDENTIAL | AGENT_PROVIDER
    credential: VerifiedCredential | None = None  # the User Credential root
    provider: str | None = None  # the Agent Provider root's provider id

    @property
    def terminal(self) -> Segment:
        return self.segments[-1]


def split_chain(chain: Any, *, policy: DelegationPolicy = DelegationPolicy()) -> tuple[str, ...]:
    """Segments ``<JWT>~<disclosures>~`` of a compact chain (trailing ``~`` restored)."""
    if not isinstance(chain, str) or not chain:
        raise DelegationError("chain_malformed", "mandate is not a non-empty string")
    if len(chain) > policy.max_chain_bytes:
        raise MalformedError(
            "input_too_large", f"mandate is {len(chain)} bytes, limit {policy.max_chain_bytes}"
        )
    if not chain.endswith("~"):
        raise DelegationError(
            "chain_kb_jwt_unsupported", "the last segment is not closed by '~' (no KB-JWT allowed)"
        )
    parts = chain.split(CHAIN_SEPARATOR)
    if len(parts) > policy.max_segments:
        raise DelegationError(
            "chain_too_long", f"{len(parts)} segments, limit {policy.max_segments}"
        )
    segments = (*(p + "~" for p in parts[:-1]), parts[-1])
    for index, segment in enumerate(segments):
        if segment.startswith("~") or segment.count(".", 0, segment.find("~")) != 2:
            raise DelegationError("chain_malformed", f"segment {index} is not '<JWT>~...~'")
    return segments


def join_chain(segments: Sequence[str]) -> str:
    """The compact chain of segments given as ``<JWT>~<disclosures>~`` each."""
    if not segments or not all(s.endswith("~") for s in segments):
        raise ValueError("every segment must end with '~'")
    return (
        CHAIN_SEPARATOR.join(s[:-1] for s in segments[:-1])
        + (CHAIN_SEPARATOR if len(segments) > 1 else "")
        + segments[-1]
    )


def _split_segment(text: str, max_disclosures: int) -> tuple[str, tuple[str, ...]]:
    jwt, *disclosures, last = text.split("~")
    if last or "" in disclosures:
        raise DelegationError("chain_malformed", "a segment holds an empty disclosure")
    if len(disclosures) > max_disclosures:
        raise MalformedError(
            "too_many_disclosures", f"{len(disclosures)} disclosures, limit {max_disclosures}"
        )
    return jwt, tuple(disclosures)


def _number(claims: Mapping[str, Any], name: str, what: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DelegationError("hop_claim_missing", f"{what}: {name!r} is not a NumericDate")
    return float(value)


def _check_item_times(claims: Mapping[str, Any], now: int, leeway: int, what: str) -> None:
    exp = _number(claims, "exp", what)
    if exp is not None and now >= exp + leeway:
        raise DelegationError("delegate_expired", f"{what} expired at {int(exp)}")
    nbf = _number(claims, "nbf", what)
    if nbf is not None and now + leeway < nbf:
        raise DelegationError("delegate_not_yet_valid", f"{what} not valid before {int(nbf)}")
    iat = _number(claims, "iat", what)
    if iat is not None and now + leeway < iat:
        raise DelegationError("delegate_not_yet_valid", f"{what} iat {int(iat)} is in the future")


def _cnf_key(claims: Mapping[str, Any], what: str) -> PublicKey:
    cnf = claims.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict) or "d" in jwk:
        raise DelegationError("hop_cnf_missing", f"{what}: no public cnf.jwk for the next hop")
    try:
        return public_key_from_jwk(jwk)
    except MalformedError as exc:
        raise DelegationError(
            "hop_cnf_missing", f"{what}: cnf.jwk unusable: {exc.reason}"
        ) from None


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
    jwt, disclosures = _split_segment(text, policy.max_disclosures)
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
    if rebuilt.top_level_disclosed & _HOP_CLEAR:
        name = sorted(rebuilt.top_level_disclosed & _HOP_CLEAR)[0]
        raise DelegationError("delegate_claim_disclosed", f"{what}: {name!r} is disclosable")
    items: tuple[DelegateItem, ...] = ()
    if DELEGATE_PAYLOAD in rebuilt.claims:
        by_digest = {d.digest: d.encoded for d in rebuilt.disclosures}
        items = delegate_items(raw_items, rebuilt.claims[DELEGATE_PAYLOAD], by_digest, what=what)
    segment = Segment(index, text, jwt, jws.header, rebuilt.claims, items, rebuilt.sd_alg)
    return segment, rebuilt.claims


def _same(a: Any, b: str) -> bool:
    return isinstance(a, str) and same_text(a, b)


def _check_binding(claims: Mapping[str, Any], prev: Segment, what: str) -> None:
    has_sd, has_jwt = "sd_hash" in claims, "issuer_jwt_hash" in claims
    if not has_sd and not has_jwt:
        raise DelegationError("hop_binding_missing", f"{what}: no sd_hash or issuer_jwt_hash")
    if has_sd and has_jwt:
        raise DelegationError("hop_binding_ambiguous", f"{what}: both sd_hash and issuer_jwt_hash")
    expected = prev.sd_hash() if has_sd else prev.jwt_hash()
    if not _same(claims.get("sd_hash" if has_sd else "issuer_jwt_hash"), expected):
        name = "sd_hash" if has_sd else "issuer_jwt_hash"
        raise DelegationError(
            "hop_binding_mismatch", f"{what}: {name} is not segment {prev.index}'s"
        )


def _check_hop_claims(
    claims: Mapping[str, Any],
    *,
    terminal: bool,
    audience: str,
    nonce: str,
    now: int,
    policy: DelegationPolicy,
    what: str,
) -> None:
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int):
        raise DelegationError("hop_claim_missing", f"{what}: 'iat' missing or not an integer")
    for name in ("aud", "nonce"):
        if not isinstance(claims.get(name), str):
            raise DelegationError("hop_claim_missing", f"{what}: {name!r} missing or not a string")
    oldest = now - policy.terminal_max_age if terminal else None
    if iat > now + policy.leeway or (oldest is not None and iat < oldest):
        raise DelegationError("hop_iat_out_of_window", f"{what}: iat {iat} outside the window")
    exp = _number(claims, "exp", what)
    if exp is not None and now >= exp + policy.leeway:
        raise DelegationError("hop_expired", f"{what}: exp has passed")
    if "cnf" in claims:
        raise DelegationError("hop_cnf_unexpected", f"{what}: 'cnf' belongs in a delegate item")
    if terminal:
        if not _same(claims["nonce"], nonce):
            raise DelegationError("hop_nonce_mismatch", f"{what}: nonce is not the challenge's")
        if claims["aud"] != audience:
            raise DelegationError("hop_aud_mismatch", f"{what}: aud {claims['aud']!r} is not ours")


def _next_key(
    segment: Segment, *, terminal: bool, now: int, policy: DelegationPolicy, open_end: bool = False
) -> PublicKey | None:
    what = f"segment {segment.index}"
    for item in segment.items:
        _check_item_times(item.claims, now, policy.leeway, f"{what} delegate item")
    if open_end:  # a delegation being handed to its holder: all items open, or all closed
        with_cnf = [("cnf" in item.claims) for item in segment.items]
        if not segment.items or any(with_cnf) != (segment.header.get("typ") == KB_SD_JWT_KB):
            raise DelegationError("hop_cnf_missing", f"{what}: typ and items' cnf disagree")
        if any(with_cnf) and not all(with_cnf):
            raise DelegationError("hop_cnf_missing", f"{what}: some delegate items lack cnf")
        for item in segment.items if all(with_cnf) else ():
            _cnf_key(item.claims, what)
        return None
    if terminal:
        if not segment.items:
            raise DelegationError("delegate_payload_invalid", f"{what}: no delegate item disclosed")
        if any("cnf" in item.claims for item in segment.items):
            raise DelegationError("hop_cnf_unexpected", f"{what}: the last hop delegates further")
        return None
    if len(segment.items) != 1:
        raise DelegationError(
            "delegate_payload_not_single",
            f"{what}: {len(segment.items)} delegate items disclosed, expected exactly 1",
        )
    return _cnf_key(segment.items[0].claims, what)


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
    _check_item_times(claims, now, policy.leeway, "segment 0")
    if DELEGATE_PAYLOAD not in claims:
        raise DelegationError("delegate_payload_invalid", "provider root has no delegate_payload")
    if alone:  # the root is the closed mandate itself: it answers the challenge
        _check_hop_claims(
            claims,
            terminal=True,
            audience=audience,
            nonce=nonce,
            now=now,
            policy=policy,
            what="segment 0",
        )
    chain = VerifiedChain((segment,), AGENT_PROVIDER, provider=provider)
    return chain, _next_key(segment, terminal=alone, now=now, policy=policy)


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
        _check_hop_claims(
            claims,
            terminal=terminal,
            audience=audience,
            nonce=nonce,
            now=now,
            policy=policy,
            what=what,
        )
        _check_binding(claims, segments[-1], what)
        key = _next_key(
            segment, terminal=terminal, now=now, policy=policy, open_end=open_end and terminal
        )
        segments.append(segment)
    return VerifiedChain(tuple(segments), root.root_kind, root.credential, root.provider)
