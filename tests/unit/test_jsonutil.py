import pytest

from verifier.protocol import MalformedError
from verifier.protocol.jsonutil import loads


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"a": 1, "a": 2}', "json_duplicate_key"),
        ('{"x": {"a": 1, "b": 2, "a": 3}}', "json_duplicate_key"),
        ("[" * 40 + "]" * 40, "json_too_deep"),
        ("[" * 100000 + "]" * 100000, "json_too_deep"),
        ('{"a": NaN}', "malformed_json"),
        ('{"a": Infinity}', "malformed_json"),
        ('{"a": "\\ud800"}', "malformed_json"),
        (b'{"a": "\xff"}', "malformed_json"),
        ("{'a': 1}", "malformed_json"),
        ('{"a": 1} trailing', "malformed_json"),
    ],
)
def test_strict_json_rejects(text: str | bytes, code: str) -> None:
    with pytest.raises(MalformedError) as info:
        loads(text)
    assert info.value.code == code


def test_size_limit() -> None:
    with pytest.raises(MalformedError) as info:
        loads('"' + "a" * 100 + '"', max_bytes=50)
    assert info.value.code == "input_too_large"


def test_accepts_valid_json_and_paired_surrogates() -> None:
    assert loads('{"a": [1, {"b": "\\ud83d\\ude00"}]}') == {"a": [1, {"b": "😀"}]}
    assert loads("[" * 32 + "]" * 32) is not None
