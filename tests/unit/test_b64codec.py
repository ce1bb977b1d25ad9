"""The one-pass base64url codec (``verifier.protocol.jose.b64codec``) held to the standard path.

``base64url`` decodes and encodes with the codec when it is compiled and with binascii and
pybase64 otherwise, so the codec must accept exactly the texts the standard path accepts, with
the same bytes, and encode every byte string to the same text. Both builds are checked: the
compiled module (required in CI by ``test_native``) and its Python source, loaded on its own.
"""

from __future__ import annotations

import base64
import itertools
import os
from collections.abc import Callable
from types import ModuleType
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier import native
from verifier.protocol import MalformedError
from verifier.protocol.jose import b64codec, base64url
from verifier.protocol.jsonutil import loads

ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
FOREIGN = [bytes([c]) for c in range(256) if c not in ALPHABET]


PYTHON = native.load_as_python("verifier.protocol.jose.b64codec")
assert not PYTHON.COMPILED
CODECS: dict[str, ModuleType] = {"python": PYTHON}
if b64codec.COMPILED:
    CODECS["compiled"] = b64codec


def standard_decode(raw: bytes) -> bytes | None:
    """What ``base64url``'s standard path (the Python build's) returns, or None where it
    refuses: ``b64url_decode_ascii`` itself, with the codec switched off."""
    with mock.patch.object(base64url, "_FAST", False):
        try:
            return base64url.b64url_decode_ascii(raw)
        except MalformedError:
            return None


def standard_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def expected_text(text: bytes) -> str | None:
    data = standard_decode(text)
    if data is None:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


@pytest.fixture(params=sorted(CODECS))
def codec(request: pytest.FixtureRequest) -> ModuleType:
    return CODECS[request.param]


def test_both_builds_are_checked_when_the_codec_is_compiled() -> None:
    assert PYTHON.decode is not b64codec.decode
    assert set(CODECS) == ({"python", "compiled"} if b64codec.COMPILED else {"python"})


def test_every_length_round_trips_to_the_stdlib_text(codec: ModuleType) -> None:
    for size in range(400):
        for data in (bytes(size), b"\xff" * size, os.urandom(size)):
            text = codec.encode(data)
            assert text == standard_encode(data), size
            assert codec.decode(text.encode()) == data, size


def test_only_a_final_character_with_zero_spare_bits_is_accepted(codec: ModuleType) -> None:
    """4 of 64 final characters after one full byte's two characters, 16 of 64 after two
    bytes' three; a lone final character (length 1 modulo 4) spells nothing."""
    for prefix, head in itertools.product((b"", b"AAAA", b"Zm9vYmFy"), (b"", b"A", b"z-")):
        accepted = 0
        for last in ALPHABET:
            text = prefix + head + bytes([last])
            expected = standard_decode(text)
            assert codec.decode(text) == expected, text
            accepted += expected is not None
        assert accepted == {b"": 0, b"A": 4, b"z-": 16}[head]


def test_every_foreign_byte_is_refused_at_every_position(codec: ModuleType) -> None:
    """Every byte outside the URL-safe alphabet (``+``, ``/``, ``=``, whitespace, NUL, every
    non-ASCII byte), in each of the four places of a group and in the partial tail."""
    valid = standard_encode(bytes(range(40))).encode()  # 54 characters: a 2-character tail
    for position in range(len(valid)):
        for byte in FOREIGN:
            text = valid[:position] + byte + valid[position + 1 :]
            assert codec.decode(text) is None, (position, byte)
            assert standard_decode(text) is None
    for byte in FOREIGN:
        for text in (valid + byte, byte, byte * 2, byte * 4, b"AA" + byte, b"AAA" + byte):
            assert codec.decode(text) == standard_decode(text), text


def test_padding_is_refused_where_the_standard_path_refuses_it(codec: ModuleType) -> None:
    for text in (b"QQ==", b"QUI=", b"QQ", b"QUI", b"QUJD", b"QQ=", b"=", b"===="):
        assert codec.decode(text) == standard_decode(text), text


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=64), st.data())
def test_mutated_texts_decode_as_the_standard_path_decodes(
    data: bytes, draw: st.DataObject
) -> None:
    text = bytearray(standard_encode(data).encode())
    for _ in range(draw.draw(st.integers(0, 3))):
        if not text:
            break
        text[draw.draw(st.integers(0, len(text) - 1))] = draw.draw(st.integers(0, 255))
    if draw.draw(st.booleans()):
        text += draw.draw(st.binary(max_size=3))
    for codec in CODECS.values():
        assert codec.decode(bytes(text)) == standard_decode(bytes(text))
        assert codec.decode_text(bytes(text)) == expected_text(bytes(text))


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=32).map(lambda b: bytes(c % 128 for c in b)))
def test_arbitrary_ascii_decodes_as_the_standard_path_decodes(text: bytes) -> None:
    for decode in (PYTHON.decode, b64codec.decode):
        assert decode(text) == standard_decode(text)


