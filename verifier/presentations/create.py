"""The relying party's request for a presentation (``POST /v1/presentations`` body)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from verifier.errors import ServiceError
from verifier.presentations.parsed_queries import parse_query
from verifier.protocol import AgentVPError, DCQLQuery, encode_transaction_data
from verifier.protocol.oid4vp.delegate import DELEGATE_TYPE, parse_delegate
from verifier.protocol.oid4vp.vp_token import TransactionData, parse_transaction_data

__all__ = ["CreatePresentation"]

MAX_TRANSACTION_DATA = 8


def _strict_query(raw: dict[str, Any], *, remembered: bool = False) -> DCQLQuery:
    """The relying party's query, parsed strictly: a typo must not silently change what is
    asked. ``remembered``: a preset's, parsed once per query text (``parse_query``)."""
    try:
        if remembered:
            return parse_query(raw, strict=True)
        return DCQLQuery.parse(raw, strict=True)
    except AgentVPError as exc:
        raise ServiceError(400, "invalid_request", exc.reason) from None


def _is_web_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        _ = parts.port  # "Port out of range" or not a number: ValueError
    except ValueError:  # also "Invalid IPv6 URL" (an unbalanced "[")
        return False
    return parts.scheme in ("https", "http") and bool(parts.hostname) and not parts.username


def _check_delegate(td: TransactionData) -> None:
    """A ``delegate`` entry (AP2 mandates the wallet signs) must be well formed."""
    if td.type != DELEGATE_TYPE:
        return
    try:
        parse_delegate(td)
    except AgentVPError as exc:
        raise ServiceError(400, "invalid_request", f"transaction_data: {exc.reason}") from None


class CreatePresentation(BaseModel):
    """What to ask the wallet for, and how."""

    model_config = ConfigDict(extra="forbid")

    dcql_query: dict[str, Any] | None = Field(
        None, description="A DCQL query (OpenID4VP 1.0 §6). Exactly one of this and `profile`."
    )
    profile: str | None = Field(None, description="Name of a DCQL preset from the policy file.")
    transaction_data: list[dict[str, Any] | str] = Field(
        default_factory=list,
        description="Transaction data objects (each with `type` and `credential_ids`), or their "
        "base64url encodings. The wallet's KB-JWT must bind each one.",
    )
    response_mode: Literal["direct_post.jwt", "direct_post", "dc_api.jwt", "dc_api"] | None = Field(
        None,
        description="Default: the `default_response_mode` setting (`direct_post.jwt`); "
        "`dc_api.jwt` (encrypted, the default) or `dc_api` for `flow: dc_api`.",
    )
    response_type: Literal["vp_token", "vp_token id_token", "id_token"] = Field(
        "vp_token",
        description="`vp_token id_token` also asks for a SIOPv2 self-issued ID token; "
        "`id_token` asks for that alone (no `dcql_query`, `profile` or `transaction_data`; not "
        "over the DC API): proof of a key, no verified claims.",
    )
    flow: Literal["cross_device", "same_device", "dc_api"] = Field(
        "cross_device",
        description="`cross_device` (QR), `same_device` (link, back with `response_code`) or "
        "`dc_api` (the page calls the Digital Credentials API with `dc_api_request`).",
    )
    signed: bool | None = Field(
        None,
        description="`dc_api` only: a signed request (`openid4vp-v1-signed`, default when the "
        "verifier signs) or an unsigned one (`openid4vp-v1-unsigned`).",
    )
    expected_origins: list[str] | None = Field(
        None,
        max_length=16,
        description="`dc_api` only: the origins of the pages that may make this request "
        "(default: `AGENTVP_DC_API_ORIGINS`; each must be in it).",
    )
    redirect_uri: str | None = Field(
        None, description="Same-device: where the wallet returns the user (gets `response_code`)."
    )
    callback_url: str | None = Field(None, description="Webhook URL for status events.")
    ap2_challenge_id: str | None = Field(
        None,
        max_length=128,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="AP2 human-present: the wallet's KB-SD-JWT answers this AP2 challenge (the "
        "request's nonce is the challenge's), so the mandates it signs verify at "
        "POST /v1/ap2/verifications. Needs a signed request (x509 client_id prefix).",
    )

    def _resolve_id_token(self) -> tuple[dict[str, Any], list[str]]:
        """SIOPv2 alone: no query, no transaction data, not over the DC API."""
        asks = self.dcql_query is not None or self.profile is not None
        if asks or self.transaction_data or self.ap2_challenge_id is not None:
            raise ServiceError(
                400, "invalid_request", "response_type id_token asks for no credential"
            )
        if self.flow == "dc_api":
            raise ServiceError(400, "invalid_request", "response_type id_token needs no DC API")
        if self.flow == "same_device" and not _is_web_url(self.redirect_uri or ""):
            raise ServiceError(400, "invalid_request", "same_device needs an http(s) redirect_uri")
        return {}, []

    def resolve(self, presets: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, Any], list[str]]:
        """The validated DCQL query and base64url transaction data; ``ServiceError`` if bad.
        A SIOPv2 ``id_token`` request has neither: ``({}, [])``."""
        if self.response_type == "id_token":
            return self._resolve_id_token()
        return self._resolve_query(presets)

    def _resolve_query(
        self, presets: Mapping[str, Mapping[str, Any]]
    ) -> tuple[dict[str, Any], list[str]]:
        if (self.dcql_query is None) == (self.profile is None):
            raise ServiceError(400, "invalid_request", "give exactly one of dcql_query and profile")
        if self.profile is not None:
            preset = presets.get(self.profile)
            if preset is None:
                known = ", ".join(sorted(presets)) or "none configured"
                raise ServiceError(400, "invalid_request", f"unknown profile (known: {known})")
            raw = dict(preset["dcql_query"])
            query = _strict_query(raw, remembered=True)  # presets: a few queries, again and again
        else:
            raw = dict(self.dcql_query or {})
            query = _strict_query(raw)
        if self.flow == "same_device" and (
            not self.redirect_uri or not _is_web_url(self.redirect_uri)
        ):
            raise ServiceError(400, "invalid_request", "same_device needs an http(s) redirect_uri")
        dc_api = self.flow == "dc_api"
        if not dc_api and (
            self.signed is not None
            or self.expected_origins is not None
            or (self.response_mode or "").startswith("dc_api")
        ):
            raise ServiceError(
                400, "invalid_request", "signed, expected_origins and dc_api modes need flow dc_api"
            )
        if self.callback_url is not None and not _is_web_url(self.callback_url):
            raise ServiceError(400, "invalid_request", "callback_url must be an http(s) URL")
        if len(self.transaction_data) > MAX_TRANSACTION_DATA:
            raise ServiceError(
                400, "invalid_request", f"at most {MAX_TRANSACTION_DATA} transaction_data"
            )
        ids = {c.id for c in query.credentials}
        encoded = []
        for item in self.transaction_data:
            text = item if isinstance(item, str) else encode_transaction_data(item)
            try:
                td = parse_transaction_data(text)
            except AgentVPError as exc:
                raise ServiceError(
                    400, "invalid_request", f"transaction_data: {exc.reason}"
                ) from None
            _check_delegate(td)
            unknown = set(td.credential_ids) - ids
            if unknown:
                raise ServiceError(
                    400,
                    "invalid_request",
                    f"transaction_data names unknown queries {sorted(unknown)}",
                )
            encoded.append(text)
        return raw, encoded
