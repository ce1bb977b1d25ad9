"""JOSE strictness in-process: canonical base64url (RFC 4648 §3.5) and the one JWE profile we
decrypt (ECDH-ES direct + AES-GCM, RFC 7518 §4.6/§5.3) - checked against jwcrypto, an
independent implementation, in both directions. The crafted negative cases are data:
``tests/vectors/jose/negative.json``."""

from __future__ import annotations

import base64
import itertools
import json

import pytest
from jwcrypto import jwe as jwcrypto_jwe
from jwcrypto import jwk as jwcrypto_jwk

from verifier.protocol import AgentVPError, MalformedError, SigningKey
from verifier.protocol.jose import b64url_decode, b64url_encode, decrypt_jwe, encrypt_jwe

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
RECIPIENT = SigningKey.generate(kid="enc-1")
PLAINTEXT = b'{"vp_token":{"q":["x~"]},"state":"s"}'


def test_base64url_decode_accepts_exactly_the_canonical_texts() -> None:
    """Whatever comes before it, a final character holding 4 (or 2) spare bits is accepted
    only with those bits zero - 4 of 64 characters (16 of 64) - and then re-encodes to the
    same text; every other spelling is refused as such. A lone final character spells
    nothing."""
    for prefix, head in itertools.product(("", "AAAA", "Zm9vYmFy"), ("", "A", "z-")):
        accepted = 0
        for last in ALPHABET:
            text = prefix + head + last
            try:
                data = b64url_decode(text)
            except MalformedError as exc:
                expected = "malformed_base64url" if not head else "base64url_not_canonical"
                assert exc.code == expected, text
                continue
            assert b64url_encode(data) == text
            accepted += 1
        assert accepted == {"": 0, "A": 4, "z-": 16}[head], (prefix, head)


def test_base64url_decode_refuses_every_foreign_byte_anywhere_in_long_texts() -> None:
    """The SIMD decoder works on blocks of 16-64 characters: a byte outside the URL-safe
    alphabet - "+", "/", "=", whitespace, NUL, any other ASCII or non-ASCII character - is
    refused wherever it sits in a long text, in a block or in the tail."""
    valid = b64url_encode(bytes(range(256)) * 2)  # 683 characters
    foreign = [chr(c) for c in range(128) if chr(c) not in ALPHABET] + ["\u00e9", "\u2028"]
    for position in (0, 1, 31, 32, 63, 64, 100, 511, len(valid) - 2, len(valid) - 1):
        for char in foreign:
            for text in (valid[:position] + char + valid[position + 1 :], valid + char):
                with pytest.raises(MalformedError) as info:
                    b64url_decode(text)
                assert info.value.code == "malformed_base64url", (position, char)


def test_base64url_decode_matches_the_stdlib_on_canonical_texts() -> None:
    """Every length 0-300 (and its padded spelling refused): the same bytes as the stdlib."""
    for size in range(301):
        data = bytes((7 * i + size) % 256 for i in range(size))
        text = b64url_encode(data)
        assert b64url_decode(text) == base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        assert b64url_decode(text) == data
        if len(text) % 4:
            with pytest.raises(MalformedError, match="not unpadded base64url"):
                b64url_decode(text + "=" * (-len(text) % 4))


def test_non_canonical_text_names_the_segment() -> None:
    with pytest.raises(MalformedError, match="JWS signature is not canonical") as info:
        b64url_decode("QR", what="JWS signature")
    assert info.value.code == "base64url_not_canonical"


@pytest.mark.parametrize("enc", ["A128GCM", "A256GCM"])
def test_our_jwe_decrypts_with_jwcrypto(enc: str) -> None:
    token = encrypt_jwe(PLAINTEXT, RECIPIENT.public_jwk, enc=enc, apu=b"u" * 5, apv=b"v" * 7)
    envelope = jwcrypto_jwe.JWE()
    envelope.deserialize(token, key=jwcrypto_jwk.JWK(**RECIPIENT.to_jwk()))
    assert envelope.payload == PLAINTEXT
    header = json.loads(b64url_decode(token.split(".")[0]))
    assert header["kid"] == "enc-1" and header["apu"] == b64url_encode(b"u" * 5)
    assert len(b64url_decode(token.split(".")[2])) == 12  # 96-bit IV
    assert len(b64url_decode(token.split(".")[4])) == 16  # 128-bit tag


