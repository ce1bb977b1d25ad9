import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from verifier.protocol import AlgorithmError, MalformedError, SignatureError, SigningKey
from verifier.protocol.jose import (
    b64url_decode,
    b64url_encode,
    decrypt_jwe,
    encrypt_jwe,
    hash_b64,
    jwk_thumbprint,
    new_decryption_jwk,
    parse_unverified_jws,
    public_key_from_jwk,
    verify_jws,
)
from verifier.protocol.jose import jwe as jwe_module

RFC9901_HOLDER = {
    "kty": "EC",
    "crv": "P-256",
    "x": "TCAER19Zvu3OHF4j4W4vfSVoHIP1ILilDls7vCeGemc",
    "y": "ZxjiWWbZMQGHVWKVQ4hbSIirsVfuecCE6t4jT9F2HZQ",
}


def test_rfc7638_thumbprint_of_the_rfc9901_holder_key() -> None:
    # digest §6: verified vector.
    assert jwk_thumbprint(RFC9901_HOLDER) == "aISfTcr9M_Zd09AXGAAeFxnLbFY6lBa87UN515wm5d4"


@given(st.text(max_size=60), st.text(max_size=60), st.sampled_from(["EC", "OKP"]))
def test_thumbprint_hashes_the_standard_librarys_json(x: str, y: str, kty: str) -> None:
    # Any string members (escapes, non-ASCII, surrogates): the hash input is exactly
    # json.dumps(members, separators=(",", ":")) in RFC 7638's member order.
    jwk = {"kty": kty, "crv": "P-256" if kty == "EC" else "Ed25519", "x": x, "y": y, "d": "z"}
    members = ["crv", "kty", "x", "y"] if kty == "EC" else ["crv", "kty", "x"]
    text = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"))
    assert jwk_thumbprint(jwk) == hash_b64(text)


def test_rfc9901_disclosure_digest_vector() -> None:
    disclosure = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
    assert hash_b64(disclosure) == "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"


