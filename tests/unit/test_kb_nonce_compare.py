"""The KB-JWT nonce comparison: constant-time, and the same answer as ``==`` for any two texts
(ASCII ones compared as text, others as UTF-8 with lone surrogates kept)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from verifier.protocol.sdjwt.kb_jwt import _same

TEXT = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)


@given(TEXT, TEXT)
def test_same_is_equality(a: str, b: str) -> None:
    assert _same(a, b) is (a == b)
    assert _same(a, a) is True


def test_ascii_and_non_ascii_texts() -> None:
    assert _same("nonce-0123", "nonce-0123")
    assert not _same("nonce-0123", "nonce-0124")
    assert not _same("nonce", "nonc\u00e9")
    assert _same("nonc\u00e9\ud800", "nonc\u00e9\ud800")
    assert not _same("\ud800", "\ud801")
