"""The AP2 Mandate Receipt (``agent_authorization.md`` "Action Authorization"), signed by
agentvp's key (published at ``/.well-known/jwks.json``), on acceptance and on rejection.

Header ``{"alg": "ES256", "typ": "ap2-receipt+jwt", "kid": ...}``. Claims as the specification
text shapes them: ``iss`` (this verifier), ``iat``, ``result`` (``success`` | ``error``),
``reference`` (base64url hash of the final SD-JWT of the presented chain, computed like
``sd_hash`` with its ``_sd_alg``), ``error`` and ``error_description`` on ``error`` - plus
agentvp's: ``jti``, ``sub`` (the verification id), ``mode``, ``vct``, ``reasons`` (codes),
``audit_head``/``audit_len`` (the audit chain at the decision).

Where the reference SDK differs (a ``status`` of ``Success``/``Error`` and a ``reference`` over
the closed leaf JWT alone) we follow the specification text.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from verifier.protocol import SigningKey

__all__ = ["RECEIPT_TYP", "sign_ap2_receipt"]

RECEIPT_TYP = "ap2-receipt+jwt"


def sign_ap2_receipt(key: SigningKey, claims: Mapping[str, Any], *, issuer: str, now: int) -> str:
    body = {"iss": issuer, "iat": now, "jti": secrets.token_urlsafe(16), **claims}
    return key.sign_jws({"typ": RECEIPT_TYP}, body)