def test_decode_text_is_decode_then_strict_utf8(codec: ModuleType) -> None:
    """Valid and invalid UTF-8 (a lone surrogate's three bytes, an overlong form, a cut
    sequence, a byte that never starts one), behind valid and invalid base64url."""
    samples = [
        b"",
        b'["salt","name","value"]',
        "Heidestraße 17, Köln 😀".encode(),
        b"\xed\xa0\x80",  # UTF-8 of U+D800
        b"\xc0\xaf",  # overlong "/"
        "é".encode()[:1],
        bytes([0xFF]) + b"abc",
    ]
    for data in samples:
        text = standard_encode(data).encode()
        for candidate in (text, text + b"A", text[:-1] + b"=", b"!" + text[1:]):
            assert codec.decode_text(candidate) == expected_text(candidate), candidate


def test_a_disclosure_reads_the_same_through_either_decoder() -> None:
    """``b64url_decode_json_ascii`` gives text when the codec decodes it, else the bytes:
    ``loads`` reads the same value from both, and refuses bad UTF-8 with the same error."""
    value = '["s", "n", "Köln"]'
    good = standard_encode(value.encode()).encode()
    as_text = value if b64codec.COMPILED else value.encode()
    assert base64url.b64url_decode_json_ascii(good, 100) == as_text
    assert loads(base64url.b64url_decode_json_ascii(good, 100)) == ["s", "n", "Köln"]
    bad_utf8 = standard_encode(b'["s", "n", "\xff"]').encode()
    assert base64url.b64url_decode_json_ascii(bad_utf8, 100) == standard_decode(bad_utf8)
    with pytest.raises(MalformedError) as info:
        base64url.b64url_decode_json_ascii(b"QR", 100)
    assert info.value.code == "base64url_not_canonical"


def test_text_past_the_byte_limit_stays_bytes_so_the_limit_reads_the_same() -> None:
    """``loads`` counts the bytes of ``bytes`` and the characters of ``str``: 19 bytes of
    JSON are 18 characters here, so with a limit of 18 the text must stay bytes (and be
    refused as too large), as it is when the codec is not compiled."""
    value = '["s", "n", "Köln"]'.encode()
    encoded = standard_encode(value).encode()
    assert len(value) == 19
    assert base64url.b64url_decode_json_ascii(encoded, 18) == value
    with pytest.raises(MalformedError) as info:
        loads(base64url.b64url_decode_json_ascii(encoded, 18), max_bytes=18)
    assert info.value.code == "input_too_large"
    within = base64url.b64url_decode_json_ascii(encoded, 19)
    assert isinstance(within, str if b64codec.COMPILED else bytes)


def test_base64url_uses_the_codec_when_it_is_compiled() -> None:
    """And its errors are still the standard path's: the codec only says yes or no."""
    assert base64url._FAST is b64codec.COMPILED
    with pytest.raises(MalformedError) as info:
        base64url.b64url_decode("QR", what="JWS signature")
    assert info.value.code == "base64url_not_canonical"
    with pytest.raises(MalformedError, match="not unpadded base64url"):
        base64url.b64url_decode("QQ==")
    with pytest.raises(MalformedError, match="not valid base64url"):
        base64url.b64url_decode("QQ\x00A")
    assert base64url.b64url_encode(bytearray(b"\xfb\xff")) == "-_8"  # not bytes: standard path
    assert base64url.b64url_decode_ascii(b"-_8") == b"\xfb\xff"


def test_large_texts(codec: ModuleType) -> None:
    data = os.urandom(300_000)
    text = codec.encode(data)
    assert text == standard_encode(data)
    assert codec.decode(text.encode()) == data
    assert codec.decode(text.encode()[:-1] + b"=") is None


def test_the_compiled_codec_takes_only_bytes() -> None:
    """Its loops read ``bytes`` (base64url checks the class before it calls); the Python
    build reads anything indexable as bytes."""
    for name, codec in CODECS.items():
        decode: Callable[[object], object] = codec.decode
        if name == "compiled":
            with pytest.raises(TypeError):
                decode(bytearray(b"QQ"))
        else:
            assert decode(bytearray(b"QQ")) == b"A"
