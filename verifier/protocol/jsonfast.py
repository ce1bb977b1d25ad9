"""The standard library's JSON, faster: the same text out, the same values in, via ``orjson``.

The verifier writes JSON on every step of a flow - the stored record (three times), the signed
request object, the answers to the relying party - and reads its records back five times; the
standard library's encoder and decoder were the largest visible costs after the signatures
(~30 µs to write a 7 KB record, ~19 µs to read a 2.5 KB one; ``orjson``: 3 and 6).
``orjson`` is not a drop-in replacement: it spells some floats differently (``1e-7`` for
``1e-07``), writes NaN and infinities as ``null``, never escapes non-ASCII text, refuses
integers beyond 64 bits when writing and reads them as floats, and serialises types (UUIDs,
plain enums) the standard library refuses. So both directions check the value:

- :meth:`Encoder.text` / :meth:`Encoder.bytes` let ``orjson`` write a value only when
  :func:`plain` says every part of it is one both encoders spell byte for byte - ``None``,
  booleans, 64-bit integers, strings (ASCII without DEL where non-ASCII is escaped), dicts with
  string keys, lists and tuples - and the standard library writes everything else, or
  whatever ``orjson`` refuses;
- :func:`loads` keeps what ``orjson`` read only when it holds no float (a float may be an
  integer beyond 64 bits that ``orjson`` rounded; and floats are where two parsers could
  differ): otherwise, and for any text ``orjson`` refuses (NaN, lone surrogates, ...), the
  standard library reads it, and returns or raises what it always did.

Either way the result is the standard library's (``tests/unit/test_jsonfast.py`` holds the
two to each other on arbitrary values and texts), so records, signatures and answers are
unchanged. For the verifier's own texts only: what crosses a trust boundary is read by
:mod:`.jsonutil`'s strict parser. Compiled with Cython (``verifier/native.py``), the walk costs
a few microseconds per record.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["COMPILED", "MAX_DEPTH", "Encoder", "loads", "plain"]

_INT_MIN = -(1 << 63)  # orjson's integer range; beyond it, it refuses (and we fall back)
_INT_MAX = (1 << 64) - 1
MAX_DEPTH = 200  # orjson refuses beyond 254; the walk recurses (C recursion when compiled)


def plain(value: Any, ascii_only: bool) -> bool:
    """Whether ``orjson`` writes ``value`` exactly as the standard library does: JSON made of
    ``None``, ``bool``, ``int`` (64-bit), ``str`` (if ``ascii_only``: ASCII without DEL; a
    ``str`` subclass such as a ``StrEnum`` counts as its text), ``dict`` with ``str`` keys,
    ``list``, ``tuple``. Any float, other type or nesting beyond :data:`MAX_DEPTH` levels is
    not plain."""
    return _plain(value, ascii_only, 0)


def _plain(item: Any, ascii_only: bool, depth: int) -> bool:  # noqa: PLR0911, PLR0912 - one test per type
    kind = type(item)
    if kind is str:
        return not ascii_only or _escapes_alike(item)
    if kind is dict:
        if depth >= MAX_DEPTH:
            return False
        for key, member in item.items():
            if type(key) is not str or (ascii_only and not _escapes_alike(key)):
                return False
            if not _plain(member, ascii_only, depth + 1):
                return False
        return True
    if kind is list or kind is tuple:
        if depth >= MAX_DEPTH:
            return False
        for member in item:  # noqa: SIM110 - a loop compiles to C; all() over a generator does not
            if not _plain(member, ascii_only, depth + 1):
                return False
        return True
    if kind is int:
        number: int = item
        return _INT_MIN <= number <= _INT_MAX
    if kind is bool or item is None:
        return True
    if isinstance(item, str):  # StrEnum and other str subclasses: written as their text
        return not ascii_only or _escapes_alike(item)
    return False


def _escapes_alike(text: str) -> bool:
    """Whether the standard library's ASCII-only output leaves ``text`` as orjson writes it:
    ASCII without DEL (which it escapes as ``\\u007f`` and orjson does not); both escape the
    control characters below a space the same way."""
    return text.isascii() and "\x7f" not in text


def loads(text: str | bytes) -> Any:
    """``json.loads(text)``: the same value, or the same error (see the module's docstring)."""
    try:
        value = orjson.loads(text)
    except (TypeError, ValueError):  # orjson refuses: the standard library reads or raises
        return json.loads(text)
    if _plain(value, False, 0):
        return value
    return json.loads(text)  # a float somewhere: the standard library's reading decides


class Encoder:
    """``json.JSONEncoder(separators=(",", ":"), ...).encode``, as UTF-8 bytes or text, written
    by ``orjson`` when :func:`plain` says the two agree."""

    def __init__(
        self,
        *,
        sort_keys: bool = False,
        ensure_ascii: bool = True,
        allow_nan: bool = True,
        default: Callable[[Any], Any] | None = None,
    ) -> None:
        self._standard = json.JSONEncoder(
            separators=(",", ":"),
            sort_keys=sort_keys,
            ensure_ascii=ensure_ascii,
            allow_nan=allow_nan,
            default=default,
        ).encode
        self._option = orjson.OPT_SORT_KEYS if sort_keys else 0
        self._ascii = ensure_ascii

    def text(self, value: Any) -> str:
        if plain(value, self._ascii):
            try:
                return orjson.dumps(value, option=self._option).decode()
            except (TypeError, ValueError):  # orjson's own refusal: the standard library decides
                pass
        return self._standard(value)

    def bytes(self, value: Any) -> bytes:
        if plain(value, self._ascii):
            try:
                return orjson.dumps(value, option=self._option)
            except (TypeError, ValueError):
                pass
        return self._standard(value).encode()


COMPILED = __file__.endswith((".so", ".pyd"))
