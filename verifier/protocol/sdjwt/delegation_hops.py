"""The claim checks of a Delegate SD-JWT chain's hops and delegate items (steps 3-6 of
:mod:`.delegation`'s list): the binding to the previous segment, ``iat``/``exp``/``aud``/``nonce``
of a hop, the times of an item, and the key an item hands to the next hop."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import DelegationError, MalformedError
from ..jose import PublicKey
from ..jose.jwk import public_key_from_jwk
from ..jose.jws import same_text
from .delegate_items import DELEGATE_PAYLOAD
from .delegation_chain import KB_SD_JWT_KB, DelegationPolicy, Segment

__all__ = [
    "HOP_CLEAR",
    "check_binding",
    "check_hop_claims",
    "check_item_times",
    "cnf_key",
    "next_key",
]

# Hop claims that decide binding or validity: never selectively disclosable.
HOP_CLEAR = frozenset(
    {"iat", "aud", "nonce", "sd_hash", "issuer_jwt_hash", "exp", "nbf", "cnf", DELEGATE_PAYLOAD}
)


def _number(claims: Mapping[str, Any], name: str, what: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DelegationError("hop_claim_missing", f"{what}: {name!r} is not a NumericDate")
    return float(value)


def check_item_times(claims: Mapping[str, Any], now: int, leeway: int, what: str) -> None:
    exp = _number(claims, "exp", what)
    if exp is not None and now >= exp + leeway:
        raise DelegationError("delegate_expired", f"{what} expired at {int(exp)}")
    nbf = _number(claims, "nbf", what)
    if nbf is not None and now + leeway < nbf:
        raise DelegationError("delegate_not_yet_valid", f"{what} not valid before {int(nbf)}")
    iat = _number(claims, "iat", what)
    if iat is not None and now + leeway < iat:
        raise DelegationError("delegate_not_yet_valid", f"{what} iat {int(iat)} is in the future")


def cnf_key(claims: Mapping[str, Any], what: str) -> PublicKey:
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


def _same(a: Any, b: str) -> bool:
    return isinstance(a, str) and same_text(a, b)


def check_binding(claims: Mapping[str, Any], prev: Segment, what: str) -> None:
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


def check_hop_claims(
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


def next_key(
    segment: Segment, *, terminal: bool, now: int, policy: DelegationPolicy, open_end: bool = False
) -> PublicKey | None:
    what = f"segment {segment.index}"
    for item in segment.items:
        check_item_times(item.claims, now, policy.leeway, f"{what} delegate item")
    if open_end:  # a delegation being handed to its holder: all items open, or all closed
        with_cnf = [("cnf" in item.claims) for item in segment.items]
        if not segment.items or any(with_cnf) != (segment.header.get("typ") == KB_SD_JWT_KB):
            raise DelegationError("hop_cnf_missing", f"{what}: typ and items' cnf disagree")
        if any(with_cnf) and not all(with_cnf):
            raise DelegationError("hop_cnf_missing", f"{what}: some delegate items lack cnf")
        for item in segment.items if all(with_cnf) else ():
            cnf_key(item.claims, what)
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
    return cnf_key(segment.items[0].claims, what)
