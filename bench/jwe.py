"""In-process cost of decrypting one ``direct_post.jwt`` response (compact JWE, ECDH-ES + AES-GCM).

The token: a wallet's encrypted response (``vp_token`` with one SD-JWT VC presentation and
``state``, about 2.5 KB), encrypted to a P-256 key with ECDH-ES (direct key agreement) and
A128GCM or A256GCM. In one process, median microseconds of:

  (a) floor   one P-256 ECDH exchange, the Concat KDF hash and the AES-GCM open on
              ``cryptography``, keys already parsed and segments already decoded (pure crypto)
  (b) ours    ``decrypt_jwe``: header parse and checks, strict base64url of every segment,
              IV/tag lengths, ``epk`` on the curve, our private key loaded, then (a)

Prints the numbers and ratios; the last line is machine-readable:
``jwe_us=<ours> jwe_floor_us=<floor> jwe_ratio_floor=<ours/floor>``. Never fails on time.

    python bench/jwe.py [--rounds 15] [--batch 200] [--enc A128GCM]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from verifier.protocol.jose import SigningKey, b64url_decode, decrypt_jwe, encrypt_jwe

PLAINTEXT = json.dumps(
    {"vp_token": {"identity": ["eyJhbGciOiJFUzI1NiJ9." + "A" * 2300 + "~"]}, "state": "s" * 43}
).encode()


def median_us(fn: Callable[[], Any], rounds: int, batch: int) -> float:
    fn()
    samples = []
    gc.disable()
    try:
        for _ in range(rounds):
            start = time.perf_counter_ns()
            for _ in range(batch):
                fn()
            samples.append((time.perf_counter_ns() - start) / batch / 1000)
    finally:
        gc.enable()
    return statistics.median(samples)


def floor_fn(token: str, key: SigningKey, enc: str) -> Callable[[], None]:
    """ECDH + Concat KDF + AES-GCM with everything else done beforehand."""
    head, _, iv_b64, ct_b64, tag_b64 = token.split(".")
    header = json.loads(b64url_decode(head))
    epk = ec.EllipticCurvePublicNumbers(
        int.from_bytes(b64url_decode(header["epk"]["x"]), "big"),
        int.from_bytes(b64url_decode(header["epk"]["y"]), "big"),
        ec.SECP256R1(),
    ).public_key()
    iv, sealed = b64url_decode(iv_b64), b64url_decode(ct_b64) + b64url_decode(tag_b64)
    aad = head.encode()
    size = 32 if enc == "A256GCM" else 16
    other = len(enc).to_bytes(4, "big") + enc.encode() + bytes(8) + (size * 8).to_bytes(4, "big")
    private = key.private_key

    def run() -> None:
        shared = private.exchange(ec.ECDH(), epk)
        cek = hashlib.sha256(b"\x00\x00\x00\x01" + shared + other).digest()[:size]
        AESGCM(cek).decrypt(iv, sealed, aad)

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--enc", default="A128GCM", choices=("A128GCM", "A256GCM"))
    args = parser.parse_args()
    key = SigningKey.generate(kid="enc-bench")
    private_jwk = key.to_jwk()
    token = encrypt_jwe(PLAINTEXT, key.public_jwk, enc=args.enc)

    def ours() -> bytes:
        return decrypt_jwe(token, private_jwk, expected_kid="enc-bench", allowed_enc=(args.enc,))[1]

    assert ours() == PLAINTEXT
    results = {
        "floor": median_us(floor_fn(token, key, args.enc), args.rounds, args.batch),
        "ours": median_us(ours, args.rounds, args.batch),
    }
    print(f"JWE: {len(token)} bytes, ECDH-ES + {args.enc}")
    for name, value in results.items():
        print(f"  {name:<10} {value:9.1f} us")
    ratio = results["ours"] / results["floor"]
    print(f"  ours/floor          {ratio:.3f}")
    ours, floor = results["ours"], results["floor"]
    print(f"jwe_us={ours:.1f} jwe_floor_us={floor:.1f} jwe_ratio_floor={ratio:.3f}")


if __name__ == "__main__":
    main()
