# cython: boundscheck=False, wraparound=False
"""The strict JSON grammar in one pass, for the compiled build of :mod:`.jsonutil`.

:func:`jsonutil.loads` enforces its rules (digest §9) around the standard library's C scanner:
a Python hook per object to refuse duplicate member names (a list of pairs built and dropped
for every object), then passes over the text and the value for the nesting limit and for lone
surrogates. Compiled with Cython (``verifier/native.py``; ``jsonscan.pxd`` types it), this
scanner checks all of it while it reads, and ``loads`` uses it then. As plain Python it is
correct but slow, so ``loads`` keeps the standard scanner when this module is not compiled.

The language is RFC 8259's, with the same values as :func:`json.loads` (``int`` for a number
without fraction or exponent, ``float`` otherwise, as ``float()`` reads it), and refused:

- a member name twice in one object (``json_duplicate_key``; the first such name, once its
  value is read, as the hook saw it),
- a container nested deeper than ``max_depth`` (``json_too_deep``; refused when it opens),
- ``NaN``, ``Infinity``, ``-Infinity`` (``malformed_json``),
- a lone UTF-16 surrogate in a string, escaped or not (``malformed_json``),
- anything else outside the grammar: raised as ``ValueError`` with :mod:`json`'s wording,
  which ``loads`` reports as ``malformed_json``.

The first line turns Cython's own index checks off in the compiled build: every read of
``text[i]`` here is behind an ``i < n`` test (positions only grow from 0), and a new read must
keep that guard. As Python a missing guard is an ``IndexError``, which
``tests/unit/test_jsonscan.py`` (both builds against the standard path) would show.
"""

from __future__ import annotations

from typing import Any

from .errors import MalformedError

__all__ = ["COMPILED", "LONE_SURROGATE", "scan"]

LONE_SURROGATE = "contains a lone UTF-16 surrogate"

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_REFUSED_CONSTANTS = ("NaN", "Infinity")  # "-Infinity" is refused where a number starts


def scan(text: str, max_depth: int) -> Any:
    """Parse ``text``: one JSON value, whitespace allowed around it and nothing else."""
    return _Scanner(text, max_depth).document()


