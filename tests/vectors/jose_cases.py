"""Crafted JOSE strictness vectors: canonical base64url in every segment, the JWE IV and tag
lengths, and the JWE protected header authenticated as received.

Three kinds of case, each naming its ``source`` and the exact error ``code`` (or a valid
result, as a control):

- ``jwe``: a compact JWE to the fixed ``jwe_recipient`` key, decrypted with ``decrypt_jwe``;
- ``jws``: a compact JWS by the fixed ``issuer`` key, split and verified;
- ``presentation``: an SD-JWT VC presentation (the ``Cred`` of :mod:`negative_cases`) with
  one of its JOSE texts spelled non-canonically, run through ``verify_presentation``.

"Non-canonical" means: the same bytes, another text - the last base64url character has the bits
it does not use for data set (RFC 4648 §3.5). A JWE IV of 96 bits is exactly 16 characters and
has no spare bits, so it has no non-canonical spelling; every other segment here does.
``generate.py negative`` writes them to ``jose/negative.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from negative_cases import AUD, HOLDER, ISSUER, NONCE, NOW, Case, Cred, case, key

from verifier.protocol.jose import b64url_decode, b64url_encode, hash_b64

RECIPIENT = key("jwe_recipient")
KID = "jwe-recipient-1"
PLAINTEXT = {"vp_token": {"person": ["eyJ...~"]}, "state": "vector-state-1"}
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def noncanonical(segment: str) -> str:
    """The same bytes spelled with the spare bits of the last character set."""
    spare = {2: 0x0F, 3: 0x03}[len(segment) % 4]
    value = _ALPHABET.index(segment[-1])
    assert value & spare == 0, "already non-canonical"
    return segment[:-1] + _ALPHABET[value | spare]


def _aligned(data: bytes) -> bytes:
    """``data`` padded with a space if needed so that its base64url text has spare bits (a
    length that is not a multiple of 3 bytes)."""
    return data + b" " if len(data) % 3 == 0 else data


def _b64json(value: Any) -> str:
    return b64url_encode(_aligned(json.dumps(value, separators=(",", ":")).encode()))


def _kdf(shared: bytes, enc: str, apu: bytes, apv: bytes) -> bytes:
    size = 32 if enc == "A256GCM" else 16
    info = b"".join(len(f).to_bytes(4, "big") + f for f in (enc.encode(), apu, apv))
    info += (size * 8).to_bytes(4, "big")
    return hashlib.sha256(b"\x00\x00\x00\x01" + shared + info).digest()[:size]


def jwe(
    *,
    enc: str = "A128GCM",
    iv_bytes: int = 12,
    tag_bytes: int = 16,
    apu: bytes = b"",
    apv: bytes = b"",
    header_text: Callable[[str], str] | None = None,
    aad_text: Callable[[str, str], str] | None = None,
    respell: tuple[int, ...] = (),
) -> str:
    """A compact ECDH-ES JWE to ``RECIPIENT``. ``header_text(canonical)`` is the protected
    segment sent, ``aad_text(sent, canonical)`` the text authenticated (default: the segment
    sent); ``respell`` names segments (3 ciphertext, 4 tag) sent non-canonically."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    numbers = ephemeral.public_key().public_numbers()
    epk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.y.to_bytes(32, "big")),
    }
    header: dict[str, Any] = {"alg": "ECDH-ES", "enc": enc, "kid": KID, "epk": epk}
    if apu:
        header["apu"] = b64url_encode(apu)
    if apv:
        header["apv"] = b64url_encode(apv)
    canonical = _b64json(header)
    sent = canonical if header_text is None else header_text(canonical)
    aad = sent if aad_text is None else aad_text(sent, canonical)
    shared = ephemeral.exchange(ec.ECDH(), RECIPIENT.private_key.public_key())
    iv = os.urandom(iv_bytes)
    encryptor = Cipher(algorithms.AES(_kdf(shared, enc, apu, apv)), modes.GCM(iv)).encryptor()
    encryptor.authenticate_additional_data(aad.encode("ascii"))
    body = _aligned(json.dumps(PLAINTEXT).encode())
    ciphertext = encryptor.update(body) + encryptor.finalize()
    parts = [sent, "", b64url_encode(iv), b64url_encode(ciphertext)]
    parts.append(b64url_encode(encryptor.tag[:tag_bytes]))
    for index in respell:
        parts[index] = noncanonical(parts[index])
    return ".".join(parts)


