"""``RecentRows``: for a store's last records, the text it last read or wrote for each, and what
that text parses to (:class:`~verifier.store.sqlite.SQLiteStore` uses it; docs/PERFORMANCE.md,
rounds 8 and 13).

An entry is a record key, the record's text as the store last saw it, and the
:class:`Transaction` that text parses to once the store has one (a read's parse, an update's
result; a created record's object is the caller's own, so the first read after ``create``
parses). :meth:`RecentRows.parsed` gives the remembered parse for a text that is byte for byte
the remembered one, and parses (and remembers) any other. What it gives is shared: callers hand
out :func:`copy_of` it, so a caller assigning to a field of what it got changes nothing
remembered (a transaction's values are never changed in place). The same values
``Transaction.from_json`` gives, without its cost: four parses of a flow's five.

At most :data:`REMEMBERED` entries; past that the oldest is forgotten.
"""

from __future__ import annotations

from .base import Transaction

__all__ = ["REMEMBERED", "RecentRows", "copy_of"]

# More than the requests one process serves at once, so a read is still remembered at its update.
REMEMBERED = 256


def copy_of(tx: Transaction) -> Transaction:
    """A new Transaction with ``tx``'s values (``copy.copy`` without its protocol lookups)."""
    copied = object.__new__(Transaction)
    copied.__dict__.update(tx.__dict__)
    return copied


class RecentRows:
    """Record key -> (its text as last seen, that text's parse or None), the newest last."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._size = size
        self._seen: dict[str, tuple[str, Transaction | None]] = {}

    def __len__(self) -> int:
        return len(self._seen)

    def remember(self, key: str, text: str, tx: Transaction | None) -> None:
        """``key`` was last seen as ``text`` (parsing to ``tx``, if known)."""
        seen = self._seen
        seen[key] = (text, tx)
        if len(seen) > self._size:
            del seen[next(iter(seen))]  # the oldest entry

    def take(self, key: str) -> tuple[str, Transaction | None] | None:
        """The entry of ``key``, forgotten (its next sight is remembered anew)."""
        return self._seen.pop(key, None)

    def parsed(self, key: str, text: str) -> Transaction:
        """What ``text``, just read from row ``key``, parses to: the remembered parse if it was
        last seen exactly so, else a new one (then remembered). Shared: hand out a copy."""
        seen = self._seen.get(key)
        if seen is not None and seen[1] is not None and seen[0] == text:
            return seen[1]
        tx = Transaction.from_json(text)
        self.remember(key, text, tx)
        return tx
