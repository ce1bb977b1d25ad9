"""SHA-2 digests in base64url straight on libcrypto (verifier/protocol/jose/sha2_openssl.pyx)
against ``hashlib`` and the standard library's encoder, the path it stands in front of.

Both paths of :func:`~verifier.protocol.jose.base64url.digest_b64_function` and
:func:`~verifier.protocol.jose.base64url.hash_b64` give the same text for every input and
algorithm, and the disclosures of a presentation get the digests RFC 9901 §4.2.3 defines. In
CI the binding must be compiled (the gate tests what ships); without it the hashlib path's
tests still run, in tests/unit/test_native.py's Python run.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.abc
import json
import os
import sys
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier import native
from verifier.protocol.errors import AlgorithmError, MalformedError, SDJWTError
from verifier.protocol.jose import base64url
from verifier.protocol.sdjwt.disclosures import SUPPORTED_SD_ALGS, reconstruct

NAME = "verifier.protocol.jose.sha2_openssl"
HASHLIB = {"sha-256": hashlib.sha256, "sha-384": hashlib.sha384, "sha-512": hashlib.sha512}


def expected(alg: str, data: bytes) -> str:
    """base64url(H(data)), unpadded, by the standard library alone."""
    return base64.urlsafe_b64encode(HASHLIB[alg](data).digest()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def binding() -> Any:
    """The compiled binding's digests; a test that needs it fails in CI without it."""
    if NAME not in sys.modules:
        (state,) = (s for s in native.binding_states() if s.name == NAME)
        if os.environ.get("CI") == "true" and state.reason != f"{native.ENV_SWITCH}=0":
            pytest.fail(f"sha2_openssl does not run compiled: {state.reason} (libssl-dev?)")
        pytest.skip(f"sha2_openssl: {state.reason}")
    return sys.modules[NAME]


def test_the_binding_is_what_hashes(binding: Any) -> None:
    assert set(binding.DIGESTS) == set(SUPPORTED_SD_ALGS) == set(HASHLIB)
    for alg, digest in binding.DIGESTS.items():
        assert base64url.digest_b64_function(alg) == digest.b64url
        assert digest.size == HASHLIB[alg]().digest_size


@settings(max_examples=300, deadline=None)
@given(alg=st.sampled_from(sorted(HASHLIB)), data=st.binary(max_size=600))
def test_binding_matches_hashlib(binding: Any, alg: str, data: bytes) -> None:
    assert binding.DIGESTS[alg].b64url(data) == expected(alg, data)


def test_every_length_across_the_block_boundaries(binding: Any) -> None:
    """0-300 octets: SHA-256's 64-octet and SHA-384/512's 128-octet blocks and their padding."""
    for alg, digest in binding.DIGESTS.items():
        for size in range(301):
            data = bytes((size * 7 + i) & 0xFF for i in range(size))
            assert digest.b64url(data) == expected(alg, data), (alg, size)


def test_the_binding_refuses_what_it_cannot_hash(binding: Any) -> None:
    with pytest.raises(ValueError, match="unsupported hash algorithm"):
        binding.Digest("sha-1")
    with pytest.raises(TypeError):
        binding.DIGESTS["sha-256"].b64url("text")  # str is not hashed implicitly
    with pytest.raises(TypeError):
        binding.DIGESTS["sha-256"].b64url(None)


def test_threads_sharing_a_context_get_their_own_digests(binding: Any) -> None:
    """One context per algorithm serves every thread: each call is whole under the GIL."""
    digest = binding.DIGESTS["sha-256"]
    inputs = [os.urandom(40 + i) for i in range(64)]
    wrong: list[bytes] = []

    def work() -> None:
        for _ in range(200):
            for data in inputs:
                if digest.b64url(data) != expected("sha-256", data):
                    wrong.append(data)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


@settings(max_examples=200, deadline=None)
@given(alg=st.sampled_from(sorted(HASHLIB)), data=st.binary(max_size=400))
def test_the_hashlib_path_matches_the_standard_library(alg: str, data: bytes) -> None:
    """Without the binding (or as Python), the same functions give the same texts."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(base64url, "_OPENSSL_DIGESTS", {})
        assert base64url.digest_b64_function(alg)(data) == expected(alg, data)
        text = base64.urlsafe_b64encode(data).decode()
        assert base64url.hash_b64(text, alg) == expected(alg, text.encode())
    assert base64url.digest_b64_function(alg)(data) == expected(alg, data)
    assert base64url.hash_b64(text, alg) == expected(alg, text.encode())


@pytest.mark.parametrize("without_binding", [False, True])
def test_hash_b64_refuses_on_both_paths(
    monkeypatch: pytest.MonkeyPatch, without_binding: bool
) -> None:
    if without_binding:
        monkeypatch.setattr(base64url, "_OPENSSL_DIGESTS", {})
    with pytest.raises(MalformedError) as caught:
        base64url.hash_b64("caf\u00e9")
    assert caught.value.code == "malformed_base64url"
    with pytest.raises(AlgorithmError) as refused:
        base64url.hash_b64("abc", "sha-1")
    assert refused.value.code == "hash_alg_unsupported"
    with pytest.raises(AlgorithmError):
        base64url.digest_b64_function("md5")


def _disclosure(salt: str, name: str, value: Any) -> str:
    text = json.dumps([salt, name, value]).encode()
    return base64.urlsafe_b64encode(text).rstrip(b"=").decode()


@pytest.mark.parametrize("alg", sorted(HASHLIB))
@pytest.mark.parametrize("without_binding", [False, True])
def test_disclosures_are_matched_by_their_rfc_9901_digests(
    monkeypatch: pytest.MonkeyPatch, alg: str, without_binding: bool
) -> None:
    """A payload whose ``_sd`` holds the digests the standard library computes takes exactly
    its disclosures, on either path; a disclosure changed by one character matches nothing."""
    if without_binding:
        monkeypatch.setattr(base64url, "_OPENSSL_DIGESTS", {})
    sent = [_disclosure(f"salt{i}", f"claim{i}", i * 10) for i in range(6)]
    payload = {"_sd_alg": alg, "_sd": sorted(expected(alg, d.encode()) for d in sent)}
    rebuilt = reconstruct(payload, sent)
    assert rebuilt.claims == {f"claim{i}": i * 10 for i in range(6)}
    assert [d.encoded for d in rebuilt.disclosures] == sent
    changed = [*sent[:-1], _disclosure("salt5", "claim5", 51)]
    payload = {"_sd_alg": alg, "_sd": sorted(expected(alg, d.encode()) for d in sent)}
    with pytest.raises(SDJWTError) as refused:
        reconstruct(payload, changed)
    assert refused.value.code == "unreferenced_disclosure"


class _RaisingFinder(importlib.abc.MetaPathFinder):
    """Finds the binding and fails its import as a libcrypto without a digest would."""

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname == NAME:
            raise RuntimeError("OpenSSL has no usable sha-384")


def test_a_binding_whose_import_raises_leaves_hashlib_hashing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A binding that is current but cannot fetch its digests (RuntimeError at its import)
    must not stop the verifier from importing: base64url hashes through hashlib instead."""
    monkeypatch.delitem(sys.modules, NAME, raising=False)
    monkeypatch.setattr(sys, "meta_path", [_RaisingFinder(), *sys.meta_path])
    module = native.load_as_python("verifier.protocol.jose.base64url")
    assert module._OPENSSL_DIGESTS == {}
    assert module.hash_b64("abc") == expected("sha-256", b"abc")
    assert module.digest_b64_function("sha-512")(b"abc") == expected("sha-512", b"abc")