@pytest.mark.parametrize("enc", ["A128GCM", "A256GCM"])
@pytest.mark.parametrize("party_info", [{}, {"apu": "d2FsbGV0", "apv": "dmVyaWZpZXI"}])
def test_jwcrypto_jwe_decrypts_with_ours(enc: str, party_info: dict[str, str]) -> None:
    """apu/apv enter the Concat KDF as PartyUInfo/PartyVInfo (RFC 7518 §4.6.2): a wallet
    that sends them is understood without a second JOSE library."""
    protected = {"alg": "ECDH-ES", "enc": enc, "kid": "enc-1", **party_info}
    envelope = jwcrypto_jwe.JWE(PLAINTEXT, protected=json.dumps(protected))
    envelope.add_recipient(jwcrypto_jwk.JWK(**RECIPIENT.public_jwk))
    token = envelope.serialize(compact=True)
    header, plaintext = decrypt_jwe(
        token, RECIPIENT.to_jwk(), expected_kid="enc-1", allowed_enc={enc}
    )
    assert plaintext == PLAINTEXT and header.get("apu") == party_info.get("apu")


def test_apu_that_differs_from_the_one_encrypted_with_fails_the_tag() -> None:
    token = encrypt_jwe(PLAINTEXT, RECIPIENT.public_jwk, enc="A128GCM", apu=b"wallet")
    head = json.loads(b64url_decode(token.split(".")[0]))
    head["apu"] = b64url_encode(b"walley")
    forged = ".".join([b64url_encode(json.dumps(head).encode()), *token.split(".")[1:]])
    with pytest.raises(AgentVPError) as info:
        decrypt_jwe(forged, RECIPIENT.to_jwk(), expected_kid="enc-1", allowed_enc={"A128GCM"})
    assert info.value.code == "jwe_decryption_failed"


@pytest.mark.parametrize(
    ("apu", "code"),
    [(5, "malformed_jwe"), ("QR", "base64url_not_canonical"), ("A" * 700, "malformed_jwe")],
)
def test_apu_must_be_short_canonical_base64url(apu: object, code: str) -> None:
    token = encrypt_jwe(PLAINTEXT, RECIPIENT.public_jwk, enc="A128GCM")
    head = {**json.loads(b64url_decode(token.split(".")[0])), "apu": apu}
    forged = ".".join([b64url_encode(json.dumps(head).encode()), *token.split(".")[1:]])
    with pytest.raises(AgentVPError) as info:
        decrypt_jwe(forged, RECIPIENT.to_jwk(), expected_kid="enc-1", allowed_enc={"A128GCM"})
    assert info.value.code == code


def test_an_empty_plaintext_is_returned_as_such() -> None:
    token = encrypt_jwe(b"", RECIPIENT.public_jwk, enc="A128GCM")
    assert decrypt_jwe(token, RECIPIENT.to_jwk(), expected_kid=None, allowed_enc={"A128GCM"}) == (
        json.loads(b64url_decode(token.split(".")[0])),
        b"",
    )


@pytest.mark.parametrize(
    "recipient",
    [
        SigningKey.generate(crv="P-384").public_jwk,
        {"kty": "OKP", "crv": "X25519", "x": b64url_encode(bytes(32))},
        {"kty": "EC", "crv": "P-256"},
    ],
)
def test_only_p256_recipients(recipient: dict[str, str]) -> None:
    with pytest.raises(MalformedError):
        encrypt_jwe(PLAINTEXT, recipient, enc="A128GCM")


def test_decryption_key_must_be_p256() -> None:
    token = encrypt_jwe(PLAINTEXT, RECIPIENT.public_jwk, enc="A128GCM")
    other = SigningKey.generate(crv="P-384").to_jwk()
    with pytest.raises(MalformedError) as info:
        decrypt_jwe(token, other, expected_kid=None, allowed_enc={"A128GCM"})
    assert info.value.code == "malformed_jwk"
