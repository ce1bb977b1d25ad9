"""Delegate SD-JWT chains as text, and what verifying one gives (:mod:`.delegation` verifies).

A chain is ``<segment 0>~~<segment 1>~~...~~<segment n>~``: each segment is an SD-JWT
``<JWT>~<disclosures>~`` whose trailing ``~`` is dropped before the ``~~`` join and restored by
:func:`split_chain`. No plain KB-JWT may follow the last segment (AP2 accepts no dSD-JWT+KB).
Here: that syntax, the limits a verifier applies (:class:`DelegationPolicy`), and the verified
:class:`Segment` and :class:`VerifiedChain`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import DelegationError, MalformedError
from ..jose import hash_b64
from .delegate_items import DelegateItem
from .disclosures import SUPPORTED_SD_ALGS
from .vc import DEFAULT_POLICY, VerificationPolicy, VerifiedCredential

__all__ = [
    "AGENT_PROVIDER",
    "CHAIN_SEPARATOR",
    "KB_SD_JWT",
    "KB_SD_JWT_KB",
    "USER_CREDENTIAL",
    "DelegationPolicy",
    "Segment",
    "VerifiedChain",
    "join_chain",
    "split_chain",
    "split_segment",
]

CHAIN_SEPARATOR = "~~"
KB_SD_JWT = "kb+sd-jwt"  # the last hop (a closed mandate, no further delegation)
KB_SD_JWT_KB = "kb+sd-jwt+kb"  # an intermediate hop (its item names the next key in cnf)
USER_CREDENTIAL = "user_credential"
AGENT_PROVIDER = "agent_provider"


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


def split_segment(text: str, max_disclosures: int) -> tuple[str, tuple[str, ...]]:
    jwt, *disclosures, last = text.split("~")
    if last or "" in disclosures:
        raise DelegationError("chain_malformed", "a segment holds an empty disclosure")
    if len(disclosures) > max_disclosures:
        raise MalformedError(
            "too_many_disclosures", f"{len(disclosures)} disclosures, limit {max_disclosures}"
        )
    return jwt, tuple(disclosures)
