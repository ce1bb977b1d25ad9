"""Where a presentation's selective disclosure sits: what came from a disclosure, what is hidden.

RFC 9901 §7.1 rebuilds the processed payload from the issuer-signed payload and the disclosures
the holder chose to send; afterwards a claim that was disclosed looks exactly like one that was
always in clear, and a withheld claim (or a decoy digest, §4.2.5) leaves no trace. A verifier
that must know whether a holder *could* have hidden something (agent-mandates §3.2: restrictive
elements must be in clear) needs both facts, recorded during reconstruction:

- ``disclosed``: the path of every value a disclosure put into the processed payload;
- ``concealed``: the path of every object or array that still holds a digest no sent disclosure
  matched - a withheld claim or element, or a decoy; the two cannot be told apart.

Paths are claims path pointers over the *processed* payload (object member names and array
indices after undisclosed elements vanished), so they can be looked up in the verified claims.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..jsonfast import Encoder

__all__ = ["NOTHING_SELECTIVE", "ClaimPath", "SDLayout"]

ClaimPath = tuple[str | int, ...]


def _sorted(paths: Iterable[ClaimPath]) -> list[list[str | int]]:
    """Shallow paths first, then by their JSON text: the same layout always serialises alike.
    The text is compact (``json.dumps(p, separators=(",", ":"))``, ASCII-escaped as ``dumps``
    escapes): it orders paths of one length exactly as ``json.dumps(p)``'s ``", "`` does,
    since a separator's space only ever meets another separator's space."""
    return [list(p) for p in sorted(paths, key=lambda p: (len(p), _text(p)))]


_text = Encoder(ensure_ascii=True).text


def _path(raw: Any) -> ClaimPath:
    if not isinstance(raw, list) or not all(
        isinstance(c, str) or (isinstance(c, int) and not isinstance(c, bool) and c >= 0)
        for c in raw
    ):
        raise ValueError(f"{raw!r} is not a claim path")
    return tuple(raw)


@dataclass(frozen=True, slots=True)
class SDLayout:
    """The disclosed values and the containers holding undisclosed digests of one payload."""

    disclosed: frozenset[ClaimPath] = frozenset()
    concealed: frozenset[ClaimPath] = frozenset()

    def from_disclosure(self, path: ClaimPath) -> bool:
        """True if the value at ``path`` (or one of its ancestors) came from a disclosure."""
        return any(path[:n] in self.disclosed for n in range(1, len(path) + 1))

    def as_json(self) -> dict[str, list[list[str | int]]]:
        return {"disclosed": _sorted(self.disclosed), "concealed": _sorted(self.concealed)}

    @classmethod
    def from_json(cls, data: Any) -> SDLayout:
        """The layout :meth:`as_json` wrote; ``ValueError`` for anything else."""
        if not isinstance(data, Mapping) or set(data) != {"disclosed", "concealed"}:
            raise ValueError("a layout has exactly 'disclosed' and 'concealed'")
        members = [data["disclosed"], data["concealed"]]
        if not all(isinstance(m, list) for m in members):
            raise ValueError("'disclosed' and 'concealed' are arrays of claim paths")
        return cls(frozenset(map(_path, members[0])), frozenset(map(_path, members[1])))


NOTHING_SELECTIVE = SDLayout()  # a payload built in code, with no disclosures and no digests
