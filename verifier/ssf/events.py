"""Security Event Tokens (RFC 8417) for SSF 1.0 streams, with the CAEP 1.0 event types.

A SET is a JWS (``typ`` ``secevent+jwt``, RFC 8417 §2.3) signed with agentvp's OAuth key (the one
at ``jwks_uri`` in ``/.well-known/ssf-configuration``) whose claims are ``iss`` (agentvp),
``aud`` (the stream's audience), ``iat``, a fresh ``jti``, ``sub_id`` (the subject, SSF §3) and
``events`` holding exactly one event type and its payload. No ``exp``, no ``sub`` (RFC 8417 §2.2).

Subjects (SSF §3.2, RFC 9493): ``jwt_id`` (``iss``, ``jti``) names a mandate (its issuer and
``jti``) or an access token; ``iss_sub`` (``iss``, ``sub``); ``opaque`` (``id``). Anything else,
or a member of the wrong type, is refused by :func:`check_subject`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from verifier.protocol import SigningKey

__all__ = [
    "ASSURANCE_LEVEL_CHANGE",
    "CREDENTIAL_CHANGE",
    "SESSION_REVOKED",
    "SET_TYP",
    "SUPPORTED",
    "VERIFICATION",
    "check_subject",
    "sign_set",
]

SET_TYP = "secevent+jwt"
CAEP = "https://schemas.openid.net/secevent/caep/event-type/"
SESSION_REVOKED = CAEP + "session-revoked"
CREDENTIAL_CHANGE = CAEP + "credential-change"
ASSURANCE_LEVEL_CHANGE = CAEP + "assurance-level-change"
VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification"
STREAM_UPDATED = "https://schemas.openid.net/secevent/ssf/event-type/stream-updated"
SUPPORTED = (
    SESSION_REVOKED,
    CREDENTIAL_CHANGE,
    ASSURANCE_LEVEL_CHANGE,
    VERIFICATION,
    STREAM_UPDATED,
)
_FORMATS: dict[str, tuple[str, ...]] = {
    "jwt_id": ("iss", "jti"),
    "iss_sub": ("iss", "sub"),
    "opaque": ("id",),
}


class SubjectError(ValueError):
    """A subject in no format this transmitter supports."""


def check_subject(subject: Any) -> dict[str, str]:
    """The subject as given, when it is in a supported format with exactly its members."""
    if not isinstance(subject, dict):
        raise SubjectError("subject must be a JSON object")
    members = _FORMATS.get(subject.get("format"))  # type: ignore[arg-type]
    if members is None:
        raise SubjectError(f"subject format must be one of {', '.join(sorted(_FORMATS))}")
    extra = set(subject) - {"format", *members}
    if extra:
        raise SubjectError(f"unexpected subject member {sorted(extra)[0]!r}")
    for name in members:
        value = subject.get(name)
        if not isinstance(value, str) or not value or len(value) > 2048:
            raise SubjectError(f"subject.{name} must be a non-empty string")
    return dict(subject)


def sign_set(
    key: SigningKey,
    kid: str,
    *,
    issuer: str,
    audience: str | list[str],
    subject: Mapping[str, Any],
    event_type: str,
    event: Mapping[str, Any],
    now: int,
    txn: str | None = None,
) -> tuple[str, str]:
    """The signed SET and its ``jti``."""
    jti = secrets.token_urlsafe(16)
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "jti": jti,
        "sub_id": dict(subject),
        "events": {event_type: dict(event)},
    }
    if txn is not None:
        claims["txn"] = txn
    return key.sign_jws({"typ": SET_TYP, "kid": kid}, claims), jti
