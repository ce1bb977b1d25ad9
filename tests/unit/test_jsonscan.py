"""The one-pass scanner (``verifier.protocol.jsonscan``) held to ``jsonutil.standard_loads``.

``loads`` runs the scanner when it is compiled and the standard library's scanner otherwise, so
the two must accept the same texts with the same values and refuse the same texts. Both builds
of the scanner are checked: the compiled module (required in CI by ``test_native``) and its
Python source, loaded on its own.

Where a text breaks more than one rule the two may name different ones: the scanner reports the
first problem it reads (a duplicate name once that member's value is read, a container past the
limit when it opens); the standard path reports a syntax error first and checks depth after the
parse. So codes are compared for every text that is valid JSON syntax apart from the rules, and
where one of them says ``json_too_deep`` and the other another rule, again with room for the
depth (then both must name the other rule).
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verifier import native
from verifier.protocol import MalformedError, jsonscan
from verifier.protocol.jsonutil import loads, standard_loads

DEPTH = 32
MAX_DEPTH = 512  # the deepest limit loads gives the scanner


PYTHON = native.load_as_python("verifier.protocol.jsonscan")
assert not PYTHON.COMPILED
SCANNERS: dict[str, Callable[[str, int], Any]] = {"python": PYTHON.scan}
if jsonscan.COMPILED:
    SCANNERS["compiled"] = jsonscan.scan


def outcome(parse: Callable[[str], Any], text: str) -> tuple[str, str]:
    """("ok", the value as canonical JSON) or ("refused", the error code)."""
    try:
        value = parse(text)
    except MalformedError as exc:
        return ("refused", exc.code)
    except ValueError:  # the bare scanner's syntax errors; loads reports them as malformed_json
        return ("refused", "malformed_json")
    return ("ok", json.dumps(value, ensure_ascii=True))


def broken_rules(text: str, depth: int) -> set[str] | None:
    """The codes of the rules a text breaks if it is valid JSON syntax (None if it is not),
    found by an independent oracle: the standard parser with no rule of its own."""
    found: set[str] = set()

    class Members(list):  # type: ignore[type-arg]
        """An object as all its members: a duplicate's dropped value may break a rule too."""

    def pairs(items: list[tuple[str, Any]]) -> Members:
        if len({name for name, _ in items}) != len(items):
            found.add("json_duplicate_key")
        return Members(item for pair in items for item in pair)

    def constant(name: str) -> float:
        found.add("malformed_json")
        return 0.0

    try:
        value = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except (ValueError, RecursionError):
        return None
    stack = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, str):
            if not node.isascii() and any(0xD800 <= ord(c) <= 0xDFFF for c in node):
                found.add("malformed_json")
        elif isinstance(node, list):  # an array, or an object's Members
            if level + 1 > depth:
                found.add("json_too_deep")
            stack.extend((child, level + 1) for child in node)
    return found


def check_agrees(text: str, depth: int = DEPTH) -> None:
    """The same value, or a refusal by both; for valid syntax breaking exactly one rule, the
    same code, and for one breaking several, a code of one of them on each side."""
    expected = outcome(lambda t: standard_loads(t, max_depth=depth), text)
    rules = broken_rules(text, depth)
    if rules is not None:
        assert (expected[0] == "ok") == (not rules), (text, expected, rules)
        if len(rules) == 1:
            assert expected == ("refused", next(iter(rules))), (text, expected)
    for name, scan in SCANNERS.items():
        got = outcome(lambda t, scan=scan: scan(t, depth), text)  # type: ignore[misc]
        if rules is None:  # not JSON: both refuse (with whichever code they see first)
            assert got[0] == expected[0] == "refused", (name, text, got)
        elif len(rules) <= 1:
            assert got == expected, (name, text, got, expected)
        else:
            assert got[0] == "refused" and got[1] in rules, (name, text, got, rules)


CASES = [
    # values and whitespace
    '{"a": [1, -0, 0.5, -1.5e3, 2E-2, 1e400, true, false, null, ""]}',
    ' \t\n\r{"b":{}}\r\n',
    "[]",
    "0",
    "-0.0",
    '"\\u00e9\\u0000\\"\\\\\\/\\b\\f\\n\\r\\t"',
    '"\\ud83d\\ude00 and é and 😀"',
    '{"é": 1, "e\\u0301": 2}',
    "12345678901234567890123456789",
    "[" * DEPTH + "]" * DEPTH,
    # refused by rule
    '{"a": 1, "a": 2}',
    '{"x": {"a": 1, "b": 2, "a": 3}}',
    '{"a": 1, "\\u0061": 2}',
    "[" * (DEPTH + 1) + "]" * (DEPTH + 1),
    '{"a":' * (DEPTH + 1) + "1" + "}" * (DEPTH + 1),
    "[NaN]",
    '{"a": Infinity}',
    "-Infinity",
    '"\\ud800"',
    '"\\udc00"',
    '"\\ud800\\u0041"',
    '"\\ud800x"',
    '{"\\ud800": 1}',
    '"raw \ud800 surrogate"',
    # refused as syntax
    "",
    "   ",
    "{'a': 1}",
    '{"a": 1} trailing',
    '{"a": 1,}',
    "[1,]",
    "[1 2]",
    '{"a" 1}',
    '{"a": }',
    "01",
    "1.",
    ".5",
    "1e",
    "1e+",
    "-",
    "+1",
    "0x10",
    "1_000",
    "١",
    "tru",
    "nul",
    "True",
    '"unterminated',
    '"bad \\x escape"',
    '"\\u12"',
    '"\\u12G4"',
    '"\\u+123"',
    '"tab\tinside"',
    '"nul\x00inside"',
    "[" * 5000,
    "\ufeff[]",
    "1" * 5000,
]


