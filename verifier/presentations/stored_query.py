"""The DCQL query of a stored transaction, parsed once per query text in this process.

Every wallet response is checked against the query its transaction stored, and parsing it (the
pydantic models of :class:`~verifier.protocol.DCQLQuery`) was ~30 us of each response - for the
same few queries over and over, since most relying parties ask through a handful of presets.
:func:`stored_query` keys the parsed query by the query's canonical JSON text (sorted keys,
compact, ASCII), which names one JSON value exactly (``1`` and ``true`` differ, as they do in
DCQL), so an entry can only ever be used for a query it is the parse of. The parse is frozen
and never modified by the verification.

Bounded twice: a query whose text is over :data:`MAX_TEXT` is parsed every time and not kept,
and the memo is emptied when it holds :data:`MAX_ENTRIES` queries. A query that does not parse
is never kept: it raises on every response, as before.
"""

from __future__ import annotations

from typing import Any

from verifier.protocol import DCQLQuery
from verifier.protocol.jsonfast import Encoder

__all__ = ["MAX_ENTRIES", "MAX_TEXT", "stored_query"]

MAX_ENTRIES = 256
MAX_TEXT = 16 * 1024  # characters of canonical JSON

_PARSED: dict[str, DCQLQuery] = {}
_CANONICAL = Encoder(sort_keys=True).text


def stored_query(raw: Any) -> DCQLQuery:
    """``DCQLQuery.parse(raw)`` (the same query, or the same :class:`DCQLError`)."""
    try:
        text = _CANONICAL(raw)
    except (TypeError, ValueError):  # not JSON at all: the parse says why, every time
        return DCQLQuery.parse(raw)
    known = _PARSED.get(text)
    if known is not None:
        return known
    query = DCQLQuery.parse(raw)
    if len(text) <= MAX_TEXT:
        if len(_PARSED) >= MAX_ENTRIES:
            _PARSED.clear()
        _PARSED[text] = query
    return query
