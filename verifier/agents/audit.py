"""The audit log of an agent verification: append-only, hash-chained, no claim values.

Events are appended atomically, in order, to a per-verification stream in the store (any
instance may append). Each event records what happened - ids, codes, hashes, counters - and
never a disclosed claim value, a nonce, a key or a token. The chain is derived from the stored
order::

    hash_0 = sha-256(canonical(event_0))
    hash_i = sha-256(hash_{i-1} || canonical(event_i))

and the signed receipt commits to the head (``audit_head``) and length (``audit_len``) at the
decision, so changing, removing or reordering any earlier event is detected by
:func:`verify_chain` (``agentvp audit verify``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["canonical", "chain", "verify_chain"]


def canonical(event: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in event.items() if k not in ("prev", "hash")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain(events: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The events with ``prev`` and ``hash`` filled in, in order."""
    out: list[dict[str, Any]] = []
    prev = ""
    for event in events:
        digest = hashlib.sha256(prev.encode() + canonical(event)).hexdigest()
        out.append(
            {
                **{k: v for k, v in event.items() if k not in ("prev", "hash")},
                "prev": prev,
                "hash": digest,
            }
        )
        prev = digest
    return out


def verify_chain(
    events: Sequence[Mapping[str, Any]], *, head: str | None = None, length: int | None = None
) -> list[str]:
    """Problems found (empty when intact): a recomputed hash differing from the one shown, a
    ``prev`` not pointing at the previous hash, or a head/length differing from the receipt's."""
    problems: list[str] = []
    prev = ""
    for index, event in enumerate(events):
        if event.get("prev", prev) != prev:
            problems.append(f"event {index}: prev does not point at event {index - 1}")
        digest = hashlib.sha256(prev.encode() + canonical(event)).hexdigest()
        if event.get("hash", digest) != digest:
            problems.append(f"event {index}: content does not match its hash")
        prev = digest
        if length is not None and index + 1 == length and head is not None and digest != head:
            problems.append(f"event {index}: chain head differs from the receipt's audit_head")
    if length is not None and len(events) < length:
        problems.append(f"{length - len(events)} events the receipt covers are missing")
    return problems
