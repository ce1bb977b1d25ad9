"""``--profile``: py-spy's collapsed native stacks of the server, summed into what it was doing
(the innermost frame that matches an activity names the sample)."""

from __future__ import annotations

import re
from pathlib import Path

# The innermost frame that matches a category names the sample: "what was the server doing".
# A frame is "function (file:line)"; a compiled module's function is named as Cython names it
# ("SigningKey_generate" or "generate" for SigningKey.generate), so patterns allow both forms.
JOSE = r" \(verifier/protocol/jose/jwk\.py"
CATEGORIES = tuple(
    (label, re.compile(pattern))
    for label, pattern in (
        ("ES256 verify (issuer + KB-JWT)", r"_verify_ec|PublicKey[._]verify|^verify" + JOSE),
        ("JWE decrypt (ECDH-ES, AES-GCM)", r"decrypt_jwe"),
        ("request object: ES256 sign", r"SigningKey[._]sign\b|^sign(_jws)?" + JOSE),
        (
            "enc key generation",
            r"SigningKey[._](generate|to_jwk|from_private_key)|^(generate|to_jwk|from_private_key)"
            + JOSE,
        ),
        ("SD-JWT parse/reconstruct", r"reconstruct|decode_disclosure|split_sd_jwt|_Rebuilder"),
        ("SD-JWT VC/KB-JWT/DCQL checks", r"verify_presentation|verify_kb_jwt|verify_vp_token"),
        ("store (sqlite)", r"store/sqlite\.py"),
        ("store (redis client)", r"store/(redis|resp_client)\.py|redis/"),
        ("transaction (de)serialisation", r"to_json|from_json|to_fields|from_fields"),
        ("pydantic (request bodies)", r"model_validate|pydantic"),
        ("JSON responses", r"JSONResponse|render"),
        ("service logic", r"verifier/presentations/(service|create)\.py"),
        ("routes", r"verifier/routes/"),
        ("FastAPI/Starlette", r"fastapi/|starlette/"),
        ("uvicorn/httptools", r"uvicorn/|httptools"),
        ("logging", r"logging/"),
        ("access log and metrics", r"verifier/ops/(logs|metrics)\.py|prometheus_client/"),
        ("event loop", r"uvloop|asyncio/"),
    )
)
CRYPTO_CATEGORIES = CATEGORIES[:4]
# A sample inside OpenSSL (cryptography's extension) whose stack names none of the crypto
# categories: OpenSSL's assembly has no unwind tables, so such a sample often lost its
# callers up to some Python frame, which must not take the blame.
CRYPTO_LEAF = re.compile(r"_rust\.abi3\.so|libcrypto")
UNWOUND = "cryptography, caller not unwound"


def summarise_profile(path: Path) -> dict[str, float]:
    counts: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        n = int(number)
        total += n
        frames = stack.split(";")
        in_crypto = bool(frames) and CRYPTO_LEAF.search(frames[-1]) is not None
        name = next(
            (
                label
                for frame in reversed(frames)
                for label, pattern in (CRYPTO_CATEGORIES if in_crypto else CATEGORIES)
                if pattern.search(frame)
            ),
            UNWOUND if in_crypto else "other",
        )
        counts[name] = counts.get(name, 0) + n
    return {k: round(v / total, 3) for k, v in sorted(counts.items(), key=lambda kv: -kv[1])}