@given(st.binary(max_size=200))
def test_b64url_roundtrip(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64url_decode(text) == data


@pytest.mark.parametrize("text", ["a+b", "ab/c", "YQ==", "a b", "a\nb", "é", "a"])
def test_b64url_is_strict(text: str) -> None:
    with pytest.raises(MalformedError):
        b64url_decode(text)


def test_sign_and_verify_es256() -> None:
    key = SigningKey.generate(kid="k1")
    token = key.sign_jws({"typ": "JWT"}, {"a": 1})
    jws = parse_unverified_jws(token)
    assert jws.header == {"alg": "ES256", "typ": "JWT", "kid": "k1"}
    verify_jws(jws, key.public_key, allowed_algs={"ES256"})
    with pytest.raises(SignatureError):
        verify_jws(jws, SigningKey.generate().public_key, allowed_algs={"ES256"})


@pytest.mark.parametrize("alg", ["none", "HS256", "HS384", "HS512"])
def test_forbidden_algs_refused_even_if_allowed(alg: str) -> None:
    key = SigningKey.generate()
    head = b64url_encode(json.dumps({"alg": alg}).encode())
    jws = parse_unverified_jws(f"{head}.{b64url_encode(b'{}')}.")
    with pytest.raises(AlgorithmError):
        verify_jws(jws, key.public_key, allowed_algs={alg, "ES256"})


def test_signature_on_wrong_curve_is_invalid() -> None:
    p384 = SigningKey.generate(crv="P-384")
    token = p384.sign_jws({}, {"a": 1})
    jws = parse_unverified_jws(token)
    assert not SigningKey.generate().public_key.verify("ES384", jws.signing_input, jws.signature)
    assert not p384.public_key.verify("ES256", jws.signing_input, jws.signature)


def test_crit_header_refused() -> None:
    key = SigningKey.generate()
    with pytest.raises(MalformedError):
        parse_unverified_jws(key.sign_jws({"crit": ["exp"]}, {}))


def test_point_not_on_curve_refused() -> None:
    bad = dict(RFC9901_HOLDER, y=RFC9901_HOLDER["x"])
    with pytest.raises(MalformedError):
        public_key_from_jwk(bad)


def test_private_key_roundtrip() -> None:
    key = SigningKey.generate(kid="x")
    again = SigningKey.from_jwk(key.to_jwk())
    assert again.public_jwk == key.public_jwk and again.kid == "x"


def test_jwe_roundtrip_and_header_checks() -> None:
    recipient = SigningKey.generate(kid="eph-1")
    public = {**recipient.public_jwk, "alg": "ECDH-ES", "use": "enc"}
    token = encrypt_jwe(b'{"vp_token": {}}', public, enc="A256GCM")
    header, plaintext = decrypt_jwe(
        token, recipient.to_jwk(), expected_kid="eph-1", allowed_enc={"A128GCM", "A256GCM"}
    )
    assert plaintext == b'{"vp_token": {}}' and header["kid"] == "eph-1"
    with pytest.raises(MalformedError):
        decrypt_jwe(token, recipient.to_jwk(), expected_kid="other", allowed_enc={"A256GCM"})
    with pytest.raises(AlgorithmError):
        decrypt_jwe(token, recipient.to_jwk(), expected_kid="eph-1", allowed_enc={"A128GCM"})
    other = SigningKey.generate(kid="eph-1")
    with pytest.raises(SignatureError):
        decrypt_jwe(token, other.to_jwk(), expected_kid="eph-1", allowed_enc={"A256GCM"})


def _encrypted_to(jwk: dict[str, object], plaintext: bytes) -> str:
    public = {k: v for k, v in jwk.items() if k != "d"}
    return encrypt_jwe(plaintext, public, enc="A128GCM")


def test_a_new_decryption_jwk_decrypts_from_memory_once_then_from_its_text() -> None:
    jwk = new_decryption_jwk("enc-1")
    assert list(jwk) == ["kty", "crv", "x", "y", "kid", "d"]
    assert SigningKey.from_jwk(jwk).public_jwk == {k: v for k, v in jwk.items() if k != "d"}
    kept = (jwk["x"], jwk["y"], jwk["d"])
    assert kept in jwe_module._fresh
    token = _encrypted_to(jwk, b'{"state": "s"}')
    for _ in range(2):  # the kept key, then (taken out) the key loaded from the JWK
        header, plaintext = decrypt_jwe(token, jwk, expected_kid="enc-1", allowed_enc={"A128GCM"})
        assert plaintext == b'{"state": "s"}' and header["kid"] == "enc-1"
        assert kept not in jwe_module._fresh


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"d": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"}, "not a valid key"),
        ({"kty": "OKP"}, "not an EC P-256 key"),
        ({"crv": "P-384"}, "not an EC P-256 key"),
        ({"d": ["not", "a", "string"]}, "d"),
    ],
)
def test_a_jwk_that_is_not_exactly_a_kept_key_is_checked_as_ever(
    change: dict[str, object], reason: str
) -> None:
    jwk = new_decryption_jwk("enc-2")
    token = _encrypted_to(jwk, b"{}")
    with pytest.raises(MalformedError, match=reason) as caught:
        decrypt_jwe(token, {**jwk, **change}, expected_kid="enc-2", allowed_enc={"A128GCM"})
    assert caught.value.code == "malformed_jwk"
    header, _ = decrypt_jwe(token, jwk, expected_kid="enc-2", allowed_enc={"A128GCM"})
    assert header["kid"] == "enc-2"


def test_the_kept_decryption_keys_are_bounded() -> None:
    first = new_decryption_jwk("enc-first")
    for i in range(jwe_module._FRESH_KEYS):
        new_decryption_jwk(f"enc-{i}")
    assert len(jwe_module._fresh) == jwe_module._FRESH_KEYS
    assert (first["x"], first["y"], first["d"]) not in jwe_module._fresh
    token = _encrypted_to(first, b"{}")  # dropped from memory: loaded from its JWK instead
    assert decrypt_jwe(token, first, expected_kid="enc-first", allowed_enc={"A128GCM"})[1] == b"{}"
