"""``verifier.protocol.jsonfast``: the standard library's JSON text, byte for byte, whichever
encoder writes it.

For arbitrary values - floats of every kind, integers beyond 64 bits, non-ASCII, control and
surrogate characters, str subclasses, non-string keys, deep nesting, types JSON has no word
for - an :class:`Encoder` returns exactly what ``json.JSONEncoder`` with the same options
returns, or raises what it raises. Both builds are checked: the compiled module (required in CI
by ``test_native``) and its Python source, loaded on its own.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from enum import Enum, IntEnum, StrEnum
from types import ModuleType
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier import native
from verifier.protocol import jsonfast
from verifier.store.base import Transaction

PYTHON = native.load_as_python("verifier.protocol.jsonfast")
assert not PYTHON.COMPILED
BUILDS: dict[str, ModuleType] = {"python": PYTHON}
if jsonfast.COMPILED:
    BUILDS["compiled"] = jsonfast

OPTIONS = [
    {"sort_keys": True, "ensure_ascii": True},  # the store's records
    {"sort_keys": False, "ensure_ascii": False},  # signed payloads
    {"sort_keys": False, "ensure_ascii": False, "allow_nan": False},  # JSON answers
]


class Colour(StrEnum):
    RED = "red"
    GREEN = "grün"


class Size(IntEnum):
    BIG = 1 << 70
    SMALL = 3


class Plain(Enum):
    A = "a"


def outcome(call: Any, value: Any) -> tuple[str, Any]:
    try:
        return "ok", call(value)
    except Exception as exc:  # the outcome is what is compared
        return "raises", type(exc)


def same(value: Any) -> None:
    for build in BUILDS.values():
        for options in OPTIONS:
            encode = json.JSONEncoder(separators=(",", ":"), **options).encode
            encoder = build.Encoder(**options)
            expected = outcome(encode, value)
            assert outcome(encoder.text, value) == expected, (options, value)
            as_bytes = outcome(lambda v, encode=encode: encode(v).encode(), value)
            assert outcome(encoder.bytes, value) == as_bytes, (options, value)


TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
KEYS = st.one_of(TEXT, st.sampled_from(["a", "b", "ä", "\u2028", "\x00", "\ud800", ""]))
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(1 << 66), max_value=1 << 66),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.sampled_from([Colour.RED, Colour.GREEN, Size.SMALL, 1 << 64, (1 << 64) - 1, -(1 << 63)]),
    st.sampled_from([-(1 << 63) - 1, 1e-7, 1e16, 5e-324, 0.1, -0.0, math.inf]),
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(KEYS, inner, max_size=4),
        st.dictionaries(st.integers(-3, 3), inner, max_size=2),  # keys the stdlib converts
    ),
    max_leaves=30,
)


@settings(max_examples=600, deadline=None)
@given(VALUES)
def test_any_value_is_written_as_the_standard_library_writes_it(value: Any) -> None:
    same(value)


@pytest.mark.parametrize(
    "value",
    [
        {"status": Colour.RED, "n": 1, "list": [True, None, "x"]},
        {"name": "Erika", "city": "Köln"},  # non-ASCII: escaped for records, raw otherwise
        '\x00\x1f\x7f\u2028\u2029"\\/',
        {"max": 300.0},
        {"big": 1 << 64},
        {"big": Size.BIG},
        {1: "a", "b": 2},
        [math.nan],
        {"x": -math.inf},
        {"\ud800": 1},
        "\udfff",
        UUID(int=1),  # orjson would write it; the standard library refuses, and so do we
        datetime(2026, 1, 1, tzinfo=UTC),
        Plain.A,
        {"deep": [[[[[[[[[[1]]]]]]]]]]},
    ],
)
def test_the_values_where_orjson_differs_are_the_standard_librarys(value: Any) -> None:
    same(value)


@pytest.mark.parametrize("build", list(BUILDS.values()), ids=list(BUILDS))
def test_nesting_beyond_the_walks_depth_goes_to_the_standard_library(build: ModuleType) -> None:
    value: Any = 1
    for _ in range(build.MAX_DEPTH + 5):
        value = [value]
    assert not build.plain(value, False)
    assert build.Encoder().text(value) == json.dumps(value, separators=(",", ":"))
    shallow: Any = 1
    for _ in range(build.MAX_DEPTH - 1):
        shallow = {"k": shallow}
    assert build.plain(shallow, True)


@pytest.mark.parametrize("build", list(BUILDS.values()), ids=list(BUILDS))
def test_plain_says_which_values_orjson_writes(build: ModuleType) -> None:
    assert build.plain({"a": [1, "b", None, True, (2, 3)], "c": Colour.RED}, True)
    assert build.plain({"city": "Köln"}, False)
    assert not build.plain({"city": "Köln"}, True)
    assert not build.plain({"Köln": 1}, True)
    assert not build.plain({"x": 0.5}, False)
    assert not build.plain({1: "a"}, False)
    assert not build.plain([1 << 64], False)
    assert build.plain([(1 << 64) - 1, -(1 << 63)], False)
    assert not build.plain([-(1 << 63) - 1], False)
    assert not build.plain(b"bytes", False)


def test_a_dataclass_reaches_the_standard_librarys_default() -> None:
    seen: list[Any] = []

    def default(value: Any) -> Any:
        seen.append(value)
        return {"id": value.id}

    tx = Transaction(id="t", request_id="r", state="s", nonce="n", client_id="c")
    for build in BUILDS.values():
        assert build.Encoder(default=default).text({"tx": tx}) == '{"tx":{"id":"t"}}'
    assert len(seen) == len(BUILDS)


PLAIN_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(1 << 63), max_value=(1 << 64) - 1),
        st.text(max_size=12),
        st.sampled_from([Colour.RED, Colour.GREEN]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(PLAIN_VALUES)
def test_values_orjson_writes_come_out_the_same(value: Any) -> None:
    """The fast path itself: values :func:`plain` admits (without escaping), written by orjson."""
    for build in BUILDS.values():
        assert build.plain(value, False)
    same(value)


def same_value(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (1, 1.0 and True differ; -0.0 is not 0.0;
    NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same_value, a, b))
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    return bool(a == b)


def read_alike(text: str | bytes) -> None:
    for build in BUILDS.values():
        expected = outcome(json.loads, text)
        got = outcome(build.loads, text)
        assert got[0] == expected[0], (text, got, expected)
        if got[0] == "ok":
            assert same_value(got[1], expected[1]), text
        else:
            assert got[1] is expected[1], text


@settings(max_examples=600, deadline=None)
@given(VALUES, st.booleans())
def test_any_written_value_is_read_as_the_standard_library_reads_it(
    value: Any, ascii_: bool
) -> None:
    try:
        text = json.dumps(value, ensure_ascii=ascii_)
    except (TypeError, ValueError):
        return  # keys the standard library cannot write
    read_alike(text)
    if ascii_:
        read_alike(text.encode())


JSONISH = '{}[]",:0123456789-+.eE tfnrulasIiNy\\u\ud800é\x00\n'


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=st.sampled_from(JSONISH), max_size=24))
def test_any_text_is_read_or_refused_as_the_standard_library_does(text: str) -> None:
    read_alike(text)


@pytest.mark.parametrize(
    "text",
    [
        "123456789012345678901234567890",  # orjson: a float; the standard library: the integer
        "[18446744073709551615, 18446744073709551616, -9223372036854775809]",
        '{"a": 1, "a": 2}',
        '{"a": 1, "b": 2, "a": 3}',
        "[1e400, -1e400]",
        "NaN",
        "[Infinity]",
        '"\\ud800"',
        '"\\ud83d\\ude00"',
        "[0.1, 1e-07, -0.0, 5e-324]",
        "\ufeff[]",
        " [1] ",
        "[1] x",
        '"a\nb"',
        b'{"k": "\xc3\xa9"}',
        b'{"k": "\xff"}',
        "[" * 300 + "]" * 300,
    ],
)
def test_the_texts_where_orjson_differs_are_read_as_the_standard_library_reads_them(
    text: str | bytes,
) -> None:
    read_alike(text)
