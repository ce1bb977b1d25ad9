"""``der_signature`` builds exactly what ``cryptography``'s ``encode_dss_signature`` does."""

from __future__ import annotations

import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from verifier.protocol.jose.jwk import EC_CURVES, der_signature

SIZES = sorted({size for _, size, _ in EC_CURVES.values()})


def _edge_values(size: int) -> list[bytes]:
    top = 8 * size
    ints = [0, 1, 0x7F, 0x80, 0xFF, 0x100, 2 ** (top - 1) - 1, 2 ** (top - 1), 2**top - 1]
    ints += [2**k for k in range(0, top, 7)] + [2**k - 1 for k in range(1, top + 1, 9)]
    return [i.to_bytes(size, "big") for i in ints]


@pytest.mark.parametrize("size", SIZES)
def test_edge_values_match_encode_dss_signature(size: int) -> None:
    for r in _edge_values(size):
        for s in _edge_values(size):
            expected = encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))
            assert der_signature(r + s, size) == expected, (r.hex(), s.hex())


@pytest.mark.parametrize("size", SIZES)
def test_random_values_match_encode_dss_signature(size: int) -> None:
    for _ in range(2000):
        # half the time a random count of leading zero octets (the general path), half the
        # time none (the fixed-length path, unless a random first octet happens to be zero)
        zeros = secrets.randbelow(size + 1) if secrets.randbelow(2) else 0
        r = bytes(zeros) + secrets.token_bytes(size - zeros)
        s = secrets.token_bytes(size)
        expected = encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))
        assert der_signature(r + s, size) == expected
        assert der_signature(s + r, size) == encode_dss_signature(
            int.from_bytes(s, "big"), int.from_bytes(r, "big")
        )