def _with_epk_x_respelled(text: str) -> str:
    header = json.loads(b64url_decode(text))
    header["epk"]["x"] = noncanonical(header["epk"]["x"])
    return _b64json(header)


def _respell_member(text: str, name: str) -> str:
    header = json.loads(b64url_decode(text))
    header[name] = noncanonical(header[name])
    return _b64json(header)


def _jwe_case(name: str, source: str, token: str, code: str | None, reason: str = "") -> Case:
    expected: dict[str, Any] = {"plaintext": PLAINTEXT} if code is None else {"error": code}
    if reason:
        expected["reason"] = reason
    return {
        "name": name,
        "source": source,
        "input": {
            "kind": "jwe",
            "token": token,
            "key": "jwe_recipient",
            "expected_kid": KID,
            "allowed_enc": ["A128GCM", "A256GCM"],
        },
        "expected": expected,
    }


def jwe_cases() -> list[Case]:
    s53, s52 = "RFC 7518 §5.3", "RFC 7516 §5.2 step 14"
    nc = "RFC 4648 §3.5 (canonical encoding); RFC 7516 §5.2 step 2"
    return [
        _jwe_case("jwe_control_a128gcm", "RFC 7518 §4.6, §5.3", jwe(), None),
        _jwe_case(
            "jwe_control_a256gcm_apu_apv",
            "RFC 7518 §4.6.2 (PartyUInfo/PartyVInfo from apu/apv)",
            jwe(enc="A256GCM", apu=b"wallet-nonce-1", apv=b"verifier-nonce-1"),
            None,
        ),
        _jwe_case("jwe_iv_64_bits", s53, jwe(iv_bytes=8), "jwe_iv_invalid", "64 bits"),
        _jwe_case("jwe_iv_128_bits", s53, jwe(iv_bytes=16), "jwe_iv_invalid", "128 bits"),
        _jwe_case("jwe_tag_96_bits", s53, jwe(tag_bytes=12), "jwe_tag_invalid", "96 bits"),
        _jwe_case("jwe_tag_64_bits", s53, jwe(tag_bytes=8), "jwe_tag_invalid", "64 bits"),
        _jwe_case(
            "jwe_header_respelled_aad_canonical",
            f"{s52}; {nc} (the classic re-encoding: a header changed after encryption)",
            jwe(header_text=noncanonical, aad_text=lambda sent, canonical: canonical),
            "base64url_not_canonical",
            "JWE header",
        ),
        _jwe_case(
            "jwe_header_respelled_aad_as_received",
            f"{s52}; {nc}",
            jwe(header_text=noncanonical),
            "base64url_not_canonical",
            "JWE header",
        ),
        _jwe_case(
            "jwe_ciphertext_not_canonical",
            nc,
            jwe(respell=(3,)),
            "base64url_not_canonical",
            "ciphertext",
        ),
        _jwe_case(
            "jwe_tag_not_canonical",
            nc,
            jwe(respell=(4,)),
            "base64url_not_canonical",
            "authentication tag",
        ),
        _jwe_case(
            "jwe_apu_not_canonical",
            f"{nc}; RFC 7518 §4.6.1.2",
            jwe(apu=b"wallet-nonce-1", header_text=lambda c: _respell_member(c, "apu")),
            "base64url_not_canonical",
            "JWE apu",
        ),
        _jwe_case(
            "jwe_epk_x_not_canonical",
            f"{nc}; RFC 7518 §6.2.1.2",
            jwe(header_text=_with_epk_x_respelled),
            "base64url_not_canonical",
            "JWK x",
        ),
    ]


# --------------------------------------------------------------------------------------------
# JWS


def _signed(head: str, body: str) -> str:
    return f"{head}.{body}.{b64url_encode(ISSUER.sign(f'{head}.{body}'.encode()))}"


def _jws_case(name: str, source: str, token: str, code: str | None, reason: str = "") -> Case:
    expected: dict[str, Any] = {"valid": True} if code is None else {"error": code}
    if reason:
        expected["reason"] = reason
    return {
        "name": name,
        "source": source,
        "input": {"kind": "jws", "token": token, "key": "issuer", "allowed_algs": ["ES256"]},
        "expected": expected,
    }


