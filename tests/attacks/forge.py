"""Forging primitives for the attack corpus: raw JWS (any header, any payload bytes, ``none``
and HS256), SD-JWT disclosures and issuer-signed payloads built by hand, KB-JWTs with any
claims, and ECDH-ES JWEs with any protected header.

Everything here is deliberately lower level than :mod:`wallet_sim` (which only ever produces
well-formed input): a case takes an honest artefact from the simulator and changes exactly the
one thing it attacks. Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from verifier.protocol import SigningKey, transaction_data_hash
from verifier.protocol.jose import b64url_decode, b64url_encode, hash_b64

__all__ = [
    "aligned_json",
    "b64",
    "compact",
    "decode_part",
    "disclosure",
    "hs256",
    "jwe",
    "kb_jwt",
    "respell",
    "signed",
    "split_presentation",
    "unsigned",
]

Json = Mapping[str, Any] | bytes


def b64(data: bytes | str) -> str:
    return b64url_encode(data.encode() if isinstance(data, str) else data)


def _bytes(value: Json) -> bytes:
    if isinstance(value, bytes):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def decode_part(token: str, index: int) -> dict[str, Any]:
    """Header (0) or payload (1) of a compact JWS, as JSON."""
    value: dict[str, Any] = json.loads(b64url_decode(token.split(".")[index]))
    return value


def compact(header: Json, payload: Json, signature: bytes = b"") -> str:
    return f"{b64(_bytes(header))}.{b64(_bytes(payload))}.{b64(signature)}"


def signed(key: SigningKey, header: Json, payload: Json) -> str:
    """A JWS over the exact header and payload bytes given (``alg`` is whatever they say)."""
    signing_input = f"{b64(_bytes(header))}.{b64(_bytes(payload))}"
    return f"{signing_input}.{b64(key.sign(signing_input.encode()))}"


def unsigned(header: Json, payload: Json) -> str:
    """``alg: none`` style: an empty signature."""
    return compact(header, payload)


def hs256(secret: bytes, header: Json, payload: Json) -> str:
    """An HMAC "signature" - the RFC 8725 §3.2 key-confusion forgery when ``secret`` is a
    public key the verifier knows."""
    signing_input = f"{b64(_bytes(header))}.{b64(_bytes(payload))}"
    return f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), 'sha256').digest())}"


def disclosure(
    name: str | None, value: Any, *, salt: str | None = None, raw: bytes | None = None
) -> tuple[str, str]:
    """``(encoded, sha-256 digest)`` of a disclosure ``[salt, name, value]`` or
    ``[salt, value]``; ``raw`` replaces the JSON text entirely (malformed disclosures)."""
    salt = salt or b64url_encode(secrets.token_bytes(16))
    parts = [salt, value] if name is None else [salt, name, value]
    text = raw if raw is not None else json.dumps(parts, ensure_ascii=False).encode()
    encoded = b64url_encode(text)
    return encoded, hash_b64(encoded)


def split_presentation(presentation: str) -> tuple[str, list[str], str]:
    """``(issuer JWT, disclosures, KB-JWT)`` of an SD-JWT+KB."""
    issuer_jwt, *disclosures, kb = presentation.split("~")
    return issuer_jwt, disclosures, kb


def kb_jwt(
    holder: SigningKey,
    presented: str,
    *,
    aud: str,
    nonce: str,
    iat: int | float,
    transaction_data: Sequence[str] = (),
    td_alg: str | None = None,
    header: Mapping[str, Any] | None = None,
    claims: Mapping[str, Any] | None = None,
    drop: Sequence[str] = (),
    raw_payload: bytes | None = None,
) -> str:
    """A KB-JWT over ``presented`` signed by ``holder``, with any claim changed or dropped."""
    payload: dict[str, Any] = {
        "iat": iat,
        "aud": aud,
        "nonce": nonce,
        "sd_hash": hash_b64(presented),
    }
    if transaction_data:
        payload["transaction_data_hashes"] = [
            transaction_data_hash(t, td_alg or "sha-256") for t in transaction_data
        ]
        if td_alg is not None:
            payload["transaction_data_hashes_alg"] = td_alg
    payload.update(claims or {})
    for name in drop:
        payload.pop(name, None)
    head = {"typ": "kb+jwt", "alg": "ES256", **(header or {})}
    return signed(holder, head, raw_payload if raw_payload is not None else payload)


def _concat_kdf(shared: bytes, enc: str, size: int) -> bytes:
    algorithm_id = enc.encode()
    other = (
        len(algorithm_id).to_bytes(4, "big")
        + algorithm_id
        + bytes(8)
        + (size * 8).to_bytes(4, "big")
    )
    return hashlib.sha256(b"\x00\x00\x00\x01" + shared + other).digest()[:size]


def respell(segment: str) -> str:
    """The same bytes in another base64url text: the last character's spare bits set (RFC 4648
    §3.5). The segment must hold spare bits (a length of 2 or 3 mod 4)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spare = {2: 0x0F, 3: 0x03}[len(segment) % 4]
    return segment[:-1] + alphabet[alphabet.index(segment[-1]) | spare]


