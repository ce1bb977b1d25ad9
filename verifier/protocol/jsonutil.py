"""Strict JSON for everything that crosses a trust boundary.

RFC 8259 leaves duplicate member names implementation-defined; two parsers that pick different
duplicates are a classic signature-bypass vector (RFC 8725 §3.11, digest §9: "reject duplicate
JSON keys"). So every JSON text the core reads from a wallet, an issuer or a status list goes
through :func:`loads`, which rejects

- duplicate member names (``json_duplicate_key``),
- nesting deeper than ``max_depth`` (``json_too_deep``),
- texts longer than ``max_bytes`` (``input_too_large``),
- invalid UTF-8, lone UTF-16 surrogates, ``NaN``/``Infinity`` and other non-JSON
  (``malformed_json``).

Two scanners read the same language under the same rules: :mod:`.jsonscan` checks them while it
reads, and is used when it runs compiled (``verifier/native.py``); otherwise
:func:`standard_loads` runs the standard library's C scanner with a duplicate-key hook and
checks depth and surrogates after it. ``tests/unit/test_jsonscan.py`` holds one to the other.
"""

from __future__ import annotations

import json
import json.scanner
import re
from typing import Any

from . import jsonfast, jsonscan
from .errors import MalformedError

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_DEPTH", "dumps_compact", "loads", "standard_loads"]

DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_BYTES = 1 << 20

_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedError("json_duplicate_key", f"duplicate JSON member name {key!r}")
            seen.add(key)
    return obj


def _no_constant(name: str) -> Any:
    raise MalformedError("malformed_json", f"{name} is not JSON")


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_no_constant)
# The C scanner behind JSONDecoder.decode, called directly: same grammar and hooks, without
# the per-call Python layers (this parser runs ~10 times per presentation).
_SCAN = json.scanner.make_scanner(_DECODER)  # type: ignore[arg-type]
_WS = " \t\n\r"
# The one-pass scanner when it runs compiled (as Python it is far slower than the C scanner
# above); its recursion is C recursion, so only up to a depth limit a C stack always holds.
_FAST_SCAN = jsonscan.scan if jsonscan.COMPILED else None
_FAST_MAX_DEPTH = 512


def _parse(text: str) -> Any:
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:  # leading whitespace (the scanner does not skip it) or no value
        start = len(text) - len(text.lstrip(_WS))
        try:
            value, end = _SCAN(text, start)
        except StopIteration:
            raise ValueError("no JSON value") from None
    if end != len(text) and text[end:].strip(_WS):
        raise ValueError(f"extra data at offset {end}")
    return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node  # type: ignore[assignment]
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def loads(
    data: str | bytes,
    *,
    what: str = "JSON",
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Any:
    """Parse one JSON text strictly; ``what`` names the input in error reasons."""
    if len(data) > max_bytes:
        raise MalformedError("input_too_large", f"{what} is {len(data)} long, limit {max_bytes}")
    if _FAST_SCAN is None or max_depth > _FAST_MAX_DEPTH:
        return standard_loads(data, what=what, max_depth=max_depth)
    try:
        return _FAST_SCAN(data.decode() if isinstance(data, bytes) else data, max_depth)
    except UnicodeDecodeError as exc:
        raise MalformedError("malformed_json", f"{what} is not valid UTF-8: {exc.reason}") from None
    except MalformedError as exc:
        if exc.code == "json_too_deep":
            raise MalformedError(exc.code, f"{what} nests deeper than {max_depth}") from None
        joiner = " " if exc.reason == jsonscan.LONE_SURROGATE else ": "
        raise MalformedError(exc.code, f"{what}{joiner}{exc.reason}") from None
    except ValueError as exc:  # outside the grammar; also an integer past int()'s digit limit
        raise MalformedError("malformed_json", f"{what} is not valid JSON: {exc}") from None


def standard_loads(
    data: str | bytes, *, what: str = "JSON", max_depth: int = DEFAULT_MAX_DEPTH
) -> Any:
    """:func:`loads` (without its size limit) on the standard library's C scanner: what runs
    when :mod:`.jsonscan` is not compiled, and what tests hold the compiled scanner to."""
    from_bytes = isinstance(data, bytes)
    try:
        text: str = data.decode() if isinstance(data, bytes) else data
        try:  # the common case inline: a value right at offset 0, nothing after it
            value, end = _SCAN(text, 0)
            if end != len(text):
                raise StopIteration
        except StopIteration:
            value = _parse(text)
    except UnicodeDecodeError as exc:
        raise MalformedError("malformed_json", f"{what} is not valid UTF-8: {exc.reason}") from None
    except RecursionError:
        raise MalformedError("json_too_deep", f"{what} nests deeper than {max_depth}") from None
    except MalformedError as exc:
        raise MalformedError(exc.code, f"{what}: {exc.reason}") from None
    except ValueError as exc:
        raise MalformedError("malformed_json", f"{what} is not valid JSON: {exc}") from None
    # Cheap bounds first: nesting deeper than max_depth takes more than 2 * max_depth brackets,
    # and more than max_depth opening ones.
    if (
        len(text) > 2 * max_depth
        and text.count("{") + text.count("[") > max_depth
        and _depth_exceeds(value, max_depth)
    ):
        raise MalformedError("json_too_deep", f"{what} nests deeper than {max_depth}")
    # A lone surrogate is escaped ("\\ud800"), or, in a str given to us, a raw code point
    # (never in decoded UTF-8). The single-character test first: it is a memchr.
    escaped = "\\" in text and "\\u" in text and _ESCAPED_SURROGATE.search(text)
    raw = not (from_bytes or text.isascii() or _encodable(text))
    if (escaped or raw) and _has_lone_surrogate(value):
        raise MalformedError("malformed_json", f"{what} {jsonscan.LONE_SURROGATE}")
    return value


def dumps_compact(value: Any) -> str:
    """Compact, UTF-8-preserving serialisation used for everything we sign or hash: the text of
    ``json.dumps(value, separators=(",", ":"), ensure_ascii=False)`` (:mod:`.jsonfast`)."""
    return _COMPACT(value)


_COMPACT = jsonfast.Encoder(ensure_ascii=False).text
