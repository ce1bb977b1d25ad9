"""Token Status List (draft-ietf-oauth-status-list): encode, decode, verify, look up.

- Encoding (§4.1): statuses of ``bits`` (1, 2, 4 or 8) bits packed from the least significant
  bit of each byte, DEFLATE in a ZLIB container, base64url without padding.
- Status List Token (§5.1, JWT form): header ``typ`` ``statuslist+jwt``; claims ``sub`` (must equal
  the referencing ``uri``), ``iat``, optional ``exp`` (checked) and ``ttl``, ``status_list``.
- Lookup (§8.3, digest §5.5 / checks 43-45): an ``idx`` outside the list means no statement can
  be made, so the credential is rejected. Values: 0 VALID, 1 INVALID, 2 SUSPENDED, others
  application-specific and refused unless the caller accepts them.

Decompression is bounded (``max_bytes``) against zlib bombs; a decoded :class:`StatusList` keeps
the raw bytes, so each lookup is O(1).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import MalformedError, SignatureError, StatusError
from .jose import PublicKey, b64url_decode, b64url_encode, check_alg, parse_unverified_jws

__all__ = [
    "STATUS_INVALID",
    "STATUS_SUSPENDED",
    "STATUS_VALID",
    "StatusList",
    "StatusListToken",
    "check_status",
    "decode_status_list",
    "encode_status_list",
    "verify_status_list_token",
]

STATUS_LIST_TYP = "statuslist+jwt"
STATUS_VALID = 0
STATUS_INVALID = 1
STATUS_SUSPENDED = 2
VALID_BITS = (1, 2, 4, 8)
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StatusList:
    """A decoded status list: ``bits`` per entry over ``raw`` bytes."""

    bits: int
    raw: bytes

    def __len__(self) -> int:
        return len(self.raw) * (8 // self.bits)

    def get(self, idx: int) -> int:
        per_byte = 8 // self.bits
        if idx < 0 or idx >= len(self.raw) * per_byte:
            raise StatusError(
                "status_index_out_of_range", f"status index {idx} outside list of {len(self)}"
            )
        shift = (idx % per_byte) * self.bits
        return (self.raw[idx // per_byte] >> shift) & ((1 << self.bits) - 1)


def encode_status_list(statuses: Sequence[int], bits: int) -> str:
    """Pack ``statuses`` into the compressed, base64url ``lst`` value."""
    if bits not in VALID_BITS:
        raise ValueError(f"bits must be one of {VALID_BITS}")
    per_byte = 8 // bits
    raw = bytearray((len(statuses) + per_byte - 1) // per_byte)
    limit = 1 << bits
    for idx, status in enumerate(statuses):
        if not 0 <= status < limit:
            raise ValueError(f"status {status} does not fit in {bits} bits")
        raw[idx // per_byte] |= status << ((idx % per_byte) * bits)
    return b64url_encode(zlib.compress(bytes(raw), 9))


def decode_status_list(lst: str, bits: int, *, max_bytes: int = DEFAULT_MAX_BYTES) -> StatusList:
    """Inflate ``lst``; refuse anything that is not a bounded ZLIB stream."""
    if bits not in VALID_BITS:
        raise StatusError("status_list_malformed", f"status_list.bits {bits!r} not in {VALID_BITS}")
    try:
        compressed = b64url_decode(lst, what="status_list.lst")
    except MalformedError:
        raise StatusError("status_list_malformed", "status_list.lst is not base64url") from None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, max_bytes)
    except zlib.error:
        raise StatusError("status_list_malformed", "status_list.lst is not a ZLIB stream") from None
    if inflater.unconsumed_tail:
        raise StatusError("status_list_malformed", f"status list inflates beyond {max_bytes} bytes")
    if not inflater.eof:
        raise StatusError("status_list_malformed", "status_list.lst is a truncated ZLIB stream")
    return StatusList(bits=bits, raw=raw)


@dataclass(frozen=True, slots=True)
class StatusListToken:
    """A verified Status List Token."""

    sub: str
    iat: int
    exp: int | None
    ttl: int | None
    status_list: StatusList


def _numeric(payload: dict[str, Any], name: str, *, required: bool) -> int | None:
    value = payload.get(name)
    if value is None:
        if required:
            raise StatusError("status_list_claim_missing", f"status list token lacks {name!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StatusError("status_list_malformed", f"status list token {name!r} is not a number")
    if isinstance(value, float) and not math.isfinite(value):  # "1e400" parses as inf
        raise StatusError("status_list_malformed", f"status list token {name!r} is not finite")
    return int(value)


def verify_status_list_token(
    token: str,
    *,
    keys: Sequence[PublicKey],
    expected_uri: str,
    now: int,
    allowed_algs: Collection[str] = frozenset({"ES256"}),
    leeway: int = 60,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> StatusListToken:
    """Verify a ``statuslist+jwt`` against candidate signer ``keys`` (checks 44-45)."""
    try:
        jws = parse_unverified_jws(token, what="status list token")
    except MalformedError as exc:
        raise StatusError("status_list_malformed", exc.reason) from None
    if jws.header.get("typ") != STATUS_LIST_TYP:
        raise StatusError(
            "status_list_typ_invalid", f"typ {jws.header.get('typ')!r} != 'statuslist+jwt'"
        )
    check_alg(jws.alg, allowed_algs, what="status list token")
    if not any(k.verify(jws.alg, jws.signing_input, jws.signature) for k in keys):
        raise SignatureError("status_list_signature_invalid", "status list token signature invalid")
    try:
        payload = jws.payload_json(what="status list token")
    except MalformedError as exc:
        raise StatusError("status_list_malformed", exc.reason) from None
    if payload.get("sub") != expected_uri:
        raise StatusError(
            "status_list_sub_mismatch", f"sub {payload.get('sub')!r} != {expected_uri!r}"
        )
    iat = _numeric(payload, "iat", required=True)
    exp = _numeric(payload, "exp", required=False)
    ttl = _numeric(payload, "ttl", required=False)
    if exp is not None and now >= exp + leeway:
        raise StatusError("status_list_expired", f"status list token expired at {exp}")
    if ttl is not None and ttl <= 0:
        raise StatusError("status_list_malformed", "status list token ttl is not positive")
    body = payload.get("status_list")
    if not isinstance(body, dict) or not isinstance(body.get("lst"), str):
        raise StatusError("status_list_claim_missing", "status list token lacks status_list.lst")
    bits = body.get("bits")
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise StatusError("status_list_malformed", "status_list.bits is not an integer")
    return StatusListToken(
        sub=expected_uri,
        iat=int(iat or 0),
        exp=exp,
        ttl=ttl,
        status_list=decode_status_list(body["lst"], bits, max_bytes=max_bytes),
    )


def check_status(
    status_list: StatusList, idx: int, *, accepted: Collection[int] = (STATUS_VALID,)
) -> int:
    """Return the status at ``idx`` if accepted; raise a specific error otherwise."""
    value = status_list.get(idx)
    if value in accepted:
        return value
    if value == STATUS_INVALID:
        raise StatusError("status_invalid", f"credential at index {idx} is revoked (INVALID)")
    if value == STATUS_SUSPENDED:
        raise StatusError("status_suspended", f"credential at index {idx} is SUSPENDED")
    raise StatusError("status_unknown_value", f"credential at index {idx} has status {value:#04x}")