@pytest.mark.parametrize("text", CASES)
def test_scanner_agrees_with_the_standard_path(text: str) -> None:
    check_agrees(text)


@pytest.mark.parametrize(
    ("text", "scanned", "standard"),
    [
        # a duplicate name whose first value nests too deep: read in order, the depth comes first
        ('{"a": [[1]], "a": 2}', "json_too_deep", "json_duplicate_key"),
        # a raw lone surrogate before a duplicate name
        ('{"\ud800": 1, "b": 1, "b": 2}', "malformed_json", "json_duplicate_key"),
        # NaN inside a container past the limit
        ("[[[NaN]]]", "json_too_deep", "malformed_json"),
    ],
)
def test_a_text_breaking_two_rules_is_refused_by_both(
    text: str, scanned: str, standard: str
) -> None:
    assert broken_rules(text, 2) == {scanned, standard}
    check_agrees(text, 2)
    for scan in SCANNERS.values():
        assert outcome(lambda t, scan=scan: scan(t, 2), text) == ("refused", scanned)  # type: ignore[misc]
    assert outcome(lambda t: standard_loads(t, max_depth=2), text) == ("refused", standard)


@pytest.mark.parametrize("name", sorted(SCANNERS))
def test_depth_limit_is_the_same_boundary(name: str) -> None:
    scan = SCANNERS[name]
    for depth in (1, 2, 8, 32, 100):
        assert scan("[" * depth + "]" * depth, depth) == standard_loads(
            "[" * depth + "]" * depth, max_depth=depth
        )
        with pytest.raises(MalformedError) as info:
            scan("[" * (depth + 1) + "]" * (depth + 1), depth)
        assert info.value.code == "json_too_deep"


def test_loads_refuses_deep_input_without_recursing_past_the_limit() -> None:
    for text in ("[" * 100_000, '{"a":' * 100_000, "[" * 100_000 + "]" * 100_000):
        with pytest.raises(MalformedError) as info:
            loads(text)
        assert info.value.code == "json_too_deep"


def test_loads_past_the_scanner_depth_cap_uses_the_standard_path() -> None:
    text = "[" * 600 + "]" * 600
    assert loads(text, max_depth=600) == standard_loads(text, max_depth=600)
    with pytest.raises(MalformedError) as info:
        loads(text, max_depth=599)
    assert info.value.code == "json_too_deep"


def test_every_character_in_every_place_of_a_unicode_escape() -> None:
    """A ``\\u`` escape reads four hex digits, by code point: every printable ASCII character
    and some non-ASCII digits and letters in each of the four places, the same value or the
    same refusal as the standard path."""
    others = ["\u0663", "\uff11", "\u00e9", "\u0130", "\u212a"]  # digits and letters
    for place in range(4):
        for char in [chr(c) for c in range(0x20, 0x7F)] + others:
            digits = ["0", "0", "e", "9"]
            digits[place] = char
            check_agrees('["x\\u' + "".join(digits) + 'y"]')


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": 1, "a": 2}', "payload: duplicate JSON member name 'a'"),
        ("[" * 40 + "]" * 40, "payload nests deeper than 32"),
        ('"\\ud800"', "payload contains a lone UTF-16 surrogate"),
        ("[NaN]", "payload: NaN is not JSON"),
    ],
)
def test_reasons_read_the_same_on_both_paths(text: str, reason: str) -> None:
    for parse in (loads, standard_loads):
        with pytest.raises(MalformedError) as info:
            parse(text, what="payload")
        assert info.value.reason == reason


def test_syntax_errors_keep_the_standard_wording() -> None:
    for text in ("{bad", '{"a" 1}', "[1 2]", "", '"open'):
        for parse in (loads, standard_loads):
            with pytest.raises(MalformedError) as info:
                parse(text, what="body")
            assert info.value.code == "malformed_json"
            assert info.value.reason.startswith("body is not valid JSON: ")
    with pytest.raises(MalformedError) as info:
        loads("{bad", what="--action")
    assert info.value.reason.startswith("--action is not valid JSON: Expecting property name")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=25,
)
layouts = st.sampled_from(
    [
        {"separators": (",", ":")},
        {},
        {"indent": 2},
        {"indent": "\t", "ensure_ascii": False},
        {"ensure_ascii": False},
    ]
)
NOISE = [*'"\\{}[],: ud80eE-.+NIa', "\x00", "\x1f", "\ud800", "é", "😀", "\\u", "\\ud800"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values, layout=layouts)
def test_random_documents_agree(value: Any, layout: dict[str, Any]) -> None:
    check_agrees(json.dumps(value, **layout))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=json_values,
    edits=st.lists(
        st.tuples(
            st.integers(min_value=0),
            st.sampled_from(["insert", "replace", "delete"]),
            st.sampled_from(NOISE),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_mutated_documents_agree(value: Any, edits: list[tuple[int, str, str]]) -> None:
    text = json.dumps(value, ensure_ascii=False)
    for position, kind, noise in edits:
        at = position % (len(text) + 1)
        if kind == "insert":
            text = text[:at] + noise + text[at:]
        elif kind == "replace":
            text = text[:at] + noise + text[at + 1 :]
        else:
            text = text[:at] + text[at + 1 :]
    check_agrees(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.printable + "é😀\ud800", max_size=40))
def test_arbitrary_text_agrees(text: str) -> None:
    check_agrees(text)
