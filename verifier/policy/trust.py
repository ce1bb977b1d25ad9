"""Trusted issuers: which keys may sign which credential types (digest §4.4, check 21, 46).

The trust file (``AGENTVP_TRUST_FILE``, JSON or YAML)::

    {"issuers": [{"iss": "https://ekyc.example", "jwks": {"keys": [...]}, "vct": ["..."]}],
     "anchors": [{"pem": "-----BEGIN CERTIFICATE-----...", "vct": ["..."]}]}

An issuer is trusted for a ``vct`` only if listed for it; a missing ``vct`` list means any type.
Resolution is chosen by policy, never by what the credential carries alone:

- a credential with an ``x5c`` header is accepted only through an anchor allowed for its ``vct``
  (chain validated, anchor not inside ``x5c``, leaf not self-signed); its ``iss``, when present,
  must match a URI SAN of the leaf, or the leaf's DNS SAN must equal the host of ``iss``;
- otherwise the ``iss`` must be listed, with a static JWKS or with ``"metadata": true`` (keys from
  its ``/.well-known/jwt-vc-issuer`` document, :mod:`.issuer_metadata`), and the header ``kid``
  (if any) must name one of its keys.

Unknown issuers fail with ``issuer_untrusted`` naming the issuer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from verifier.config_files import load_document
from verifier.policy.ap2 import AgentProvider, provider_keys
from verifier.policy.issuer_metadata import IssuerMetadataCache
from verifier.protocol import AgentVPError, PublicKey, TrustError, public_key_from_jwk
from verifier.protocol.errors import first_error
from verifier.protocol.jose import parse_unverified_jws
from verifier.protocol.x509.chain import (
    dns_sans,
    load_pem_certificates,
    parse_x5c,
    public_key_of,
    uri_sans,
    validate_chain,
)

__all__ = ["TrustConfig", "TrustResolver", "load_trust_file"]


class TrustedIssuer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    iss: str = Field(min_length=1)
    jwks: dict[str, list[dict[str, Any]]] | None = None
    metadata: bool = Field(
        False, description="Fetch keys from the issuer's /.well-known/jwt-vc-issuer metadata."
    )
    vct: list[str] | None = None

    @model_validator(mode="after")
    def _one_key_source(self) -> TrustedIssuer:
        if (self.jwks is None) == (not self.metadata):
            raise ValueError("give exactly one of 'jwks' and 'metadata: true'")
        return self


class TrustAnchor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pem: str
    vct: list[str] | None = None
    name: str | None = None


class TrustConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    issuers: list[TrustedIssuer] = Field(default_factory=list)
    anchors: list[TrustAnchor] = Field(default_factory=list)
    agent_providers: list[AgentProvider] = Field(default_factory=list)  # AP2, policy/ap2.py


def load_trust_file(path: Path) -> TrustConfig:
    """Parse and validate; errors name the file and the bad field."""
    if not path.exists():
        raise FileNotFoundError(f"trust file {path} does not exist - run `agentvp init`")
    data = load_document(path)
    try:
        return TrustConfig.model_validate(data or {})
    except ValidationError as exc:
        raise ValueError(f"{path}: {first_error(exc)}") from None


def _peek_issuer(presentation: Any) -> tuple[str, str | None] | None:
    """The unverified ``iss`` and header ``kid`` of a presentation's issuer JWT, if readable."""
    if not isinstance(presentation, str) or len(presentation) > 256 * 1024:
        return None
    try:
        jws = parse_unverified_jws(presentation.split("~", 1)[0], what="issuer JWT")
        iss = jws.payload_json().get("iss")
    except AgentVPError:
        return None
    kid = jws.header.get("kid")
    return (iss, kid if isinstance(kid, str) else None) if isinstance(iss, str) else None