def aligned_json(value: Any) -> bytes:
    """``value`` as compact JSON, with a trailing space when needed so that its base64url text
    has spare bits to respell (a length that is not a multiple of 3)."""
    data = _bytes(value)
    return data + b" " if len(data) % 3 == 0 else data


def jwe(
    plaintext: bytes,
    recipient: Mapping[str, Any],
    *,
    enc: str = "A128GCM",
    header: Mapping[str, Any] | None = None,
    drop: Sequence[str] = (),
    encrypted_key: bytes = b"",
    tamper_tag: bool = False,
    iv_size: int = 12,
    tag_size: int = 16,
    respell_segments: Sequence[int] = (),
    aad_as_sent: bool = True,
    respell_epk_x: bool = False,
) -> str:
    """A compact ECDH-ES (direct) JWE to ``recipient`` (a P-256 public JWK) with AES-GCM.

    ``header`` overrides or adds protected header members (it is the AAD, so a changed header
    still decrypts correctly); ``drop`` removes members (``kid``). ``iv_size``/``tag_size``
    (bytes) make a short or long IV and a truncated tag; ``respell_segments`` sends segments
    (0 header, 3 ciphertext, 4 tag) in non-canonical base64url - the header authenticated as
    sent, or, with ``aad_as_sent=False``, as its canonical text (a header changed after
    encryption); ``respell_epk_x`` respells the ephemeral key's ``x``."""
    ephemeral = ec.generate_private_key(ec.SECP256R1())
    numbers = ephemeral.public_key().public_numbers()
    epk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_encode(numbers.x.to_bytes(32, "big")),
        "y": b64url_encode(numbers.y.to_bytes(32, "big")),
    }
    if respell_epk_x:
        epk["x"] = respell(epk["x"])
    protected: dict[str, Any] = {"alg": "ECDH-ES", "enc": enc, "epk": epk}
    if "kid" in recipient:
        protected["kid"] = recipient["kid"]
    protected.update(header or {})
    for name in drop:
        protected.pop(name, None)
    peer = ec.EllipticCurvePublicNumbers(
        int.from_bytes(b64url_decode(str(recipient["x"])), "big"),
        int.from_bytes(b64url_decode(str(recipient["y"])), "big"),
        ec.SECP256R1(),
    ).public_key()
    shared = ephemeral.exchange(ec.ECDH(), peer)
    size = 32 if enc == "A256GCM" else 16
    cek = _concat_kdf(shared, enc if enc in ("A128GCM", "A256GCM") else "A128GCM", size)
    canonical = b64url_encode(aligned_json(protected) if respell_segments else _bytes(protected))
    head = respell(canonical) if 0 in respell_segments else canonical
    iv = secrets.token_bytes(iv_size)
    aad = head if aad_as_sent else canonical
    body = plaintext + b" " if respell_segments and len(plaintext) % 3 == 0 else plaintext
    sealed = AESGCM(cek).encrypt(iv, body, aad.encode("ascii"))
    ciphertext, tag = sealed[:-16], sealed[-16:][:tag_size]
    if tamper_tag:
        tag = bytes([tag[0] ^ 1]) + tag[1:]
    parts = [head, b64(encrypted_key), b64(iv), b64(ciphertext), b64(tag)]
    for index in respell_segments:
        if index != 0:
            parts[index] = respell(parts[index])
    return ".".join(parts)
