"""What an agentvp access token is and how a resource server checks one.

:func:`verify_access_token` is the JWT profile check (RFC 9068 §4), each failure with its code:

- a compact JWS (``token_malformed``) with header ``typ`` ``at+jwt`` (``token_typ_invalid``),
  an ES256/384/512 ``alg`` (``token_alg_not_allowed``) and a ``kid`` in the authorization
  server's JWKS (``token_key_unknown``) whose signature verifies (``token_signature_invalid``);
- ``iss`` is the authorization server (``token_issuer_mismatch``), ``aud`` names this resource
  (RFC 8707; ``token_audience_mismatch``), ``exp`` is in the future (``token_expired``), ``iat``
  and ``nbf`` are not (``token_not_yet_valid``);
- ``cnf.jkt`` is present (RFC 9449 §6.1; ``token_not_sender_constrained``).

:class:`AccessGrant` is a request that passed them: the token's claims and its one action.
Failures are :class:`AccessError`: status 400/401/403 and the RFC 6750 §3 / RFC 9449 §7.1
error (``invalid_request``, ``invalid_token``, ``invalid_dpop_proof``, ``insufficient_scope``),
rendered with :meth:`AccessError.challenge` as a ``WWW-Authenticate: DPoP`` header that names
the RFC 9728 ``resource_metadata`` URL. The request-bound checks are :mod:`.tokens`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from verifier.protocol import AgentVPError, public_key_from_jwk
from verifier.protocol.jose import parse_unverified_jws
from verifier.protocol.mandates.authority import AgentAction
from verifier.protocol.oauth.access_token import ACCESS_TOKEN_TYP
from verifier.protocol.oauth.dpop import DPOP_ALGS

__all__ = ["TOKEN_ALGS", "AccessError", "AccessGrant", "invalid", "verify_access_token"]

TOKEN_ALGS = frozenset({"ES256", "ES384", "ES512"})
_TYPS = frozenset({ACCESS_TOKEN_TYP, f"application/{ACCESS_TOKEN_TYP}"})
_UNSAFE = re.compile(r'[^\x20-\x7e]|["\\]')


class AccessError(Exception):
    """A refused request: HTTP status, OAuth ``error``, precise ``code`` and a description."""

    def __init__(
        self,
        status: int,
        error: str,
        code: str,
        description: str,
        *,
        scheme: str = "DPoP",
        scope: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {description}")
        self.status = status
        self.error = error
        self.code = code
        self.description = description
        self.scheme = scheme  # the challenge's scheme: the one the refused request used
        self.scope = scope  # RFC 6750 §3: the scope the request needs (step-up)
        self.headers = dict(headers or {})  # more response fields, e.g. DPoP-Nonce (§9)

    @property
    def text(self) -> str:
        return _UNSAFE.sub("'", f"{self.code}: {self.description}")[:300]

    def challenge(self, resource_metadata: str | None) -> str:
        """``WWW-Authenticate`` value (RFC 6750 §3, RFC 9449 §7.1, RFC 9728 §5.1)."""
        params = [] if self.code == "token_missing" else [f'error="{self.error}"']
        if params:
            params.append(f'error_description="{self.text}"')
        if self.scope:
            params.append(f'scope="{_UNSAFE.sub("", self.scope)[:300]}"')
        if self.scheme == "DPoP":
            params.append(f'algs="{" ".join(sorted(DPOP_ALGS))}"')
        if resource_metadata:
            params.append(f'resource_metadata="{resource_metadata}"')
        return f"{self.scheme} " + ", ".join(params)

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.text}


def invalid(code: str, description: str) -> AccessError:
    return AccessError(401, "invalid_token", code, description)


def _key_for(header: Mapping[str, Any], keys: Iterable[Mapping[str, Any]]) -> Any:
    kid = header.get("kid")
    for jwk in keys:
        if kid is not None and jwk.get("kid") == kid:
            try:
                return public_key_from_jwk(jwk)
            except AgentVPError:
                break
    raise invalid("token_key_unknown", f"no published key has kid {kid!r}")


def verify_access_token(
    token: str,
    keys: Iterable[Mapping[str, Any]],
    *,
    issuer: str,
    audience: str | None,
    now: int,
    leeway: int = 5,
    require_cnf: bool = True,
) -> dict[str, Any]:
    """The token's claims after the RFC 9068 §4 checks; :class:`AccessError` otherwise.
    ``require_cnf=False`` also accepts a token without ``cnf.jkt`` (a Bearer wallet-login
    token); one that has ``cnf`` must still have a well-formed ``cnf.jkt``."""
    try:
        jws = parse_unverified_jws(token, what="access token")
        claims = jws.payload_json(what="access token")
    except AgentVPError as exc:
        raise invalid("token_malformed", exc.reason) from None
    if str(jws.header.get("typ", "")).lower() not in _TYPS:
        raise invalid("token_typ_invalid", f"typ is {jws.header.get('typ')!r}, not at+jwt")
    if jws.alg not in TOKEN_ALGS:
        raise invalid("token_alg_not_allowed", f"alg {jws.alg!r} is not allowed")
    if not _key_for(jws.header, keys).verify(jws.alg, jws.signing_input, jws.signature):
        raise invalid("token_signature_invalid", "the signature does not verify")
    if claims.get("iss") != issuer:
        raise invalid("token_issuer_mismatch", f"iss is {claims.get('iss')!r}")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience is not None and audience not in audiences:
        raise invalid("token_audience_mismatch", f"the token is for {aud!r}, not {audience}")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float) or now >= exp + leeway:
        raise invalid("token_expired", f"the token expired at {exp!r}")
    for name in ("iat", "nbf"):
        value = claims.get(name)
        if isinstance(value, int | float) and value > now + leeway:
            raise invalid("token_not_yet_valid", f"{name} {value} is in the future")
    cnf = claims.get("cnf")
    if (cnf is not None or require_cnf) and (
        not isinstance(cnf, dict) or not isinstance(cnf.get("jkt"), str)
    ):
        raise invalid("token_not_sender_constrained", "the token has no cnf.jkt")
    return claims


@dataclass(frozen=True)
class AccessGrant:
    """A validated request: the token's claims and the one action it grants."""

    token: str
    claims: Mapping[str, Any]
    action: AgentAction | None  # an agent token's one action; None for a wallet-login token

    @property
    def scopes(self) -> list[str]:
        scope = self.claims.get("scope")
        return scope.split() if isinstance(scope, str) else []

    @property
    def client_id(self) -> str:
        return str(self.claims.get("client_id", ""))

    @property
    def verification_id(self) -> str:
        return str(self.claims.get("verification_id", ""))

    @property
    def mandate_jti(self) -> str:
        return str(self.claims.get("mandate_jti", ""))

    @property
    def subject(self) -> str:
        return str(self.claims.get("sub", ""))

    @property
    def token_id(self) -> str:
        return str(self.claims.get("jti", ""))

    @property
    def expires_at(self) -> int:
        return int(self.claims["exp"])
