"""The ``delegate_payload`` items of one Delegate SD-JWT segment (draft-gco-oauth-delegate-sd-jwt
§KB-SD-JWT): which were disclosed, what they say, and where digests inside them stayed hidden.

Works on the *raw* (issuer-signed) payload next to the processed one that
:func:`~.disclosures.reconstruct` produced: it checks that several items are all disclosures,
that no item makes ``vct``, ``cnf``, ``iat``, ``exp``, ``nbf`` or ``constraints`` selectively
disclosable, and records the path of every undisclosed digest inside an item (``"{}"`` for an
object property, ``"[]"`` for an array element) so mandate rules can refuse a withheld
restriction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import jsonutil
from ..errors import DelegationError
from ..jose import b64url_decode
from .disclosures import ARRAY_DIGEST, SD_DIGESTS

__all__ = ["DELEGATE_PAYLOAD", "DelegateItem", "Path", "delegate_items"]

DELEGATE_PAYLOAD = "delegate_payload"
# Delegate item claims that decide type, key or validity: never selectively disclosable.
_ITEM_CLEAR = frozenset({"vct", "cnf", "iat", "exp", "nbf", "constraints"})
Path = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DelegateItem:
    """One disclosed ``delegate_payload`` item (the mandate content), processed."""

    claims: dict[str, Any]
    digest: str | None  # its array-element disclosure digest; None when sent in clear
    undisclosed: tuple[Path, ...]  # where digests inside it were not disclosed
    raw: dict[str, Any] = field(default_factory=dict)  # as signed, digests unresolved


def _decode(encoded: str) -> list[Any]:
    value = jsonutil.loads(b64url_decode(encoded, what="disclosure"), what="disclosure")
    assert isinstance(value, list)  # reconstruct() has checked every sent disclosure
    return value


class _Walk:
    """Over the *raw* payload: where digests were left undisclosed, and which names disclosed."""

    def __init__(self, by_digest: Mapping[str, str]) -> None:
        self.by_digest = by_digest
        self.missing: list[Path] = []

    def node(self, value: Any, path: Path) -> None:
        if isinstance(value, dict):
            for digest in (
                value.get(SD_DIGESTS, ()) if isinstance(value.get(SD_DIGESTS), list) else ()
            ):
                encoded = self.by_digest.get(digest) if isinstance(digest, str) else None
                if encoded is None:
                    self.missing.append((*path, "{}"))
                else:
                    salt_name_value = _decode(encoded)
                    self.node(salt_name_value[-1], (*path, str(salt_name_value[1])))
            for key, child in value.items():
                if key != SD_DIGESTS:
                    self.node(child, (*path, key))
        elif isinstance(value, list):
            for element in value:
                if isinstance(element, dict) and set(element) == {ARRAY_DIGEST}:
                    encoded = self.by_digest.get(element[ARRAY_DIGEST])
                    if encoded is None:
                        self.missing.append((*path, "[]"))
                    else:
                        self.node(_decode(encoded)[-1], (*path, "[]"))
                else:
                    self.node(element, (*path, "[]"))

    def item_names(self, raw_item: Mapping[str, Any]) -> set[str]:
        names: set[str] = set()
        digests = raw_item.get(SD_DIGESTS)
        for digest in digests if isinstance(digests, list) else ():
            encoded = self.by_digest.get(digest) if isinstance(digest, str) else None
            if encoded is not None:
                names.add(str(_decode(encoded)[1]))
        return names


def delegate_items(
    raw: Any, processed: Any, by_digest: Mapping[str, str], *, what: str
) -> tuple[DelegateItem, ...]:
    """The disclosed ``delegate_payload`` items with their undisclosed positions."""
    if not isinstance(raw, list) or not isinstance(processed, list):
        raise DelegationError("delegate_payload_invalid", f"{what}: delegate_payload is no array")
    hidden = [isinstance(e, dict) and set(e) == {ARRAY_DIGEST} for e in raw]
    if len(raw) > 1 and not all(hidden):
        raise DelegationError(
            "delegate_payload_invalid", f"{what}: several delegate items must all be disclosures"
        )
    items: list[DelegateItem] = []
    walk = _Walk(by_digest)
    disclosed_raw: list[tuple[str | None, Any]] = []
    for element in raw:
        if isinstance(element, dict) and set(element) == {ARRAY_DIGEST}:
            encoded = by_digest.get(element[ARRAY_DIGEST])
            if encoded is not None:
                disclosed_raw.append((element[ARRAY_DIGEST], _decode(encoded)[-1]))
        else:
            disclosed_raw.append((None, element))
    for (digest, raw_item), claims in zip(disclosed_raw, processed, strict=True):
        if not isinstance(claims, dict) or not isinstance(raw_item, dict):
            raise DelegationError("delegate_payload_invalid", f"{what}: an item is no object")
        clear = walk.item_names(raw_item) & _ITEM_CLEAR
        if clear:
            raise DelegationError(
                "delegate_claim_disclosed",
                f"{what}: item claim {sorted(clear)[0]!r} is disclosable",
            )
        walk.missing = []
        walk.node(raw_item, ())
        items.append(DelegateItem(claims, digest, tuple(walk.missing), raw_item))
    return tuple(items)
