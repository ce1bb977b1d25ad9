"""JOSE: base64url, compact JWS (RFC 7515), JWK (RFC 7517/7638), JWE (RFC 7516/7518).

One module per spec (:mod:`.base64url`, :mod:`.jwk`, :mod:`.jws`, :mod:`.jwe`); this facade
re-exports their names, so callers write ``from verifier.protocol.jose import SigningKey``.
Signatures are verified directly on ``cryptography``; algorithm policy is explicit (callers pass
the allow-list). Part of the pure protocol library: imports only other :mod:`verifier.protocol`
modules.
"""

from .base64url import b64url_decode, b64url_encode, hash_b64
from .jwe import (
    JWE_ALGS,
    JWE_ENCS,
    decrypt_jwe,
    encrypt_jwe,
    new_decryption_jwk,
    parse_unverified_jwe_header,
)
from .jwk import PublicKey, SigningKey, jwk_thumbprint, public_key_from_jwk
from .jws import SIGNING_ALGS, CompactJWS, check_alg, parse_unverified_jws, verify_jws

__all__ = [
    "JWE_ALGS",
    "JWE_ENCS",
    "SIGNING_ALGS",
    "CompactJWS",
    "PublicKey",
    "SigningKey",
    "b64url_decode",
    "b64url_encode",
    "check_alg",
    "decrypt_jwe",
    "encrypt_jwe",
    "hash_b64",
    "jwk_thumbprint",
    "new_decryption_jwk",
    "parse_unverified_jwe_header",
    "parse_unverified_jws",
    "public_key_from_jwk",
    "verify_jws",
]