class _Scanner:
    """One parse: the text, the position after the last value read, the depth limit."""

    __slots__ = ("max_depth", "n", "pos", "text")

    def __init__(self, text: str, max_depth: int) -> None:
        self.text = text
        self.n = len(text)
        self.pos = 0
        self.max_depth = max_depth

    def _fail(self, message: str, at: int) -> ValueError:
        return ValueError(f"{message}: char {at}")

    def _skip(self, i: int) -> int:
        text = self.text
        n = self.n
        while i < n:
            c = text[i]
            if c not in " \t\n\r":
                return i
            i += 1
        return i

    def document(self) -> Any:
        i = self._skip(0)
        if i == self.n:
            raise ValueError("no JSON value")
        value = self.value(i, 0)
        i = self._skip(self.pos)
        if i != self.n:
            raise self._fail("Extra data", i)
        return value

    def value(self, i: int, depth: int) -> Any:
        """The value starting at ``i`` (no whitespace); ``self.pos`` is set to just after it."""
        if i >= self.n:
            raise self._fail("Expecting value", i)
        text = self.text
        c = text[i]
        if c == '"':
            return self.string(i + 1)
        if c in "{[":  # one character: a substring test is a membership test
            if depth >= self.max_depth:  # refused as the container past the limit opens
                raise MalformedError("json_too_deep", f"nests deeper than {self.max_depth}")
            return self.obj(i + 1, depth + 1) if c == "{" else self.array(i + 1, depth + 1)
        if c == "-" or "0" <= c <= "9":
            return self.number(i)
        if c == "t" and text.startswith("true", i):
            self.pos = i + 4
            return True
        if c == "f" and text.startswith("false", i):
            self.pos = i + 5
            return False
        if c == "n" and text.startswith("null", i):
            self.pos = i + 4
            return None
        for name in _REFUSED_CONSTANTS:
            if text.startswith(name, i):
                raise MalformedError("malformed_json", f"{name} is not JSON")
        raise self._fail("Expecting value", i)

    def obj(self, i: int, depth: int) -> dict[str, Any]:
        text = self.text
        n = self.n
        result: dict[str, Any] = {}
        i = self._skip(i)
        if i < n and text[i] == "}":
            self.pos = i + 1
            return result
        while True:
            if i >= n or text[i] != '"':
                raise self._fail("Expecting property name enclosed in double quotes", i)
            key = self.string(i + 1)
            i = self._skip(self.pos)
            if i >= n or text[i] != ":":
                raise self._fail("Expecting ':' delimiter", i)
            value = self.value(self._skip(i + 1), depth)
            if key in result:
                raise MalformedError("json_duplicate_key", f"duplicate JSON member name {key!r}")
            result[key] = value
            i = self._skip(self.pos)
            if i < n and text[i] == "}":
                self.pos = i + 1
                return result
            if i >= n or text[i] != ",":
                raise self._fail("Expecting ',' delimiter", i)
            i = self._skip(i + 1)

    def array(self, i: int, depth: int) -> list[Any]:
        text = self.text
        n = self.n
        result: list[Any] = []
        i = self._skip(i)
        if i < n and text[i] == "]":
            self.pos = i + 1
            return result
        while True:
            result.append(self.value(i, depth))
            i = self._skip(self.pos)
            if i < n and text[i] == "]":
                self.pos = i + 1
                return result
            if i >= n or text[i] != ",":
                raise self._fail("Expecting ',' delimiter", i)
            i = self._skip(i + 1)

    def number(self, i: int) -> int | float:
        text = self.text
        n = self.n
        start = i
        if text[i] == "-":
            i += 1
            if text.startswith("Infinity", i):
                raise MalformedError("malformed_json", "-Infinity is not JSON")
        if i >= n or not "0" <= text[i] <= "9":
            raise self._fail("Expecting value", start)
        if text[i] == "0":
            i += 1
        else:
            i = self._digits(i)
        fraction = False
        if i < n and text[i] == ".":
            end = self._digits(i + 1)
            if end == i + 1:
                raise self._fail("Expecting digits after the decimal point", end)
            i = end
            fraction = True
        if i < n and (text[i] == "e" or text[i] == "E"):
            i += 1
            if i < n and (text[i] == "+" or text[i] == "-"):
                i += 1
            end = self._digits(i)
            if end == i:
                raise self._fail("Expecting digits in the exponent", end)
            i = end
            fraction = True
        self.pos = i
        return float(text[start:i]) if fraction else int(text[start:i])

    def _digits(self, i: int) -> int:
        text = self.text
        n = self.n
        while i < n and "0" <= text[i] <= "9":
            i += 1
        return i

    def string(self, start: int) -> str:
        """The string whose first character is at ``start`` (after its opening quote)."""
        text = self.text
        n = self.n
        i = start
        while i < n:
            c = text[i]
            if c == '"':
                self.pos = i + 1
                return text[start:i]
            if c == "\\":
                return self._escaped(start, i)
            if ord(c) < 0x20:
                raise self._fail("Invalid control character at", i)
            if 0xD800 <= ord(c) <= 0xDFFF:
                raise MalformedError("malformed_json", LONE_SURROGATE)
            i += 1
        raise self._fail("Unterminated string starting at", start - 1)

    def _escaped(self, start: int, i: int) -> str:  # noqa: PLR0912 - one branch per escape
        """The rest of a string from its first backslash at ``i``."""
        text = self.text
        n = self.n
        chunks = [text[start:i]]
        while True:
            i += 1  # past the backslash
            if i >= n:
                raise self._fail("Unterminated string starting at", start - 1)
            c = text[i]
            if c == "u":
                code = self._hex4(i + 1)
                i += 4
                if 0xDC00 <= code <= 0xDFFF:
                    raise MalformedError("malformed_json", LONE_SURROGATE)
                if 0xD800 <= code <= 0xDBFF:
                    if not text.startswith("\\u", i + 1):
                        raise MalformedError("malformed_json", LONE_SURROGATE)
                    low = self._hex4(i + 3)
                    if not 0xDC00 <= low <= 0xDFFF:
                        raise MalformedError("malformed_json", LONE_SURROGATE)
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                chunks.append(chr(code))
            else:
                plain = _ESCAPES.get(c)
                if plain is None:
                    raise self._fail("Invalid \\escape", i - 1)
                chunks.append(plain)
            i += 1
            run = i
            while True:
                if i >= n:
                    raise self._fail("Unterminated string starting at", start - 1)
                c = text[i]
                if c == '"':
                    chunks.append(text[run:i])
                    self.pos = i + 1
                    return "".join(chunks)
                if c == "\\":
                    break
                if ord(c) < 0x20:
                    raise self._fail("Invalid control character at", i)
                if 0xD800 <= ord(c) <= 0xDFFF:
                    raise MalformedError("malformed_json", LONE_SURROGATE)
                i += 1
            chunks.append(text[run:i])

    def _hex4(self, i: int) -> int:
        """The four hex digits at ``i`` of a ``\\u`` escape."""
        text = self.text
        if i + 4 > self.n:
            raise self._fail("Invalid \\uXXXX escape", i - 1)
        code = 0
        for k in range(i, i + 4):  # by code point: no one-character string per digit
            c = text[k]
            if "0" <= c <= "9":
                digit = ord(c) - 48
            elif "a" <= c <= "f":
                digit = ord(c) - 87
            elif "A" <= c <= "F":
                digit = ord(c) - 55
            else:
                raise self._fail("Invalid \\uXXXX escape", i - 1)
            code = code * 16 + digit
        return code


COMPILED = __file__.endswith((".so", ".pyd"))
