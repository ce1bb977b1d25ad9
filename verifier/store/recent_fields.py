"""``RecentFields``: for a Redis store's last records, each field's JSON text as last read and
what it decodes to, so that a record read again decodes only the fields that changed
(docs/PERFORMANCE.md, round 18).

A Redis record is a hash of ~25 fields, each its own JSON text (:meth:`Transaction.to_fields`),
and a flow reads its record five times (two lookups, two compare-and-set replies, the result)
with a few fields changed between reads. Decoding is a function of the text alone, so a field
whose text is character for character the one remembered for it gets the remembered value; any
other is decoded with :func:`~verifier.store.base.decode_field`, exactly as
:meth:`Transaction.from_fields` decodes it. A record is known by its ``kind`` and ``id`` texts,
which every record has, so a reply is matched to its entry without a second read. A record
another process changed simply has other texts: those fields are decoded.

What it gives is shared between the transactions handed out, as :mod:`.recent_rows`' parses
are: a transaction's values are never changed in place (callers assign whole fields). At most
:data:`~verifier.store.recent_rows.REMEMBERED` records; past that the oldest is forgotten.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from .base import Transaction, decode_field
from .recent_rows import REMEMBERED
from .redis_scripts import reply_text as _text

__all__ = ["RecentFields"]

_KNOWN = Transaction.__dataclass_fields__


class RecentFields:
    """Record -> field name -> (its JSON text as last read, that text's value), newest last."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        self._seen: dict[tuple[str, str], dict[str, tuple[str, Any]]] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def parsed(self, raw: Mapping[str, str] | Mapping[str | bytes, str | bytes]) -> Transaction:
        """The transaction a record's fields (an ``HGETALL`` reply, names and JSON texts) give:
        what :meth:`Transaction.from_fields` gives, each unchanged field's value remembered."""
        texts = cast(Mapping[str, str | bytes], raw)
        if raw and type(next(iter(raw))) is not str:
            texts = {_text(k): v for k, v in raw.items()}
        record = (_text(texts.get("kind", "")), _text(texts.get("id", "")))
        before = self._seen.pop(record, None) or {}
        entry: dict[str, tuple[str, Any]] = {}
        values: dict[str, Any] = {}
        for name in _KNOWN:  # the fields' own order, as from_fields' values
            text = texts.get(name)
            if text is None:
                continue
            known = before.get(name)
            if known is None or known[0] != text:
                decoded = _text(text)
                known = (decoded, decode_field(decoded))
            entry[name] = known
            values[name] = known[1]
        if len(values) == len(_KNOWN):
            # Every field (every record this version wrote): what ``__init__`` would assign,
            # assigned at once, as ``Transaction.from_json`` does.
            tx = object.__new__(Transaction)
            tx.__dict__.update(values)
        else:
            # A field an older record lacks gets its default; a missing required one raises,
            # both as in from_fields.
            tx = Transaction(**values)
        self._seen[record] = entry
        if len(self._seen) > self._size:
            del self._seen[next(iter(self._seen))]  # the oldest entry
        return tx
