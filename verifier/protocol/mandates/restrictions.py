"""Restrictive elements of a mandate must be in clear: hiding a disclosure can only narrow.

agent-mandates §3.2 rule 1: every *restrictive* element - each constraint object with its type
and bounds, ``delegation``, and the validity claims ``iat``/``nbf``/``exp`` - is signed in clear
by the issuer, never a Disclosure. If one were selectively disclosable, the agent could withhold
it and present a mandate with a limit fewer. Only the *members* of allow-lists
(``authority.constraints[i].allowed[j]``) may be disclosures: an undisclosed member matches
nothing, so withholding one can only narrow what the agent may do.

A verified presentation cannot show what was withheld, only where (its
:class:`~verifier.protocol.sdjwt.layout.SDLayout`). So a mandate is refused with
``mandate_restriction_undisclosed`` when

1. a restrictive element came from a disclosure (it was selectively disclosable), or
2. an undisclosed digest (a withheld claim, or a decoy: they cannot be told apart) sits where it
   could be a restrictive element: in the ``constraints`` array or a constraint object, anywhere
   in ``delegation``, beside an absent ``authority.constraints``, or at the top level while
   ``iat``, ``nbf``, ``exp`` or ``delegation`` is absent.

Undisclosed digests elsewhere (``principal``, ``authority.purpose``, decoys padding allow-lists)
hide nothing restrictive and are fine.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..sdjwt.layout import ClaimPath, SDLayout
from .reasons import Reason

__all__ = ["TOP_LEVEL_RESTRICTIONS", "hidden_restrictions"]

CODE = "mandate_restriction_undisclosed"
TOP_LEVEL_RESTRICTIONS = ("iat", "nbf", "exp", "delegation")
_CONSTRAINTS: ClaimPath = ("authority", "constraints")


def _pointer(path: ClaimPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "the top level"


def _in_allow_list_member(path: ClaimPath) -> bool:
    """``authority.constraints[i].allowed[j]`` or beneath it (``[i]`` and ``[j]`` indices)."""
    return len(path) >= 5 and path[3] == "allowed"


def _restrictive(path: ClaimPath) -> bool:
    """Is the value at ``path`` (an object or array holding it, at most) restrictive?"""
    if path[0] in TOP_LEVEL_RESTRICTIONS or path == ("authority",):
        return True  # a disclosed ``authority`` carries its constraints with it
    return path[:2] == _CONSTRAINTS and not _in_allow_list_member(path)


def _may_hide_restriction(path: ClaimPath, mandate: Mapping[str, Any]) -> bool:
    """May an undisclosed digest in the container at ``path`` be a restrictive element?"""
    if path == ():
        return any(name not in mandate for name in TOP_LEVEL_RESTRICTIONS)
    if path == ("authority",):
        authority = mandate.get("authority")
        return not isinstance(authority, dict) or "constraints" not in authority
    if path[0] == "delegation":
        return True
    return path[:2] == _CONSTRAINTS and not (len(path) >= 4 and path[3] == "allowed")


def _ordered(paths: frozenset[ClaimPath]) -> list[ClaimPath]:
    return sorted(paths, key=lambda p: (len(p), json.dumps(p)))


def hidden_restrictions(mandate: Mapping[str, Any], layout: SDLayout) -> list[Reason]:
    """One ``mandate_restriction_undisclosed`` reason, or none; ``mandate`` is the processed
    payload including ``iat``/``nbf``/``exp``, ``layout`` where its disclosures were."""
    for path in _ordered(layout.disclosed):
        if _restrictive(path):
            return [Reason(CODE, f"{_pointer(path)} is selectively disclosable")]
    for path in _ordered(layout.concealed):
        if _may_hide_restriction(path, mandate):
            return [Reason(CODE, f"{_pointer(path)} holds an undisclosed digest")]
    return []
