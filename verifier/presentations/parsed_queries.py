"""DCQL queries the service parses again and again, parsed once per query text in this process.

Two callers parse the same few queries over and over through the pydantic models of
:class:`~verifier.protocol.DCQLQuery` (~30 us each): ``create`` parses a preset's query
(strictly: the relying party's own configuration) on every create, and every wallet response
parses the query its transaction stored. :func:`parse_query` keys the parse by its strictness
and the query's canonical JSON text (sorted keys, compact, ASCII), which names one JSON value
exactly (``1`` and ``true`` differ, as they do in DCQL, though ``1 == True`` in Python), so an
entry can only ever be used for a query it is the parse of - a preset edited in place is
parsed again. The parse is frozen and never modified by its users.

Bounded twice: a query whose text is over :data:`MAX_TEXT` is parsed every time and not kept,
and the memo is emptied when it holds :data:`MAX_ENTRIES` queries. A query that does not parse
is never kept: it raises on every call, as before.
"""

from __future__ import annotations

from typing import Any

from verifier.protocol import DCQLQuery
from verifier.protocol.jsonfast import Encoder

__all__ = ["MAX_ENTRIES", "MAX_TEXT", "parse_query"]

MAX_ENTRIES = 256
MAX_TEXT = 16 * 1024  # characters of canonical JSON

_PARSED: dict[tuple[bool, str], DCQLQuery] = {}
_CANONICAL = Encoder(sort_keys=True).text


def parse_query(raw: Any, *, strict: bool = False) -> DCQLQuery:
    """``DCQLQuery.parse(raw, strict=strict)`` (the same query, or the same ``DCQLError``)."""
    try:
        key = (strict, _CANONICAL(raw))
    except (TypeError, ValueError):  # not JSON at all: the parse says why, every time
        return DCQLQuery.parse(raw, strict=strict)
    known = _PARSED.get(key)
    if known is not None:
        return known
    query = DCQLQuery.parse(raw, strict=strict)
    if len(key[1]) <= MAX_TEXT:
        if len(_PARSED) >= MAX_ENTRIES:
            _PARSED.clear()
        _PARSED[key] = query
    return query
