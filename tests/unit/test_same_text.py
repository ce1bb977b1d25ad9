"""The constant-time claim comparison (KB-JWT and ID token nonces, delegation hashes): the same
answer as ``==`` for any two texts (ASCII ones compared as text, others as UTF-8 with lone
surrogates kept)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from verifier.protocol.jose.jws import same_text

TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)


@given(TEXT, TEXT)
def test_same_is_equality(a: str, b: str) -> None:
    assert same_text(a, b) is (a == b)
    assert same_text(a, a) is True


def test_ascii_and_non_ascii_texts() -> None:
    assert same_text("nonce-0123", "nonce-0123")
    assert not same_text("nonce-0123", "nonce-0124")
    assert not same_text("nonce", "nonc\u00e9")
    assert same_text("nonc\u00e9\ud800", "nonc\u00e9\ud800")
    assert not same_text("\ud800", "\ud801")
