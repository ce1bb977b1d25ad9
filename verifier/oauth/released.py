"""Which verified claims of a wallet login a resource may see (minimal disclosure).

A resource's ``released_claims`` (policy file) names what it gets of the presented identity:
person claims by name (``given_name``, ``birthdate``: members of the ``verified_claims``
element's ``claims``) and verification members as ``verification.<name>``
(``verification.trust_framework``, ``verification.assurance_level``, ``verification.time``).
Nothing else is released: by default a resource sees ``sub`` and ``acr`` only.

:func:`release` takes them from the identity at login - from the ``verified_claims`` element
whose trust framework the policy accepts, the one the identity rules were evaluated on - into
the IDA shape ``{"verification": {...}, "claims": {...}}`` (OpenID Connect for Identity
Assurance), which the grant stores. They are shown at token introspection only (RFC 7662, to
an authenticated relying party), never put in the access token - the MCP client carries that
token and could read it - and never logged. :func:`still_released` filters the stored claims
again by the resource's current list, so removing a name from the policy stops its release at
once for logins already made.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from verifier.policy.resources import RELEASED_NAME

__all__ = ["release", "still_released"]

_NAME = re.compile(RELEASED_NAME)
VERIFICATION = "verification."


def _element(identity: Mapping[str, Any], frameworks: Collection[str]) -> Mapping[str, Any]:
    claims = identity.get("claims")
    found = claims.get("verified_claims") if isinstance(claims, Mapping) else None
    items = found if isinstance(found, list) else [found]
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("verification"), Mapping):
            continue
        if not frameworks or item["verification"].get("trust_framework") in frameworks:
            return item
    return {}


def release(
    identity: Mapping[str, Any], names: Sequence[str], frameworks: Collection[str] = ()
) -> dict[str, Any]:
    """The listed claims present in ``identity`` (IDA shape); ``{}`` when none is listed or
    disclosed. ``frameworks``: the trust frameworks the resource's policy accepts."""
    if not names:
        return {}
    element = _element(identity, frameworks)
    verification = element.get("verification")
    person = element.get("claims")
    out: dict[str, dict[str, Any]] = {"verification": {}, "claims": {}}
    for name in names:
        if name.startswith(VERIFICATION):
            key = name[len(VERIFICATION) :]
            if isinstance(verification, Mapping) and key in verification:
                out["verification"][key] = verification[key]
        elif isinstance(person, Mapping) and name in person:
            out["claims"][name] = person[name]
    return {k: v for k, v in out.items() if v}


def still_released(stored: Any, names: Sequence[str]) -> dict[str, Any]:
    """``stored`` (what :func:`release` gave at login) cut to the names listed now."""
    if not isinstance(stored, Mapping) or not names:
        return {}
    allowed = {n for n in names if _NAME.fullmatch(n)}
    out: dict[str, dict[str, Any]] = {}
    for part, prefix in (("verification", VERIFICATION), ("claims", "")):
        members = stored.get(part)
        if isinstance(members, Mapping):
            kept = {k: v for k, v in members.items() if prefix + str(k) in allowed}
            if kept:
                out[part] = kept
    return out