def jws_cases() -> list[Case]:
    head = _b64json({"alg": "ES256", "typ": "JWT", "kid": "issuer-1"})
    body = _b64json({"iss": "https://issuer.vectors.example", "n": 1})
    good = _signed(head, body)
    nc = "RFC 4648 §3.5 (canonical encoding); RFC 7515 §5.2 step 1"
    respelled_sig = good.rsplit(".", 1)[0] + "." + noncanonical(good.rsplit(".", 1)[1])
    return [
        _jws_case("jws_control", "RFC 7515 §5.2", good, None),
        _jws_case(
            "jws_signature_respelled",
            f"{nc} (the same signature bytes under another text: malleable token text)",
            respelled_sig,
            "base64url_not_canonical",
            "not canonical",
        ),
        _jws_case(
            "jws_header_not_canonical_signed",
            f"{nc} (a signer that spells its header non-canonically)",
            _signed(noncanonical(head), body),
            "base64url_not_canonical",
            "header",
        ),
        _jws_case(
            "jws_payload_not_canonical_signed",
            nc,
            _signed(head, noncanonical(body)),
            "base64url_not_canonical",
            "not canonical",
        ),
    ]


# --------------------------------------------------------------------------------------------
# SD-JWT VC presentations


def _respell_jws_part(token: str, index: int) -> str:
    parts = token.split(".")
    parts[index] = noncanonical(parts[index])
    return ".".join(parts)


def _kb_over(presented: str, *, head: bool = False, body: bool = False) -> str:
    header = {"typ": "kb+jwt", "alg": "ES256"}
    payload = {"iat": NOW - 5, "aud": AUD, "nonce": NONCE, "sd_hash": hash_b64(presented)}
    head_b64, body_b64 = _b64json(header), _b64json(payload)
    head_b64 = noncanonical(head_b64) if head else head_b64
    body_b64 = noncanonical(body_b64) if body else body_b64
    signing_input = f"{head_b64}.{body_b64}"
    return f"{signing_input}.{b64url_encode(HOLDER.sign(signing_input.encode()))}"


def _issuer_signature_respelled() -> str:
    cred = Cred()
    jwt = _respell_jws_part(cred.issuer_jwt(), 2)
    presented = jwt + "~" + "".join(d + "~" for d in cred.disclosures)
    return presented + _kb_over(presented)  # the holder binds the respelled text


def _kb_signature_respelled() -> str:
    presented = Cred().presented()
    return presented + _respell_jws_part(_kb_over(presented), 2)


def _kb_spelled(*, head: bool = False, body: bool = False) -> str:
    presented = Cred().presented()
    return presented + _kb_over(presented, head=head, body=body)


def _disclosure_not_canonical() -> str:
    cred = Cred()
    text = noncanonical(_b64json(["salt-nick-00001", "nickname", "Eri"]))
    cred.payload["_sd"] = sorted([*cred.payload["_sd"], hash_b64(text)])
    cred.disclosures.append(text)
    return cred.present()


def _holder_key_not_canonical() -> str:
    cred = Cred()
    cred.payload["cnf"] = {"jwk": {**HOLDER.public_jwk, "x": noncanonical(HOLDER.public_jwk["x"])}}
    return cred.present()


def presentation_cases() -> list[Case]:
    nc = "RFC 4648 §3.5 (canonical encoding)"
    code = "base64url_not_canonical"
    rows = [
        ("sdjwt_issuer_signature_respelled", f"{nc}; RFC 9901 §7.1", _issuer_signature_respelled),
        ("kb_jwt_signature_respelled", f"{nc}; RFC 9901 §7.3", _kb_signature_respelled),
        ("kb_jwt_header_not_canonical", f"{nc}; RFC 9901 §7.3", lambda: _kb_spelled(head=True)),
        ("kb_jwt_payload_not_canonical", f"{nc}; RFC 9901 §7.3", lambda: _kb_spelled(body=True)),
        ("disclosure_not_canonical", f"{nc}; RFC 9901 §7.1 step 3", _disclosure_not_canonical),
    ]
    cases = [case(name, source, build(), code) for name, source, build in rows]
    cases.append(  # the holder key is unusable: cnf_invalid, naming the encoding
        case(
            "cnf_jwk_coordinate_not_canonical",
            f"{nc}; RFC 7518 §6.2.1.2; RFC 7800 §3.2 (cnf.jwk)",
            _holder_key_not_canonical(),
            "cnf_invalid",
        )
    )
    for item in cases:
        item["input"]["kind"] = "presentation"
        item["expected"]["reason"] = "not canonical"
    control = case("presentation_control", "RFC 9901 §7", Cred().present(), "unused")
    control["input"]["kind"] = "presentation"
    control["expected"] = {"valid": True}
    return [control, *cases]


def jose_cases() -> list[Case]:
    return [*jwe_cases(), *jws_cases(), *presentation_cases()]
