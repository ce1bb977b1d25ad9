"""The signing input hashed once: ES signatures verified from a digest, and the issuer JWT's hash
continued into the KB-JWT's ``sd_hash``.

``PublicKey.verify`` hashes an ES256/384/512 signing input with hashlib and hands OpenSSL the
digest; ``verify_presentation`` does that itself for the issuer JWT and, when ``_sd_alg`` is the
signature's own hash, continues the same hash over the rest of the presented SD-JWT for
``sd_hash``. These tests hold both to what they replace: the plain verification and a hash of the
whole text.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.protocol import KeyBindingError, MalformedError, SigningKey
from verifier.protocol.jose import b64url_encode, hash_b64, parse_unverified_jws
from verifier.protocol.jose.base64url import continued_hash_b64, hash_object
from verifier.protocol.jose.jwk import public_key_from_jwk, signing_hash
from verifier.protocol.sdjwt.kb_jwt import create_kb_jwt, verify_kb_jwt
from verifier.protocol.sdjwt.vc import StaticKeyResolver, VerificationPolicy, verify_presentation

NOW = 1_780_000_000
ISS = "https://issuer.signing-hash.example"
AUD = "x509_hash:signing-hash-verifier"
NONCE = "signing-hash-nonce-0123456789"
CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
SD_ALGS = ("sha-256", "sha-384", "sha-512")
POLICY = VerificationPolicy(issuer_algs=frozenset(CURVES))
HOLDER = SigningKey.generate()
ISSUERS = {alg: SigningKey.generate(crv=crv) for alg, crv in CURVES.items()}


def _b64json(value: object) -> str:
    return b64url_encode(json.dumps(value).encode())


def _issuer_jwt(signer: SigningKey, sd_alg: str, digests: list[str]) -> str:
    payload = {
        "iss": ISS,
        "vct": "https://signing-hash.example/vct/1",
        "iat": NOW - 60,
        "exp": NOW + 3600,
        "cnf": {"jwk": HOLDER.public_jwk},
        "_sd": digests,
        "_sd_alg": sd_alg,
    }
    return signer.sign_jws({"alg": signer.alg, "typ": "dc+sd-jwt"}, payload)


def _presentation(alg: str, sd_alg: str, *, disclosed: int = 2) -> tuple[str, str]:
    """(issuer JWT~disclosures~, the same with a KB-JWT over it)."""
    disclosures = [_b64json([f"salt-{i}", f"claim_{i}", i]) for i in range(disclosed)]
    digests = [hash_b64(d, sd_alg) for d in disclosures]
    presented = "~".join([_issuer_jwt(ISSUERS[alg], sd_alg, digests), *disclosures, ""])
    kb = create_kb_jwt(
        presented=presented, holder_key=HOLDER, audience=AUD, nonce=NONCE, iat=NOW, sd_alg=sd_alg
    )
    return presented, presented + kb


def _verify(presentation: str, alg: str) -> object:
    keys = StaticKeyResolver({ISS: [ISSUERS[alg].public_jwk]})
    return verify_presentation(
        presentation, keys=keys, audience=AUD, nonce=NONCE, now=NOW, policy=POLICY
    )


@pytest.mark.parametrize("alg", sorted(CURVES))
def test_verify_digest_agrees_with_verify(alg: str) -> None:
    signer = ISSUERS[alg]
    jws = parse_unverified_jws(signer.sign_jws({"alg": alg}, {"n": 1}))
    key = signer.public_key
    hashed = signing_hash(alg)
    hashed.update(jws.signing_input)
    digest = hashed.digest()
    assert key.verify(alg, jws.signing_input, jws.signature)
    assert key.verify_digest(alg, digest, jws.signature)
    # A digest of other bytes, of the wrong length, or on the wrong curve or key type: False.
    assert not key.verify(alg, jws.signing_input + b"x", jws.signature)
    assert not key.verify_digest(alg, bytes(len(digest)), jws.signature)
    assert not key.verify_digest(alg, digest[:-1], jws.signature)
    assert not key.verify_digest(alg, digest + b"\0", jws.signature)
    other = next(a for a in CURVES if a != alg)
    assert not key.verify_digest(other, digest, jws.signature)
    assert not key.verify(other, jws.signing_input, jws.signature)
    assert not key.verify_digest(alg, digest, jws.signature[:-1])
    okp = public_key_from_jwk(
        {"kty": "OKP", "crv": "Ed25519", "x": b64url_encode(bytes(range(32)))}
    )
    assert not okp.verify_digest(alg, digest, jws.signature)


def test_signing_hash_is_a_new_object_of_the_algs_own_hash() -> None:
    for alg, name in (("ES256", "sha256"), ("ES384", "sha384"), ("ES512", "sha512")):
        first, second = signing_hash(alg), signing_hash(alg)
        assert first is not second and first.name == name
        first.update(b"fed")
        assert second.digest() == hashlib.new(name).digest()
        assert signing_hash(alg).digest() == hashlib.new(name).digest()
    for alg in ("RS256", "PS256", "EdDSA", "Ed25519", "HS256", "none", "es256"):
        assert signing_hash(alg) is None


@given(st.text(alphabet=st.characters(max_codepoint=127)), st.data())
def test_continued_hash_is_the_hash_of_the_whole_text(text: str, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(text)))
    alg = data.draw(st.sampled_from(SD_ALGS))
    hashed = hash_object(alg).copy()
    hashed.update(text[:cut].encode("ascii"))
    assert continued_hash_b64(hashed, text[cut:]) == hash_b64(text, alg)


def test_continued_hash_refuses_what_hash_b64_refuses() -> None:
    for text in ("ä", "abc~é~"):
        with pytest.raises(MalformedError) as whole:
            hash_b64(text)
        with pytest.raises(MalformedError) as continued:
            continued_hash_b64(hash_object("sha-256").copy(), text)
        assert whole.value.code == continued.value.code == "malformed_base64url"


@pytest.mark.parametrize("alg", sorted(CURVES))
@pytest.mark.parametrize("sd_alg", SD_ALGS)
@pytest.mark.parametrize("disclosed", [0, 1, 3])
def test_every_signature_alg_with_every_sd_alg(alg: str, sd_alg: str, disclosed: int) -> None:
    presented, presentation = _presentation(alg, sd_alg, disclosed=disclosed)
    verified = _verify(presentation, alg)
    assert verified.key_binding.sd_hash == hash_b64(presented, sd_alg)  # type: ignore[attr-defined]
    assert verified.presented == presented  # type: ignore[attr-defined]


@pytest.mark.parametrize("alg", sorted(CURVES))
@pytest.mark.parametrize("sd_alg", SD_ALGS)
def test_sd_hash_covers_the_issuer_signature_and_every_disclosure(alg: str, sd_alg: str) -> None:
    """ECDSA signs the same JWT twice with two valid signatures: a KB-JWT made over the one must
    not pass with the other (the continued hash starts before the signature, not at the '~'),
    nor with a disclosure left out."""
    presented, presentation = _presentation(alg, sd_alg)
    kb = presentation[len(presented) :]
    issuer_jwt, *disclosures, _ = presented.split("~")
    head, body, _ = issuer_jwt.split(".")
    again = ISSUERS[alg].sign(f"{head}.{body}".encode())
    resigned = f"{head}.{body}.{b64url_encode(again)}"
    assert resigned != issuer_jwt
    assert _verify(
        "~".join([resigned, *disclosures, ""])
        + create_kb_jwt(
            presented="~".join([resigned, *disclosures, ""]),
            holder_key=HOLDER,
            audience=AUD,
            nonce=NONCE,
            iat=NOW,
            sd_alg=sd_alg,
        ),
        alg,
    )
    for bent in (
        "~".join([resigned, *disclosures, ""]) + kb,
        "~".join([issuer_jwt, disclosures[0], ""]) + kb,
    ):
        with pytest.raises(KeyBindingError) as refused:
            _verify(bent, alg)
        assert refused.value.code == "kb_sd_hash_mismatch"


def test_verify_kb_jwt_with_a_prefix_hash_matches_the_whole_hash() -> None:
    presented, presentation = _presentation("ES256", "sha-256")
    kb = presentation[len(presented) :]
    common = {
        "holder_key": HOLDER.public_key,
        "sd_alg": "sha-256",
        "audience": AUD,
        "nonce": NONCE,
        "now": NOW,
        "allowed_algs": {"ES256"},
        "max_age": 300,
        "leeway": 60,
    }
    whole = verify_kb_jwt(kb, presented=presented, **common)  # type: ignore[arg-type]
    for cut in (0, 1, presented.index("~"), len(presented)):
        hashed = hash_object("sha-256").copy()
        hashed.update(presented[:cut].encode("ascii"))
        assert (
            verify_kb_jwt(kb, presented=presented, presented_prefix=(hashed, cut), **common)
            == whole
        )  # type: ignore[arg-type]
    wrong = hash_object("sha-256").copy()
    wrong.update(b"not the start of the presented text")
    with pytest.raises(KeyBindingError) as refused:
        verify_kb_jwt(kb, presented=presented, presented_prefix=(wrong, 10), **common)  # type: ignore[arg-type]
    assert refused.value.code == "kb_sd_hash_mismatch"