def _hostname(url: str) -> str | None:
    """The host of an (unverified) URL; None when it has none or is no URL (``https://[x``)."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _allows(vcts: Sequence[str] | None, vct: str | None) -> bool:
    return vcts is None or (vct is not None and vct in vcts)


class TrustResolver:
    """:class:`verifier.protocol.IssuerKeyResolver` over a :class:`TrustConfig`."""

    def __init__(
        self,
        config: TrustConfig,
        *,
        metadata: IssuerMetadataCache | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.metadata = metadata
        self.agent_providers = provider_keys(config.agent_providers)  # AP2 roots
        self._metadata_issuers = {i.iss: i.vct for i in config.issuers if i.metadata}
        self._issuers: dict[str, list[tuple[Sequence[str] | None, str | None, PublicKey]]] = {}
        for issuer in config.issuers:
            for jwk in (issuer.jwks or {}).get("keys", []):
                kid = jwk.get("kid")
                self._issuers.setdefault(issuer.iss, []).append(
                    (issuer.vct, kid if isinstance(kid, str) else None, public_key_from_jwk(jwk))
                )
        self._anchors: list[tuple[Sequence[str] | None, x509.Certificate]] = [
            (anchor.vct, cert)
            for anchor in config.anchors
            for cert in load_pem_certificates(anchor.pem)
        ]

    def resolve(
        self, *, iss: str | None, header: Mapping[str, Any], vct: str | None
    ) -> Sequence[PublicKey]:
        if "x5c" in header:
            return [self._from_x5c(iss, header["x5c"], vct)]
        if iss is not None and iss in self._metadata_issuers:
            if self.metadata is None:
                raise TrustError("issuer_metadata_unavailable", "issuer metadata fetching is off")
            vcts: Sequence[str] | None = self._metadata_issuers[iss]
            entries: list[tuple[Sequence[str] | None, str | None, PublicKey]] = [
                (vcts, kid, key) for kid, key in self.metadata.keys(iss)
            ]
        else:
            entries = self._issuers.get(iss or "", [])
        if not entries:
            raise TrustError("issuer_untrusted", f"issuer {iss!r} is not in the trust file")
        entries = [e for e in entries if _allows(e[0], vct)]
        if not entries:
            raise TrustError(
                "vct_not_trusted_for_issuer", f"issuer {iss!r} is not trusted for {vct!r}"
            )
        kid = header.get("kid")
        if kid is not None:
            entries = [e for e in entries if e[1] == kid]
            if not entries:
                raise TrustError(
                    "issuer_key_unknown", f"issuer {iss!r} has no key with kid {kid!r}"
                )
        return [key for _, _, key in entries]

    def _from_x5c(self, iss: str | None, x5c: Any, vct: str | None) -> PublicKey:
        anchors = [cert for vcts, cert in self._anchors if _allows(vcts, vct)]
        if not anchors:
            raise TrustError("x5c_untrusted", f"no trust anchor is configured for {vct!r}")
        leaf = validate_chain(parse_x5c(x5c), anchors, now=int(self.clock()))
        if iss is not None and iss not in uri_sans(leaf):
            host = _hostname(iss)
            if host is None or host not in dns_sans(leaf):
                raise TrustError(
                    "x5c_name_mismatch", f"issuer {iss!r} is not named by the x5c leaf certificate"
                )
        return public_key_of(leaf)

    async def prepare(self, vp_token: Any) -> None:
        """Fetch metadata of metadata-resolved issuers named (unverified) in ``vp_token``,
        before the synchronous verification core runs. Bounded: at most 16 presentations."""
        if self.metadata is None or not self._metadata_issuers or not isinstance(vp_token, dict):
            return
        for presentation in [p for ps in vp_token.values() if isinstance(ps, list) for p in ps][
            :16
        ]:
            peeked = _peek_issuer(presentation)
            if peeked is not None and peeked[0] in self._metadata_issuers:
                await self.metadata.ensure(*peeked)

    def issuer_keys(self, iss: str) -> list[PublicKey]:
        """Every configured key of one issuer (e.g. to verify its status list tokens)."""
        return [key for _, _, key in self._issuers.get(iss, [])]

    @property
    def anchors(self) -> list[x509.Certificate]:
        return [cert for _, cert in self._anchors]
